"""Reading and checking the survey form: what was submitted, what is wrong with it, what to show again.

Only the rating is required. Errors are i18n keys per field, so the page can show them in the
person's language next to the field and in a summary at the top.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from surveys.reasons import band_of, reasons_for_band
from surveys.responses import Answer

DIGITS = re.compile(r"^\d{1,3}$")


@dataclass
class ParsedForm:
    answer: Answer | None
    errors: dict[str, str] = field(default_factory=dict)   # field -> i18n key
    values: dict = field(default_factory=dict)             # what the person entered, to show again


def parse_rating(text: str | None) -> int | None:
    """A rating 0-10 from a form or query value, or None for anything else."""
    if text is None or not text.strip().isdigit():
        return None
    value = int(text.strip())
    return value if 0 <= value <= 10 else None


def parse_answer_form(form, *, comment_max_chars: int) -> ParsedForm:
    """Validate a submitted form (a werkzeug MultiDict or anything with get/getlist)."""
    errors: dict[str, str] = {}
    rating = parse_rating(form.get("rating"))
    if rating is None:
        errors["rating"] = "error_rating_required"
    hours_text = (form.get("lost_hours") or "").strip()
    minutes_text = (form.get("lost_minutes") or "").strip()
    lost_minutes = None
    if hours_text or minutes_text:
        valid = all(not text or DIGITS.match(text) for text in (hours_text, minutes_text))
        hours = int(hours_text) if valid and hours_text else 0
        minutes = int(minutes_text) if valid and minutes_text else 0
        if not valid or minutes > 59:
            errors["lost_time"] = "error_lost_time"
        else:
            lost_minutes = hours * 60 + minutes
    comment = _clean_text(form.get("comment") or "")
    if len(comment) > comment_max_chars:
        errors["comment"] = "error_comment_too_long"
    chosen = [key for key in form.getlist("reason") if isinstance(key, str)]
    values = {"rating": rating, "reasons": set(chosen), "lost_hours": hours_text[:3], "lost_minutes": minutes_text[:2],
              "comment": comment[:comment_max_chars * 2]}
    if errors:
        return ParsedForm(None, errors, values)
    answer = Answer(rating=rating, reasons=tuple(reasons_for_band(band_of(rating), chosen)),
                    lost_minutes=lost_minutes, comment=comment or None)
    return ParsedForm(answer, {}, values)


def _clean_text(text: str) -> str:
    """Trimmed text without control characters (line breaks and tabs kept), newlines normalised."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
