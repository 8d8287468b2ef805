"""An admin with a broken configuration gets one precise line per problem, naming key and fix."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]

VALID_CONNECTION = '''
[[connections]]
id = "jira-cloud"
tool = "jira"
base_url = "https://example.atlassian.net"
[connections.auth]
kind = "basic"
user = "bot@example.com"
token_env = "JIRA_TOKEN"
'''


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return caught.value.problems


def test_the_example_configuration_is_valid():
    settings = load_settings(ROOT / "config.example.toml")
    assert [c.id for c in settings.connections] == ["servicenow-prod", "jira-cloud"]


def test_missing_token_env_names_the_key_path_and_the_fix(tmp_path):
    text = VALID_CONNECTION + VALID_CONNECTION.replace("jira-cloud", "jira-dc").replace('token_env = "JIRA_TOKEN"\n', "")
    assert problems_of(tmp_path, text) == [
        "connections[1].auth.token_env: missing; name the environment variable that holds the API token or password"]


def test_inline_secret_is_refused_with_the_reason(tmp_path):
    text = VALID_CONNECTION.replace('token_env = "JIRA_TOKEN"', 'token = "hunter2-but-longer"')
    found = problems_of(tmp_path, text)
    assert ("connections[0].auth.token: a secret is written in the configuration file; put it in an environment "
            "variable and name that variable in token_env instead") in found
    assert not any("hunter2" in line for line in found), "the secret itself must never be echoed"


def test_credential_shaped_value_is_refused_whatever_its_key(tmp_path):
    text = VALID_CONNECTION.replace('user = "bot@example.com"', 'user = "ATATT3xFfGF0abcdefghijklmnopqrstuvwxyz"')
    found = problems_of(tmp_path, text)
    assert any(line.startswith("connections[0].auth.user: this value looks like a credential") for line in found)
    assert not any("ATATT3x" in line for line in found)


@pytest.mark.parametrize("fragment, expected", [
    ('tool = "jra"', "connections[0].tool: found 'jra'; expected jira or servicenow"),
    ('base_url = "example.atlassian.net"',
     "connections[0].base_url: found 'example.atlassian.net'; expected an address such as https://example.atlassian.net"),
    ('base_url = "http://example.atlassian.net"',
     "connections[0].base_url: found 'http://example.atlassian.net'; https is required (plain http only with "
     "allow_loopback_http = true, for the simulators)"),
    ('kind = "oauth"', "connections[0].auth.kind: found 'oauth'; expected basic or bearer"),
    ('id = "Jira Cloud"', "connections[0].id: found 'Jira Cloud'; expected lowercase letters, digits, - and _ "
                          "(it becomes part of the webhook URL)"),
])
def test_wrong_values_say_what_was_found_and_what_is_expected(tmp_path, fragment, expected):
    key = fragment.split(" = ")[0]
    lines = [fragment if line.startswith(key + " =") else line for line in VALID_CONNECTION.splitlines()]
    assert expected in problems_of(tmp_path, "\n".join(lines))


def test_several_problems_are_reported_together(tmp_path):
    text = '[worker]\nlease_s = "soon"\nmax_attempts = 2.5\nbogus = 1\n' + VALID_CONNECTION * 2
    assert problems_of(tmp_path, text) == [
        "worker.lease_s: found 'soon'; expected a number; seconds a claimed job stays leased",
        "worker.max_attempts: found 2.5; expected a whole number; attempts before a job is dead",
        "worker.bogus: found 1; unknown key; remove it or check its spelling against config.example.toml",
        "connections[1].id: found 'jira-cloud' again (also connections[0]); expected a different id for each connection",
    ]


@pytest.mark.parametrize("text, expected", [
    ("[worker]\nmetrics_port = 70000\n",
     ["worker.metrics_port: found 70000; expected a port from 1 to 65535, or leave the key out to serve no /metrics"]),
    ('[scheduler]\nmetrics_port = 9102\nmetrics_address = "metrics.example.com"\n',
     ["scheduler.metrics_address: found 'metrics.example.com'; expected an IP address to listen on: 127.0.0.1 lets "
      "only this host scrape, 0.0.0.0 (or ::) any host that can reach it"]),
    ("[worker]\nmetrics_port = 9101\n[scheduler]\nmetrics_port = 9101\n",
     ["scheduler.metrics_port: found 9101, also worker.metrics_port; expected a port of its own (a worker and a "
      "scheduler on one host would both want it)"]),
    ('[server]\nbind = "0.0.0.0:9101"\n[worker]\nmetrics_port = 9101\n',
     ["worker.metrics_port: found 9101, the port of server.bind too; expected a port of its own"]),
])
def test_metrics_ports_and_addresses_are_checked(tmp_path, text, expected):
    assert problems_of(tmp_path, text) == expected


def test_not_toml_and_missing_file_are_explained(tmp_path):
    assert problems_of(tmp_path, "[service\n")[0].endswith("not valid TOML (Expected ']' at the end of a table "
                                                           "declaration (at line 1, column 9))")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "absent.toml")
    assert caught.value.problems == [f"{tmp_path / 'absent.toml'}: file not found; copy config.example.toml and edit it"]


def test_check_config_command_prints_the_problems_and_fails(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(VALID_CONNECTION.replace('kind = "basic"', 'kind = "magic"'))
    result = subprocess.run([sys.executable, "app.py", "check-config", "--config", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "connections[0].auth.kind: found 'magic'; expected basic or bearer" in result.stderr


def test_check_config_reports_secrets_missing_from_the_environment(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(VALID_CONNECTION)
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "app.py", "check-config", "--config", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1
    assert "connections[0].auth.token_env: environment variable JIRA_TOKEN is not set" in result.stdout
    assert "service.secret_key_env: environment variable XLA_SECRET_KEY is not set" in result.stdout


def test_unknown_worker_class_names_the_ones_offered(tmp_path):
    problems = problems_of(tmp_path, '[server]\nworker_class = "sync"\n' + VALID_CONNECTION)
    assert problems == ["server.worker_class: found 'sync'; expected gevent (requests on greenlets, the default) "
                        "or gthread (requests on OS threads)"]
