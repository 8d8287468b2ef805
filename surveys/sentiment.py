"""Sentiment of what end users write: survey comments and their own comments on tickets.

An analyser turns a text into a `Sentiment`: a score from -1 (very negative) to 1 (very positive)
and a label. The English default is VADER (the `vaderSentiment` package, which ships its
lexicon), tuned for service-desk language: words such as "fixed" or "chase" carry feeling there
that a general lexicon misses, "please" is politeness rather than praise, and a few phrases
("nobody told me", "passed around") are read as one unit before VADER sees them.

Other analysers plug in by configuration (`[surveys.sentiment]`): `package.module:ClassName`
naming a class with a `languages` set and an `analyse(text, language)` method. A language no
configured analyser supports yields no sentiment (None) rather than a made-up neutral.
"""
from __future__ import annotations

import abc
import importlib
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from surveys.config import SentimentChoice

POSITIVE_FROM = 0.05    # VADER's published thresholds on the compound score
NEGATIVE_UNTIL = -0.05


@dataclass(frozen=True)
class Sentiment:
    score: float     # -1 .. 1
    label: str       # "negative", "neutral" or "positive"
    analyser: str


def label_for(score: float) -> str:
    if score >= POSITIVE_FROM:
        return "positive"
    if score <= NEGATIVE_UNTIL:
        return "negative"
    return "neutral"


class SentimentAnalyser(abc.ABC):
    """Reads the feeling of a short text. Implementations must be safe to share between threads."""

    name: str = "analyser"
    languages: frozenset[str] = frozenset()

    @abc.abstractmethod
    def analyse(self, text: str, language: str) -> Sentiment:
        """The sentiment of `text`, written in `language` (one of `languages`)."""


class VaderAnalyser(SentimentAnalyser):
    """VADER with a service-desk vocabulary on top of its general lexicon (English only)."""

    name = "vader"
    languages = frozenset({"en"})

    # Valences on VADER's scale (-4 .. 4), chosen near the lexicon's own values for similar words.
    SERVICE_DESK_WORDS = {
        "fixed": 1.6, "solved": 1.8, "resolved": 1.4, "sorted": 1.2, "quick": 1.2, "quickly": 1.0,
        "fast": 1.2, "promptly": 1.4, "responsive": 1.3, "informed": 1.2,
        "unresolved": -1.8, "unsolved": -1.8, "slow": -1.3, "slowly": -1.0, "chase": -1.4, "chasing": -1.4,
        "chased": -1.2, "reopened": -1.2, "outage": -1.5, "downtime": -1.3, "waited": -0.8,
        "please": 0.0, "kindly": 0.0,  # politeness in requests, not praise
    }
    # Phrases folded into one marker word before scoring; VADER's negation rules still apply to it.
    SERVICE_DESK_PHRASES = (
        (r"\b(nobody|no one|no-one)\s+(told|informed|updated|called)\s+me\b", "xlauninformed", -1.8),
        (r"\bnever\s+(heard|got)\s+back\b", "xlauninformed", -1.8),
        (r"\b(without|no)\s+(any\s+)?updates?\b", "xlauninformed", -1.8),
        (r"\b(passed|bounced|sent)\s+(around|back and forth|between teams)\b", "xlapassedaround", -1.6),
        (r"\bhad to (chase|call again|ask again|keep asking|follow up)\b", "xlachased", -1.6),
        (r"\bkept me (informed|updated|posted|in the loop)\b", "xlakeptinformed", 1.6),
        (r"\b(first time right|fixed (it )?(the )?first time)\b", "xlafirsttimefix", 1.8),
    )

    def __init__(self):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._vader.lexicon.update(self.SERVICE_DESK_WORDS)
        for _, marker, valence in self.SERVICE_DESK_PHRASES:
            self._vader.lexicon[marker] = valence
        self._phrases = [(re.compile(pattern, re.IGNORECASE), marker) for pattern, marker, _ in
                         self.SERVICE_DESK_PHRASES]

    def analyse(self, text: str, language: str) -> Sentiment:
        for pattern, marker in self._phrases:
            text = pattern.sub(marker, text)
        score = float(self._vader.polarity_scores(text)["compound"])
        return Sentiment(score=round(score, 4), label=label_for(score), analyser=self.name)


_BUILD_LOCK = threading.Lock()


@lru_cache(maxsize=16)
def load_analyser(name: str) -> SentimentAnalyser:
    """The analyser called `name` ("vader" or "package.module:ClassName"), built once per process.

    Raises ImportError or AttributeError when the named class cannot be found, and TypeError when
    it does not offer `analyse` and `languages`.
    """
    with _BUILD_LOCK:
        if name == "vader":
            return VaderAnalyser()
        module_name, _, class_name = name.partition(":")
        analyser = getattr(importlib.import_module(module_name), class_name)()
        if not callable(getattr(analyser, "analyse", None)) or not hasattr(analyser, "languages"):
            raise TypeError(f"{name} is not a sentiment analyser: it needs `languages` and `analyse(text, language)`")
        return analyser


def analyse_comment(text: str | None, language: str | None, choice: SentimentChoice | None = None
                    ) -> Sentiment | None:
    """Sentiment of a survey comment, or None when there is no text or no analyser for the language.

    `language` defaults to English. The score is clamped to -1..1 whatever a plugged analyser says.
    """
    if not text or not text.strip():
        return None
    language = (language or "en").split("-")[0].lower()
    analyser = load_analyser((choice or SentimentChoice()).name_for(language))
    if language not in analyser.languages:
        return None
    found = analyser.analyse(text.strip(), language)
    score = max(-1.0, min(1.0, float(found.score)))
    return Sentiment(score=score, label=label_for(score), analyser=found.analyser)


QUOTED_REPLY = re.compile(r"^\s*>.*$", re.MULTILINE)
REPLY_HEADER = re.compile(r"^(On .+ wrote:|-----Original Message-----|From: .+)$.*", re.MULTILINE | re.DOTALL)


def analyse_caller_comment(text: str | None, language: str | None, settings=None) -> Sentiment | None:
    """Sentiment of an end user's own comment on a ticket, for the pipeline's context.

    Quoted earlier messages (lines starting with ">", or everything after an "On ... wrote:" or
    "-----Original Message-----" header) are removed first: they are the agent's words, not the
    caller's. `settings` (optional) chooses the analyser per `[surveys.sentiment]`.
    """
    if not text:
        return None
    own_words = QUOTED_REPLY.sub("", REPLY_HEADER.sub("", text))
    choice = None
    if settings is not None:
        from surveys.config import survey_settings

        choice = survey_settings(settings).sentiment
    return analyse_comment(own_words, language, choice)
