"""The survey page over real HTTP: headers, CSRF, validation, what is stored, languages, limits, opt-out."""
from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from storage.models import Job, Survey, SurveyPerson, SurveyResponse
from surveys.identity import person_key_for

from tests.surveys.helpers import (CSRF_FIELD, make_ticket, make_world, open_form, plan, sent_survey,
                                   submit_answer)

PROTECTIVE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _responses(world):
    with world.sessions() as session:
        return session.execute(select(SurveyResponse)).scalars().all()


def _order_of(html: str, band: str) -> list[str]:
    group = re.search(rf'<fieldset class="reason-group" id="reasons-{band}".*?</fieldset>', html, re.S).group(0)
    return re.findall(r'name="reason" value="([a-z_]+)"', group)


class TestHeaders:
    def test_every_page_forbids_caching_framing_referrers_and_foreign_code(self, live_server):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        form, csrf = open_form(client, link)
        unknown = client.get(f"{live_server.url}/s/{'A' * 43}", timeout=10)
        opt_out = client.get(link + "/opt-out", timeout=10)
        answered = submit_answer(client, link, csrf, rating="10")
        thanks = client.get(link + "/thanks", timeout=10)
        for response in (form, unknown, opt_out, answered, thanks):
            for name, value in PROTECTIVE_HEADERS.items():
                assert response.headers.get(name) == value, (response.url, name)
            policy = response.headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy and "script-src 'self'" in policy
            assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        cookie = form.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    def test_the_page_loads_nothing_from_elsewhere_and_puts_nothing_personal_in_urls(self, live_server):
        ticket, link = sent_survey(live_server.world)
        page = requests.get(link, timeout=10).text
        addresses = re.findall(r'(?:href|src|action)="([^"]+)"', page)
        assert addresses and all(address.startswith("/") for address in addresses), addresses
        for address in addresses:
            assert ticket.number not in address and "@" not in address
        assert "<script>" not in page and " style=" not in page and "onclick" not in page


class TestCsrf:
    def test_a_missing_token_is_refused_and_nothing_is_recorded(self, live_server):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        open_form(client, link)
        response = submit_answer(client, link, None, rating="9", comment="Great work")
        assert response.status_code == 400
        assert "We could not verify this form" in response.text
        assert "Great work" in response.text, "what the person wrote is shown again"
        assert _responses(live_server.world) == []

    @pytest.mark.parametrize("spoil", [lambda token: token[:-2] + "xx", lambda token: "forged", lambda token: ""])
    def test_a_wrong_token_is_refused(self, live_server, spoil):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        assert submit_answer(client, link, spoil(csrf), rating="9").status_code == 400
        assert _responses(live_server.world) == []

    def test_a_token_from_another_browser_session_is_refused(self, live_server):
        _, link = sent_survey(live_server.world)
        attacker, victim = requests.Session(), requests.Session()
        _, attacker_token = open_form(attacker, link)
        open_form(victim, link)
        assert submit_answer(victim, link, attacker_token, rating="0").status_code == 400
        assert _responses(live_server.world) == []

    def test_the_refusal_offers_a_fresh_token_that_works(self, live_server):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        open_form(client, link)
        refused = submit_answer(client, link, "stale", rating="8")
        fresh = CSRF_FIELD.search(refused.text).group(1)
        assert submit_answer(client, link, fresh, rating="8").status_code == 303


