"""Rating bands and the reasons a person can pick in each.

A 0-10 rating falls in one band: 9-10 positive, 7-8 neutral, 0-6 negative (the bands of the
happiness formula). Each band has its own short list of reasons; the keys are stable and are
what the database and scoring see, the words come from `surveys.i18n`.
"""
from __future__ import annotations

import random
from typing import Iterable

BANDS = ("positive", "neutral", "negative")

REASONS: dict[str, tuple[str, ...]] = {
    "positive": ("resolved_quickly", "first_time_fix", "friendly_agent", "kept_informed", "easy_to_reach",
                 "clear_explanation"),
    "neutral": ("took_longer", "repeat_myself", "partly_solved", "updates_could_improve", "hard_to_reach",
                "workaround_only"),
    "negative": ("too_slow", "not_solved", "passed_around", "no_updates", "had_to_chase", "unfriendly",
                 "came_back", "lost_work"),
}


def band_of(rating: int) -> str:
    """The band of a 0-10 rating; raises ValueError outside 0-10."""
    if not 0 <= rating <= 10:
        raise ValueError(f"rating {rating} is outside 0-10")
    if rating >= 9:
        return "positive"
    if rating >= 7:
        return "neutral"
    return "negative"


def reasons_for_band(band: str, chosen: Iterable[str]) -> list[str]:
    """The chosen reasons that belong to `band`, in the band's order, each once.

    Without script the page shows every band's list, so a person may tick reasons of another
    band than their rating; those do not describe the rating given and are dropped.
    """
    wanted = set(chosen)
    return [key for key in REASONS[band] if key in wanted]


def shuffled(band: str, rng: random.Random | None = None) -> list[str]:
    """The band's reasons in a fresh random order, so position does not favour any of them."""
    order = list(REASONS[band])
    (rng or random.SystemRandom()).shuffle(order)
    return order
