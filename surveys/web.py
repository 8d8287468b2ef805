"""The survey page end users open from a comment, an e-mail or a chat message.

    GET  /s/<token>            the form (`?r=0..10` preselects a rating; opening records nothing)
    POST /s/<token>            records the answer once, then redirects to the thank-you page
    GET  /s/<token>/thanks     thank-you page
    GET  /s/<token>/opt-out    asks whether to stop all future surveys
    POST /s/<token>/opt-out    records the opt-out

An unknown, expired or withdrawn link gets the same 404 page, so the answer never tells which
tokens exist. Every response forbids caching, framing and referrers (the token is in the URL);
the content security policy allows only this site's own style sheet and script. Forms carry a
Flask-WTF CSRF token checked with `validate_csrf` (its `CSRFProtect` would also demand a Referer
header on https, which `Referrer-Policy: no-referrer` removes). Requests are rate limited per
client address and per link through the database, so the limit holds across server processes;
behind a reverse proxy, the app must trust the proxy's forwarded address (werkzeug ProxyFix).
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from ops.metrics import SURVEYS
from storage.clock import as_utc, utcnow
from storage.db import transaction
from storage.models import Survey
from surveys.config import survey_settings
from surveys.form import parse_answer_form, parse_rating
from surveys.i18n import pick_language, translate, translator
from surveys.ratelimit import check_page_request
from surveys.reasons import BANDS, band_of, shuffled
from surveys.responses import record_answer, record_opt_out
from surveys.sentiment import analyse_comment
from surveys.store import find_survey_by_token
from surveys.tokens import hash_token, looks_like_token

log = logging.getLogger("xla.surveys")

blueprint = Blueprint("surveys", __name__, template_folder="templates", static_folder="static",
                      static_url_path="/s-static")

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
CSRF_TIME_LIMIT_S = 24 * 3600   # people leave a survey tab open for hours; the token is the real key
FIELD_ANCHORS = {"rating": "rating-0", "lost_time": "lost-hours", "comment": "comment", "form": "survey-form"}


@blueprint.record_once
def _session_cookie_defaults(state) -> None:
    # The CSRF secret rides in Flask's session cookie; keep it off cross-site requests unless the
    # app chose otherwise.
    if state.app.config.get("SESSION_COOKIE_SAMESITE") is None:
        state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


@blueprint.after_request
def _protective_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _admit(token: str):
    """What every page does first: the rate limit, then the token. Returns (a ready answer, None,
    None) for a refused or invalid link, else (None, survey, status)."""
    refused = _over_rate_limit(token)
    if refused is not None:
        return refused, None, None
    survey, status = _look_up(token)
    if status == "invalid":
        return _invalid_link(), None, None
    return None, survey, status


@blueprint.get("/s/<token>")
def show_survey(token: str):
    """The form (rating preselected by `?r=`), "already answered", or the 404 invalid-link page."""
    early, survey, status = _admit(token)
    if early is not None:
        return early
    language = _language(survey)
    if status == "answered":
        return _message(language, "answered_title", "answered_body", 200)
    return _form(survey, language, values={"rating": parse_rating(request.args.get("r"))})


@blueprint.post("/s/<token>")
def submit_survey(token: str):
    """Record the answer once: 303 to the thank-you page; 400 (CSRF) or 422 (invalid) with the form
    shown again; 409 when already answered; 404 for invalid links; 429 over the rate limit."""
    early, survey, status = _admit(token)
    if early is not None:
        return early
    language = _language(survey)
    if status == "answered":
        return _message(language, "answered_title", "answered_body", 409)
    service = survey_settings(_runtime().settings)
    parsed = parse_answer_form(request.form, comment_max_chars=service.comment_max_chars)
    if not _csrf_valid():
        return _form(survey, language, values=parsed.values, errors={"form": "error_form_expired"}, status=400)
    if parsed.answer is None:
        return _form(survey, language, values=parsed.values, errors=parsed.errors, status=422)
    sentiment = _sentiment_or_none(parsed.answer.comment, language, service)
    with transaction(_runtime().sessions) as session:
        outcome = record_answer(session, survey.id, parsed.answer, sentiment, now=utcnow())
    if outcome == "already_answered":
        return _message(language, "answered_title", "answered_body", 409)
    if outcome != "recorded":
        return _invalid_link()
    SURVEYS.labels(survey.connection_id, "answered").inc()
    log.info("survey.answered", extra={"survey": survey.id, "connection": survey.connection_id,
                                       "ticket": survey.ticket_key, "band": band_of(parsed.answer.rating)})
    return redirect(url_for(".thank_you", token=token), code=303)


@blueprint.get("/s/<token>/thanks")
def thank_you(token: str):
    """Thanks for an answered survey; an open one goes back to its form; anything else is 404."""
    early, survey, status = _admit(token)
    if early is not None:
        return early
    if status == "open":
        return redirect(url_for(".show_survey", token=token), code=303)
    return _message(_language(survey), "thanks_title", "thanks_body", 200)


@blueprint.get("/s/<token>/opt-out")
def show_opt_out(token: str):
    """The opt-out question for an open or answered survey; records nothing."""
    early, survey, status = _admit(token)
    if early is not None:
        return early
    language = _language(survey)
    return _opt_out_form(language, token)


@blueprint.post("/s/<token>/opt-out")
def opt_out(token: str):
    """Record the person's opt-out (CSRF-checked, 400 otherwise) and confirm it."""
    early, survey, status = _admit(token)
    if early is not None:
        return early
    language = _language(survey)
    if not _csrf_valid():
        return _opt_out_form(language, token, error="error_form_expired", status=400)
    with transaction(_runtime().sessions) as session:
        record_opt_out(session, survey.id, now=utcnow())
    SURVEYS.labels(survey.connection_id, "opted_out").inc()
    log.info("survey.opted_out", extra={"survey": survey.id, "connection": survey.connection_id})
    return _message(language, "optout_done_title", "optout_done_body", 200)


