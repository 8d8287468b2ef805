"""Survey links: unguessable (>= 128 bits), stored only as a hash, single use, expiring, tamper-proof."""
from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from storage.models import Survey, SurveyResponse
from surveys.store import find_survey_by_token, surveys_by_token_hash
from surveys.tokens import SurveySecretMissing, derive_token, hash_token, service_secret

from tests.surveys.helpers import (SECRET_ENV, make_ticket, open_form, plan, sent_survey, submit_answer,
                                    days_ago)


def _token_of(link: str) -> str:
    return link.rsplit("/s/", 1)[1]


class TestDerivation:
    @pytest.mark.parametrize("length, characters", [(16, 22), (24, 32), (32, 43)])
    def test_tokens_carry_the_configured_bytes(self, length, characters):
        token = derive_token(b"k" * 32, 7, "salt", length)
        assert len(token) == characters
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == length >= 16

    def test_same_inputs_same_token_and_any_change_another(self):
        base = derive_token(b"secret-one-xxxxxx", 1, "aa", 32)
        assert derive_token(b"secret-one-xxxxxx", 1, "aa", 32) == base
        others = {derive_token(b"secret-two-xxxxxx", 1, "aa", 32), derive_token(b"secret-one-xxxxxx", 2, "aa", 32),
                  derive_token(b"secret-one-xxxxxx", 1, "ab", 32)}
        assert base not in others and len(others) == 3

    def test_a_missing_or_short_secret_is_a_configuration_error(self, world, monkeypatch):
        monkeypatch.delenv(SECRET_ENV)
        with pytest.raises(SurveySecretMissing, match=SECRET_ENV):
            service_secret(world.settings)
        monkeypatch.setenv(SECRET_ENV, "short")
        with pytest.raises(SurveySecretMissing, match="too short"):
            service_secret(world.settings)


class TestStorage:
    def test_the_database_never_holds_the_raw_token(self, world, sqlite_url):
        ticket, link = sent_survey(world)
        token = _token_of(link)
        with world.sessions() as session:
            survey = session.execute(select(Survey)).scalar_one()
        assert survey.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert survey.token_salt and survey.token_bytes == 32
        world.runtime.engine.dispose()  # flush the WAL into the main file before reading bytes
        database = Path(sqlite_url.removeprefix("sqlite:///"))
        stored = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored

    def test_the_sender_rebuilds_the_same_link_from_secret_and_salt(self, world):
        ticket, link = sent_survey(world)
        with world.sessions() as session:
            survey = session.execute(select(Survey)).scalar_one()
        rebuilt = derive_token(service_secret(world.settings), survey.id, survey.token_salt, survey.token_bytes)
        assert rebuilt == _token_of(link)

    def test_a_hundred_thousand_random_tokens_match_no_survey(self, world):
        known = [_token_of(sent_survey(world)[1]) for _ in range(5)]
        guesses = [secrets.token_urlsafe(32) for _ in range(100_000)]
        with world.sessions() as session:
            found = surveys_by_token_hash(session, [hash_token(token) for token in guesses + known])
            assert set(found) == {hash_token(token) for token in known}
            # The page's own lookup, one by one, on a slice of the guesses and on the real ones.
            assert all(find_survey_by_token(session, token) is None for token in guesses[:2000])
            assert all(find_survey_by_token(session, token) is not None for token in known)


class TestOverHttp:
    def test_random_and_tampered_tokens_get_the_same_page_as_an_expired_link(self, start_server):
        server = start_server(surveys={"page_rate_limit": {"per_ip": 10_000, "window_s": 3600}})
        world = server.world
        _, expired_link = sent_survey(world)
        with world.sessions.begin() as session:
            session.execute(update(Survey).values(expires_at=days_ago(1)))
        _, live_link = sent_survey(world)
        client = requests.Session()
        reference = client.get(expired_link, timeout=10)
        assert reference.status_code == 404 and "Set-Cookie" not in reference.headers

        token = _token_of(live_link)
        tampered = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:] for i in (0, 10, 21, 42)]
        malformed = [token[:-1], token + "x", "short", "x" * 200, token.replace(token[5], "!", 1)]
        guesses = [secrets.token_urlsafe(32) for _ in range(200)]
        for candidate in tampered + malformed + guesses:
            response = client.get(f"{server.url}/s/{candidate}", timeout=10)
            assert response.status_code == 404, candidate
            assert response.content == reference.content, candidate
            assert "Set-Cookie" not in response.headers
        assert client.get(live_link, timeout=10).status_code == 200

    def test_posting_to_an_expired_link_records_nothing(self, live_server):
        world = live_server.world
        _, link = sent_survey(world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        with world.sessions.begin() as session:
            session.execute(update(Survey).values(expires_at=days_ago(0.001)))
        response = submit_answer(client, link, csrf, rating="8")
        assert response.status_code == 404
        with world.sessions() as session:
            assert session.execute(select(SurveyResponse)).first() is None
            assert session.execute(select(Survey.state)).scalar_one() == "sent"

    def test_a_link_works_once(self, live_server):
        world = live_server.world
        _, link = sent_survey(world)
        client = requests.Session()
        _, csrf = open_form(client, link)
        first = submit_answer(client, link, csrf, rating="6", comment="took a while")
        assert first.status_code == 303 and first.headers["Location"].endswith("/thanks")
        again = submit_answer(client, link, csrf, rating="10")
        assert again.status_code == 409 and "already answered" in again.text
        reopened = client.get(link, timeout=10)
        assert reopened.status_code == 200 and "You have already answered" in reopened.text
        assert 'name="rating"' not in reopened.text
        with world.sessions() as session:
            ratings = session.execute(select(SurveyResponse.rating)).scalars().all()
        assert ratings == [6]

    def test_a_withdrawn_survey_link_is_invalid(self, live_server):
        from domain.events import Lifecycle
        from domain.ticket import Stage

        world = live_server.world
        ticket, link = sent_survey(world)
        plan(world, make_ticket(ticket.connection_id, key=ticket.ticket_key, stage=Stage.IN_PROGRESS,
                                caller=ticket.caller, reopen_count=1), Lifecycle.REOPENED)
        assert requests.get(link, timeout=10).status_code == 404
