"""``[[heartbeat]]``: its defaults, its URL read as a secret and never shown, and one line
per problem."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.config.test_config import EXAMPLE, MINIMAL, problems_of, write
from watchdog.cli import main
from watchdog.config import load_config

HC_URL = "https://hc-ping.com/5b0b5bd9-7d4e-4b9a-8b0e-6d2f0b1e9a11"
KUMA_URL = "https://kuma.example/api/push/Tk3n9xQ?status=up&msg=OK&ping="

HEARTBEATS = MINIMAL + """
[[heartbeat]]
name = "healthchecks"
url_file = "hc-url"

[[heartbeat]]
name = "kuma"
style = "uptime_kuma"
url_env = "KUMA_URL"
interval = "30s"
timeout = "5s"
link = "default"
"""


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hc-url").write_text(HC_URL + "\n")
    monkeypatch.setenv("KUMA_URL", KUMA_URL)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_heartbeats_are_read_with_their_defaults_and_secret_urls(
    tmp_path: Path, secrets: None
) -> None:
    first, second = load_config(write(tmp_path, HEARTBEATS)).heartbeat
    assert first.url is not None and first.url.reveal() == HC_URL
    assert (first.style, first.interval, first.timeout, first.link) == (
        "healthchecks", timedelta(seconds=60), timedelta(seconds=10), "")
    assert second.url is not None and second.url.reveal() == KUMA_URL
    assert (second.style, second.interval, second.timeout, second.link) == (
        "uptime_kuma", timedelta(seconds=30), timedelta(seconds=5), "default")
    assert load_config(write(tmp_path, MINIMAL)).heartbeat == []
    assert load_config(EXAMPLE).heartbeat == []  # the example shows them commented out


def test_config_check_masks_the_url_and_status_needs_no_secret(
    tmp_path: Path, secrets: None, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write(tmp_path, HEARTBEATS)
    assert main(["config", "check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5b0b5bd9" not in out and "Tk3n9xQ" not in out
    assert 'url = "********"  # from file hc-url' in out
    assert 'url = "********"  # from $KUMA_URL' in out
    assert out.count("[[heartbeat]]") == 2
    monkeypatch.delenv("KUMA_URL")
    (tmp_path / "hc-url").unlink()
    config = load_config(path, secrets=False)  # what status, outages and report read
    assert [entry.url for entry in config.heartbeat] == [None, None]


@pytest.mark.parametrize(("change", "key", "words"), [
    (('url_file = "hc-url"\n', ""), "heartbeat[0].url",
     "is required; write it in a file named by url_file (or give url_env, or url itself)"),
    (('url_file = "hc-url"', 'url_file = "missing"'), "heartbeat[0].url_file",
     "'missing': no such file: "),
    (('url_file = "hc-url"', f'url = "{KUMA_URL}"'), "heartbeat[0].url",
     "is an Uptime Kuma push URL; set style = \"uptime_kuma\""),
    (('url_file = "hc-url"', 'url = "hc-ping.com/5b0b5bd9"'), "heartbeat[0].url",
     "is not an http(s) URL with a host"),
    (('style = "uptime_kuma"', 'style = "kuma"'), "heartbeat[1].style",
     "'kuma' is not allowed; use one of 'healthchecks', 'uptime_kuma'"),
    (('timeout = "5s"', 'timeout = "30s"'), "heartbeat[1].timeout",
     "must be shorter than its interval"),
    (('interval = "30s"', 'interval = "500ms"'), "heartbeat[1].interval",
     "500ms is too small; use at least 1s"),
    (('link = "default"', 'link = "fibre"'), "heartbeat[1].link",
     "'fibre' is not a link of this config; use one of 'default'"),
    (('name = "kuma"', 'name = "healthchecks"'), "heartbeat[1].name", "is used twice"),
])
def test_it_explains_each_heartbeat_problem_without_quoting_the_url(
    tmp_path: Path, secrets: None, change: tuple[str, str], key: str, words: str
) -> None:
    problems = problems_of(tmp_path, HEARTBEATS.replace(*change))
    assert len(problems) == 1, problems
    assert f": {key}: " in problems[0]
    assert words in problems[0]
    assert "5b0b5bd9" not in problems[0] and "Tk3n9xQ" not in problems[0]
