"""Config of tickets, notifications and their secrets: read from files, env or credentials."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.config.test_config import MINIMAL, problems_of, write
from watchdog.cli import main
from watchdog.config import load_config
from watchdog.config.secrets import Secret
from watchdog.errors import ConfigError

DELIVERY = MINIMAL + """
[isp]
name = "Example Telecom"
line_id = "FTTH-42"
gtr = "8h"

[incidents]
open_after = { dns = "10m" }
escalation = ["gtr", "24h", "72h"]

[[smtp]]
name = "relay"
host = "mail.office.lan"
sender = "watchdog@office.example"
username = "watchdog"
password_file = "smtp-password"

[[tickets.email]]
name = "isp-support"
smtp = "relay"
to = ["support@isp.example"]

[[tickets.email]]
name = "office-it"
smtp = "relay"
to = ["it@office.example"]
kinds = ["lan"]

[[notify.webhook]]
name = "lan-hook"
url = "http://192.0.2.5:8080/hook"
events = ["outage_started", "recovered"]
hmac_secret_env = "HOOK_SECRET"
headers = { "X-Office" = "main" }
"""


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "smtp-password").write_text("s3cret-smtp\n")
    monkeypatch.setenv("HOOK_SECRET", "s3cret-hook")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_tickets_and_channels_are_read_with_their_secrets(tmp_path: Path, secrets: None) -> None:
    config = load_config(write(tmp_path, DELIVERY))
    assert config.isp.gtr == timedelta(hours=8)
    assert config.incidents.open_after == {"isp": timedelta(minutes=2),
                                           "lan": timedelta(minutes=2),
                                           "dns": timedelta(minutes=10)}
    relay = config.smtp[0]
    assert relay.password is not None and relay.password.reveal() == "s3cret-smtp"
    assert [t.kinds for t in config.tickets.email] == [["isp", "dns"], ["lan"]]
    hook = config.notify.webhook[0]
    assert hook.hmac_secret is not None and hook.hmac_secret.reveal() == "s3cret-hook"
    assert hook.headers == {"X-Office": "main"}
    assert config.channel_names() == ["isp-support", "office-it", "lan-hook"]


def test_a_secret_file_that_is_not_text_is_one_problem_naming_its_key(
    tmp_path: Path, secrets: None
) -> None:
    (tmp_path / "smtp-password").write_bytes(b"\xff\xfe\x00binary")
    [problem] = problems_of(tmp_path, DELIVERY)
    assert problem.startswith(f"{tmp_path / 'watchdog.toml'}: smtp[0].password_file: "
                              "'smtp-password': ")
    assert f"{tmp_path / 'smtp-password'} is not UTF-8 text; " in problem


# A credential of its own name (a drop-in's LoadCredential=smtp-password:FILE), or one of the
# unit's credentials directory (LoadCredential=secret:DIRECTORY names each file secret_<file>).
@pytest.mark.parametrize("credential", ["smtp-password", "secret_smtp-password"])
def test_secrets_come_from_systemd_credentials(
    tmp_path: Path, secrets: None, monkeypatch: pytest.MonkeyPatch, credential: str
) -> None:
    credentials = tmp_path / "run-credentials"
    credentials.mkdir()
    (credentials / credential).write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    config = load_config(write(tmp_path, DELIVERY))
    assert config.smtp[0].password == Secret("from-systemd", "")


def test_config_check_never_prints_a_secret(
    tmp_path: Path, secrets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    inline = DELIVERY.replace('password_file = "smtp-password"', 'password = "inline-pw"')
    path = write(tmp_path, inline)
    assert main(["config", "check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "inline-pw" not in out and "s3cret" not in out
    assert 'password = "********"  # from the config file' in out
    assert 'hmac_secret = "********"  # from $HOOK_SECRET' in out
    assert "[[tickets.email]]" in out and "[[notify.webhook]]" in out
    assert repr(load_config(path).smtp[0]).count("inline-pw") == 0


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (('smtp = "relay"\nto = ["support', 'smtp = "relai"\nto = ["support'),
         "tickets.email[0].smtp", "'relai' is not an [[smtp]] relay (known: relay)"),
        (('password_file = "smtp-password"', 'password_file = "missing"'),
         "smtp[0].password_file", "'missing': no such file: "),
        (('hmac_secret_env = "HOOK_SECRET"', 'hmac_secret_env = "NOPE"'),
         "notify.webhook[0].hmac_secret_env", "environment variable NOPE is not set"),
        (('password_file = "smtp-password"', 'password_file = "smtp-password"\npassword = "x"'),
         "smtp[0].password", "more than one way"),
        (('events = ["outage_started", "recovered"]', 'events = ["outage_begun"]'),
         "notify.webhook[0].events[0]", "'outage_begun' is not allowed"),
        (('escalation = ["gtr", "24h", "72h"]', 'escalation = ["gtr", "tomorrow"]'),
         "incidents.escalation[1]", "or write \"gtr\""),
        (('name = "lan-hook"', 'name = "office-it"'), "tickets/notify/smtp", "used twice"),
        (('open_after = { dns = "10m" }', 'open_after = { wan = "10m" }'),
         "incidents.open_after.wan", "is not allowed"),
        (('to = ["it@office.example"]', 'to = ["it.office.example"]'),
         "tickets.email[1].to", "not an email address"),
    ],
)
def test_it_explains_each_delivery_problem(
    tmp_path: Path, secrets: None, change: tuple[str, str], key: str, words: str
) -> None:
    problems = problems_of(tmp_path, DELIVERY.replace(*change))
    assert len(problems) == 1, problems
    assert f": {key}: " in problems[0]
    assert words in problems[0]


def test_a_missing_secret_file_is_named_by_its_key_with_every_path_tried(
    tmp_path: Path, secrets: None
) -> None:
    problems = problems_of(tmp_path, DELIVERY.replace('password_file = "smtp-password"',
                                                      'password_file = "nothere"'))
    assert problems == [
        f"{tmp_path / 'watchdog.toml'}: smtp[0].password_file: 'nothere': no such file: "
        f"{tmp_path / 'credentials' / 'nothere'} or {tmp_path / 'nothere'}; put the secret "
        f"there (in {tmp_path / 'credentials'}: owned by root, mode 0600) or fix the name"]


def test_the_paths_tried_are_full_even_for_a_config_named_from_its_directory(
    tmp_path: Path, secrets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, DELIVERY.replace('password_file = "smtp-password"',
                                     'password_file = "nothere"'))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("watchdog.toml"))
    (problem,) = caught.value.problems
    assert f"no such file: {tmp_path / 'credentials' / 'nothere'} or {tmp_path / 'nothere'}; " \
        f"put the secret there (in {tmp_path / 'credentials'}: " in problem


def test_a_secret_file_that_cannot_be_read_says_which_and_why(
    tmp_path: Path, secrets: None
) -> None:
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "smtp-password").mkdir()  # a directory: it exists, unreadable
    problems = problems_of(tmp_path, DELIVERY)
    assert len(problems) == 1
    assert (f"smtp[0].password_file: 'smtp-password': {tmp_path / 'credentials'}"
            "/smtp-password cannot be read (Is a directory)") in problems[0]


def test_secret_files_are_read_from_the_credentials_directory_first(
    tmp_path: Path, secrets: None
) -> None:
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "smtp-password").write_text("from-credentials\n")
    config = load_config(write(tmp_path, DELIVERY))
    assert config.smtp[0].password == Secret("from-credentials", "")


def test_read_commands_do_not_need_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The secret file is missing (or readable by the service alone): status must still work.
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    path = write(tmp_path, DELIVERY)
    config = load_config(path, secrets=False)
    assert config.smtp[0].password is None
    assert config.notify.webhook[0].hmac_secret is None
    with pytest.raises(ConfigError):
        load_config(path)


@pytest.mark.parametrize(("key", "line", "bad"), [
    ("smtp[0].host", 'host = "mail.office.lan"', 'host = ""'),
    ("smtp[0].host", 'host = "mail.office.lan"', 'host = "http://[::1"'),
    ("smtp[0].host", 'host = "mail.office.lan"', 'host = "999.1.1.1"'),
    ("smtp[0].host", 'host = "mail.office.lan"', 'host = "256.256.256.256"'),
    ("notify.webhook[0].url", 'url = "http://192.0.2.5:8080/hook"',
     'url = "http://192.0.2.5:99999/hook"'),
    ("notify.webhook[0].url", 'url = "http://192.0.2.5:8080/hook"', 'url = "http://[::1"'),
])
def test_a_relay_host_or_a_url_that_cannot_be_reached_is_one_problem(
    tmp_path: Path, secrets: None, key: str, line: str, bad: str
) -> None:
    [problem] = problems_of(tmp_path, DELIVERY.replace(line, bad))
    assert problem.startswith(f"{tmp_path / 'watchdog.toml'}: {key}: ")