# ---------------------------------------------------------------------------------------------


def _runtime():
    return current_app.extensions["xla"]


def _look_up(token: str) -> tuple[Survey | None, str]:
    """The survey and what the page may say about it: "open", "answered" or "invalid"."""
    with _runtime().sessions() as session:
        survey = find_survey_by_token(session, token)
    if survey is None:
        return None, "invalid"
    if survey.state == "answered":
        return survey, "answered"
    if survey.state in ("pending", "sent") and as_utc(survey.expires_at) > utcnow():
        return survey, "open"
    return None, "invalid"


def _language(survey: Survey | None) -> str:
    offered = survey_settings(_runtime().settings).languages
    return pick_language(survey.language if survey else None, offered, request.accept_languages)


def _over_rate_limit(token: str):
    limits = survey_settings(_runtime().settings).page_rate_limit
    verdict = check_page_request(_runtime().sessions, limits, request.remote_addr,
                                 hash_token(token) if looks_like_token(token) else None)
    if verdict.allowed:
        return None
    response = _message(_language(None), "limited_title", "limited_body", 429)
    response.headers["Retry-After"] = str(max(1, verdict.retry_after_s))
    return response


def _csrf_valid() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"), time_limit=CSRF_TIME_LIMIT_S)
    except ValidationError:
        return False
    return True


def _sentiment_or_none(comment: str | None, language: str, service):
    # A failing analyser must not cost the person their answer: record it without a sentiment.
    try:
        return analyse_comment(comment, language, service.sentiment)
    except Exception:
        log.exception("survey.sentiment_failed", extra={"language": language})
        return None


def _invalid_link():
    # The same page and status for unknown, expired and withdrawn links: no oracle.
    return _message(_language(None), "invalid_title", "invalid_body", 404)


def _message(language: str, title_key: str, body_key: str, status: int):
    page = render_template("surveys/message.html", lang=language, t=translator(language),
                           title=translate(language, title_key), body=translate(language, body_key))
    return current_app.response_class(page, status=status, mimetype="text/html")


def _form(survey: Survey, language: str, *, values: dict, errors: dict | None = None, status: int = 200):
    survey_token = request.view_args["token"]
    service = survey_settings(_runtime().settings)
    t = translator(language)
    groups = [{"band": band, "title": f"reasons_{band}", "hint": f"band_hint_{band}",
               "reasons": [(key, t(f"reason.{key}")) for key in shuffled(band)]} for band in BANDS]
    page = render_template(
        "surveys/survey.html", lang=language, t=t, title=t("page_title"),
        number=survey.ticket_number or "", csrf_token=generate_csrf(),
        scale=[(value, band_of(value)) for value in range(11)], groups=groups,
        rating=values.get("rating"), chosen=values.get("reasons") or set(),
        lost_hours=values.get("lost_hours", ""), lost_minutes=values.get("lost_minutes", ""),
        comment=values.get("comment", ""), errors=errors or {}, anchors=FIELD_ANCHORS,
        comment_max=service.comment_max_chars, action=url_for(".submit_survey", token=survey_token),
        opt_out_url=url_for(".show_opt_out", token=survey_token))
    return current_app.response_class(page, status=status, mimetype="text/html")


def _opt_out_form(language: str, token: str, *, error: str | None = None, status: int = 200):
    page = render_template("surveys/opt_out.html", lang=language, t=translator(language),
                           title=translate(language, "optout_title"), csrf_token=generate_csrf(),
                           action=url_for(".opt_out", token=token), error=error)
    return current_app.response_class(page, status=status, mimetype="text/html")
