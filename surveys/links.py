"""The addresses people open: the survey page, with an optional preselected rating, and the opt-out.

Links carry only the token (and a rating digit): no ticket number, name or address, so nothing
personal ends up in proxy logs, browser history or a Referer header.
"""
from __future__ import annotations


def survey_link(public_url: str, token: str, rating: int | None = None) -> str:
    """The page address for `token`; `rating` (0-10) preselects that rating without recording it."""
    link = f"{public_url.rstrip('/')}/s/{token}"
    return f"{link}?r={rating}" if rating is not None else link


def opt_out_link(public_url: str, token: str) -> str:
    """The page where the person can stop all future surveys."""
    return f"{public_url.rstrip('/')}/s/{token}/opt-out"
