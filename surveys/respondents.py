"""Simulated end users for the demo: people who answer the survey link they find in a ticket comment.

A respondent opens the page over HTTP like a browser without script would, reads the form (the
CSRF token, the reasons offered for each rating band, the page language), then submits a rating,
some reasons of that rating's band, sometimes the work time lost and sometimes a comment in the
page's language. Everything random comes from one seeded generator, so a demo run with the same
seed and the same tickets gives the same answers. Ratings lean the way published service desk
figures do: most people are content, a minority are not.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import requests

SURVEY_LINK = re.compile(r"https?://[^\s<>\"')]+/s/[A-Za-z0-9_-]{22,43}(?![A-Za-z0-9_/-])")

# Mood of a respondent, with how often it occurs and the ratings it gives.
MOODS = (("good", 0.70, (9, 10)), ("mixed", 0.17, (7, 8)), ("bad", 0.13, (0, 1, 2, 3, 4, 5, 6)))
LOST_MINUTES = {"good": (0, 0, 0, 15, 30), "mixed": (0, 30, 60, 90, 120), "bad": (60, 120, 240, 360, 480)}
COMMENTS = {
    "en": {
        "good": ("Fixed quickly, thank you!", "Very friendly agent, everything works again.",
                 "Great job, the new laptop was ready the next morning.", "Kept me informed the whole time."),
        "mixed": ("It works now but it took longer than I expected.", "Solved, although I had to explain it twice.",
                  "Okay in the end, the updates could have been clearer."),
        "bad": ("Nobody told me anything for days.", "I was passed around between three teams.",
                "Still not working properly, very frustrating.", "I had to chase them several times."),
    },
    "de": {
        "good": ("Schnell gelöst, vielen Dank!", "Sehr freundlich, alles funktioniert wieder."),
        "mixed": ("Funktioniert jetzt, hat aber länger gedauert als gedacht.",),
        "bad": ("Niemand hat mir Bescheid gegeben.", "Ich musste mehrmals nachfragen."),
    },
    "fr": {
        "good": ("Résolu rapidement, merci !", "Très aimable, tout fonctionne."),
        "mixed": ("Ça marche maintenant, mais c'était long.",),
        "bad": ("Personne ne m'a tenu informé.", "J'ai dû relancer plusieurs fois."),
    },
}


def find_survey_links(text: str | None) -> list[str]:
    """Survey page links in a comment or mail text, in order, each once."""
    return list(dict.fromkeys(SURVEY_LINK.findall(text or "")))


@dataclass(frozen=True)
class RespondentAnswer:
    """What one simulated person did with one link.

    `status`: "answered", "ignored" (chose not to answer), "already_answered", "invalid" (404),
    "rate_limited" (429) or "failed" (anything else; `http_status` says what).
    """

    link: str
    status: str
    rating: int | None = None
    reasons: tuple[str, ...] = ()
    lost_minutes: int | None = None
    comment: str | None = None
    http_status: int | None = None


@dataclass
class _SurveyForm:
    language: str = "en"
    csrf_token: str | None = None
    reasons: dict = field(default_factory=dict)   # band -> reason keys offered
    has_rating: bool = False


class _FormReader(HTMLParser):
    """Collects what a person sees on the page: its language, the CSRF field, and the reasons per band."""

    def __init__(self):
        super().__init__()
        self.form = _SurveyForm()
        self._band: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html" and attributes.get("lang"):
            self.form.language = attributes["lang"]
        elif tag == "fieldset" and "reason-group" in (attributes.get("class") or ""):
            self._band = attributes.get("data-band")
        elif tag == "input" and attributes.get("name") == "csrf_token":
            self.form.csrf_token = attributes.get("value")
        elif tag == "input" and attributes.get("name") == "rating":
            self.form.has_rating = True
        elif tag == "input" and attributes.get("name") == "reason" and self._band:
            self.form.reasons.setdefault(self._band, []).append(attributes.get("value"))

    def handle_endtag(self, tag):
        if tag == "fieldset":
            self._band = None


class SimulatedRespondents:
    """A crowd of seeded, simulated end users sharing one random generator."""

    def __init__(self, seed: int, *, response_rate: float = 1.0, timeout_s: float = 10.0):
        self._random = random.Random(seed)
        self.response_rate = response_rate
        self.timeout_s = timeout_s

    def answer_comment(self, text: str | None, *, mood: str | None = None) -> list[RespondentAnswer]:
        """Answer every survey link found in `text` (a ticket comment or a mail body)."""
        return [self.answer(link, mood=mood) for link in find_survey_links(text)]

    def answer(self, link: str, *, mood: str | None = None) -> RespondentAnswer:
        """Open `link` and, unless this person ignores surveys, answer it. Never raises for HTTP trouble.

        `mood` ("good", "mixed", "bad") forces the kind of experience, e.g. after a ticket that was
        reopened; by default it is drawn from the published proportions.
        """
        if self._random.random() >= self.response_rate:
            return RespondentAnswer(link, "ignored")
        mood = mood or self._draw_mood()
        ratings = next(ratings for name, _, ratings in MOODS if name == mood)
        rating = self._random.choice(ratings)
        browser = requests.Session()
        try:
            page = browser.get(link, timeout=self.timeout_s)
            if page.status_code != 200:
                return RespondentAnswer(link, _status_of(page.status_code), http_status=page.status_code)
            reader = _FormReader()
            reader.feed(page.text)
            form = reader.form
            if not form.has_rating:
                return RespondentAnswer(link, "already_answered", http_status=page.status_code)
            band = "positive" if rating >= 9 else "neutral" if rating >= 7 else "negative"
            offered = sorted(form.reasons.get(band, ()))  # the page shuffles; sorting keeps the seed's choices
            reasons = tuple(self._random.sample(offered, k=min(len(offered), self._random.choice((0, 1, 1, 2, 3)))))
            lost = self._random.choice(LOST_MINUTES[mood]) if self._random.random() < 0.6 else None
            comment = self._comment(form.language, mood) if self._random.random() < 0.55 else None
            data = {"csrf_token": form.csrf_token or "", "rating": str(rating), "reason": list(reasons)}
            if lost is not None:
                data["lost_hours"], data["lost_minutes"] = str(lost // 60), str(lost % 60)
            if comment:
                data["comment"] = comment
            answered = browser.post(link, data=data, timeout=self.timeout_s)
        except requests.RequestException as exc:
            return RespondentAnswer(link, "failed", rating=rating, comment=type(exc).__name__)
        finally:
            browser.close()
        status = "answered" if answered.status_code == 200 and answered.url.endswith("/thanks") else \
            _status_of(answered.status_code)
        return RespondentAnswer(link, status, rating=rating, reasons=reasons, lost_minutes=lost, comment=comment,
                                http_status=answered.status_code)

    def _draw_mood(self) -> str:
        roll, total = self._random.random(), 0.0
        for name, share, _ in MOODS:
            total += share
            if roll < total:
                return name
        return MOODS[-1][0]

    def _comment(self, language: str, mood: str) -> str:
        bank = COMMENTS.get(language.split("-")[0], COMMENTS["en"])
        return self._random.choice(bank[mood])


def _status_of(http_status: int) -> str:
    return {404: "invalid", 409: "already_answered", 429: "rate_limited"}.get(http_status, "failed")
