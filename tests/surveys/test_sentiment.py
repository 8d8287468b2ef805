"""Sentiment of what end users write, on real-looking service desk sentences."""
from __future__ import annotations

import pytest

from surveys.config import SentimentChoice
from surveys.sentiment import (Sentiment, SentimentAnalyser, analyse_caller_comment, analyse_comment, label_for,
                               load_analyser)


def score(text: str) -> float:
    return analyse_comment(text, "en").score


@pytest.mark.parametrize("text", [
    "Not happy at all, the laptop still does not boot.",
    "Still broken after two days, very frustrating.",
    "Terrible, I had to chase them three times before anyone answered.",
    "I was passed around between four teams.",
    "Nobody told me anything for a week.",
    "My VPN was not fixed, I had to find a workaround myself.",
    "Took a week and I lost a whole day of work.",
])
def test_negative(text):
    assert analyse_comment(text, "en").label == "negative"


@pytest.mark.parametrize("text", [
    "Thanks, works now!",
    "Fixed quickly and the agent kept me informed.",
    "Solved on the first call, great job.",
    "Very friendly and helpful, my printer works again.",
    "It wasn't bad at all.",
])
def test_positive(text):
    assert analyse_comment(text, "en").label == "positive"


@pytest.mark.parametrize("text", [
    "I reset my password and logged in.",
    "The printer on floor 3 was replaced.",
    "Please close the ticket.",
    "Ticket can be closed, the new monitor arrived on Tuesday.",
])
def test_neutral_statements_stay_neutral(text):
    assert analyse_comment(text, "en").label == "neutral"


def test_negation_flips_the_feeling():
    assert score("I am happy with the fix") > 0 > score("I am not happy with the fix")
    assert score("wasn't bad") > 0 > score("bad")
    assert score("They kept me informed") > 0 > score("They never kept me informed")


def test_mixed_feelings_land_between_praise_and_complaint():
    praise = score("Fixed quickly and they kept me informed.")
    complaint = score("It took ages and nobody told me anything.")
    mixed = score("Fixed quickly but nobody told me.")
    assert complaint < mixed < praise
    assert analyse_comment("Fixed quickly but nobody told me.", "en").label != "positive"


def test_scores_stay_within_minus_one_and_one():
    for text in ("AWFUL!!! WORST SERVICE EVER!!! :(((", "Amazing!!! Best help ever :) :) <3"):
        assert -1 <= score(text) <= 1


def test_no_text_or_an_unsupported_language_gives_no_sentiment():
    assert analyse_comment("", "en") is None and analyse_comment("   ", "en") is None
    assert analyse_comment(None, "en") is None
    assert analyse_comment("Das war gar nicht gut.", "de") is None


def test_labels_follow_the_vader_thresholds():
    assert [label_for(value) for value in (-0.5, -0.05, 0.0, 0.049, 0.05)] == \
        ["negative", "negative", "neutral", "neutral", "positive"]


class ShoutingCounter(SentimentAnalyser):
    """A toy German analyser: any '!' is positive. Proves a plugged class is used per language."""

    name = "shouting"
    languages = frozenset({"de"})

    def analyse(self, text, language):
        return Sentiment(score=5.0 if "!" in text else 0.0, label="positive", analyser=self.name)


def test_an_analyser_can_be_plugged_in_per_language():
    choice = SentimentChoice(by_language={"de": f"{__name__}:ShoutingCounter"})
    found = analyse_comment("Super!", "de-AT", choice)
    assert found == Sentiment(score=1.0, label="positive", analyser="shouting"), "clamped and relabelled"
    assert analyse_comment("Great!", "en", choice).analyser == "vader"


def test_a_named_class_that_is_no_analyser_is_refused():
    with pytest.raises(TypeError):
        load_analyser("collections:OrderedDict")
    with pytest.raises(ImportError):
        load_analyser("no_such_package_here:Analyser")


def test_a_callers_own_comment_without_the_quoted_agent_text():
    reply = ("Still not working, this is really frustrating.\n\n"
             "On Mon, 23 Nov 2026 at 09:00, Service Desk wrote:\n"
             "> Great news! We are happy to say your issue is resolved. Thanks for your patience!")
    own = analyse_caller_comment(reply, "en")
    assert own.label == "negative"
    quoted_only = "> Thanks, great, wonderful, excellent!\nsee the log file attached"
    assert analyse_caller_comment(quoted_only, None).label == "neutral"
    assert analyse_caller_comment(None, "en") is None
