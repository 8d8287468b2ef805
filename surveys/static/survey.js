/* Survey page behaviour. Loaded from <head> so the "js" class is set before the first paint:
   with script, only the reasons of the chosen rating's band are shown; without it, every band's
   list stays visible with a hint saying which rating it belongs to. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function showReasonsOfChosenBand() {
    var chosen = document.querySelector('input[name="rating"]:checked');
    var band = chosen ? chosen.getAttribute("data-band") : null;
    var groups = document.querySelectorAll(".reason-group");
    for (var i = 0; i < groups.length; i++) {
      groups[i].classList.toggle("shown", groups[i].getAttribute("data-band") === band);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var ratings = document.querySelectorAll('input[name="rating"]');
    for (var i = 0; i < ratings.length; i++) {
      ratings[i].addEventListener("change", showReasonsOfChosenBand);
    }
    showReasonsOfChosenBand();
    var summary = document.getElementById("error-summary");
    if (summary) {
      summary.focus();
    }
  });
})();