class TestValidationAndStorage:
    @pytest.mark.parametrize("fields, message", [
        ({"rating": None, "comment": "No rating given"}, "Choose a rating from 0 to 10."),
        ({"rating": "11"}, "Choose a rating from 0 to 10."),
        ({"rating": "seven"}, "Choose a rating from 0 to 10."),
        ({"rating": "5", "lost_hours": "2", "lost_minutes": "75"}, "minutes from 0 to 59"),
        ({"rating": "5", "lost_hours": "-1"}, "whole hours from 0 to 999"),
        ({"rating": "5", "comment": "x" * 2001}, "Shorten your comment to 2000 characters."),
    ])
    def test_invalid_answers_are_explained_and_not_recorded(self, live_server, fields, message):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        response = submit_answer(client, link, csrf, **fields)
        assert response.status_code == 422
        assert message in response.text and 'role="alert"' in response.text
        if "comment" in fields and len(fields["comment"]) < 100:
            assert fields["comment"] in response.text
        assert _responses(live_server.world) == []

    def test_a_full_answer_is_stored_with_sentiment_and_a_rescore_job_in_one_go(self, live_server):
        world = live_server.world
        ticket, link = sent_survey(world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        response = submit_answer(client, link, csrf, rating="3", lost_hours="2", lost_minutes="30",
                                 reason=["passed_around", "no_updates", "resolved_quickly", "nonsense"],
                                 comment="I was passed around between three teams and nobody told me anything.")
        assert response.status_code == 303
        [stored] = _responses(world)
        assert stored.rating == 3 and stored.lost_minutes == 150
        assert stored.reasons == ["passed_around", "no_updates"], "reasons of other bands are dropped"
        assert stored.sentiment_label == "negative" and -1 <= stored.sentiment_score < 0
        with world.sessions() as session:
            survey = session.execute(select(Survey)).scalar_one()
            rescore = session.execute(select(Job).where(Job.kind == "rescore")).scalar_one()
            person = session.get(SurveyPerson, person_key_for(world.settings, ticket.caller, ticket.connection_id))
        assert survey.state == "answered" and survey.answered_at is not None
        assert rescore.dedupe_key == f"rescore:survey:{survey.id}" and rescore.payload == {"survey_id": survey.id}
        assert (rescore.connection_id, rescore.ticket_key) == (ticket.connection_id, ticket.ticket_key)
        assert person.last_rating == 3 and person.last_sentiment == stored.sentiment_score

    def test_only_the_rating_is_required(self, live_server):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        assert submit_answer(client, link, csrf, rating="0").status_code == 303
        [stored] = _responses(live_server.world)
        assert (stored.rating, stored.reasons, stored.lost_minutes, stored.comment, stored.sentiment_score) == \
            (0, [], None, None, None)

    def test_thank_you_then_already_answered(self, live_server):
        _, link = sent_survey(live_server.world)
        client = requests.Session()
        assert client.get(link + "/thanks", allow_redirects=False, timeout=10).status_code == 303
        _, csrf = open_form(client, link)
        thanks = client.post(link, data={"csrf_token": csrf, "rating": "9"}, timeout=10)
        assert thanks.status_code == 200 and "Thank you!" in thanks.text
        assert urlsplit(thanks.url).path.endswith("/thanks")
        assert "You have already answered" in client.get(link, timeout=10).text


class TestPageContent:
    def test_every_bands_reasons_are_in_the_page_for_browsers_without_script(self, live_server):
        _, link = sent_survey(live_server.world)
        page = requests.get(link, timeout=10).text
        for hint in ("For a rating of 9 or 10", "For a rating of 7 or 8", "For a rating from 0 to 6"):
            assert hint in page
        assert len(_order_of(page, "positive")) == 6 and len(_order_of(page, "negative")) == 8
        assert page.count("<fieldset") == 5 and page.count("<legend>") == 5
        assert len(re.findall(r'<label for="rating-\d+">', page)) == 11

    def test_reasons_are_shown_in_random_order(self, start_server):
        server = start_server(surveys={"page_rate_limit": {"per_ip": 1000, "per_token": 1000}})
        _, link = sent_survey(server.world)
        client = requests.Session()
        orders = {tuple(_order_of(client.get(link, timeout=10).text, "negative")) for _ in range(12)}
        assert len(orders) > 1
        assert all(sorted(order) == sorted(next(iter(orders))) for order in orders)

    @pytest.mark.parametrize("language, title, html_lang", [
        ("de", "Wie zufrieden waren Sie?", 'lang="de"'),
        ("fr", "Votre avis nous intéresse", 'lang="fr"'),
        ("en", "How did we do?", 'lang="en"'),
    ])
    def test_the_page_speaks_the_surveys_language(self, live_server, language, title, html_lang):
        base = make_ticket()
        ticket = replace(base, caller=replace(base.caller, language=language))
        _, link = sent_survey(live_server.world, ticket)
        page = requests.get(link, headers={"Accept-Language": "en"}, timeout=10).text
        assert f"<h1>{title}</h1>" in page and html_lang in page

    def test_an_invalid_link_answers_in_the_browsers_language(self, live_server):
        page = requests.get(f"{live_server.url}/s/{'B' * 43}", headers={"Accept-Language": "fr-CH, de;q=0.5"},
                            timeout=10)
        assert page.status_code == 404 and "Ce lien n’est plus valide" in page.text and 'lang="fr"' in page.text


class TestOptOut:
    def test_opening_the_opt_out_page_records_nothing_and_posting_records_it(self, live_server):
        world = live_server.world
        ticket, link = sent_survey(world)
        key = person_key_for(world.settings, ticket.caller, ticket.connection_id)
        client = requests.Session()
        page = client.get(link + "/opt-out", timeout=10)
        assert page.status_code == 200 and "Stop sending me surveys" in page.text
        assert client.post(link + "/opt-out", data={}, timeout=10).status_code == 400
        with world.sessions() as session:
            assert session.get(SurveyPerson, key).opted_out_at is None
        csrf = CSRF_FIELD.search(page.text).group(1)
        done = client.post(link + "/opt-out", data={"csrf_token": csrf}, timeout=10)
        assert done.status_code == 200 and "Surveys stopped" in done.text
        with world.sessions() as session:
            assert session.get(SurveyPerson, key).opted_out_at is not None
        later = replace(make_ticket(), caller=ticket.caller, sla_breached=True)
        assert plan(world, later).reason == "opted_out"

    def test_opt_out_of_an_unknown_link_is_the_invalid_page(self, live_server):
        assert requests.get(f"{live_server.url}/s/{'C' * 43}/opt-out", timeout=10).status_code == 404


class TestRateLimit:
    def test_one_client_is_limited_per_window_and_told_when_to_come_back(self, start_server):
        server = start_server(surveys={"page_rate_limit": {"per_ip": 5, "per_token": 100, "window_s": 1_000_000}})
        statuses = [requests.get(f"{server.url}/s/{'D' * 43}", timeout=10).status_code for _ in range(7)]
        assert statuses == [404] * 5 + [429] * 2
        refused = requests.get(f"{server.url}/s/{'D' * 43}", timeout=10)
        assert 0 < int(refused.headers["Retry-After"]) <= 1_000_000 and "Too many requests" in refused.text

    def test_one_link_is_limited_whoever_asks(self, start_server):
        server = start_server(surveys={"page_rate_limit": {"per_ip": 100, "per_token": 3, "window_s": 1_000_000}})
        _, link = sent_survey(server.world)
        statuses = [requests.get(link, timeout=10).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert requests.get(f"{server.url}/s/{'E' * 43}", timeout=10).status_code == 404, "other links still work"

    def test_the_limit_holds_across_server_processes(self, process_pair):
        from tests.surveys.conftest import PROCESS_PAIR_LIMITS

        database_url, servers, _ = process_pair
        world = make_world(database_url, public_url=servers[0].url)
        try:
            _, link = sent_survey(world)
        finally:
            world.runtime.engine.dispose()
        path = urlsplit(link).path
        allowed = PROCESS_PAIR_LIMITS["page_rate_limit"]["per_token"]
        statuses = [requests.get(server.url + path, timeout=10).status_code
                    for _ in range(allowed // 2 + 1) for server in servers]
        assert statuses == [200] * allowed + [429] * 2
