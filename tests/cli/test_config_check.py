"""``config check`` finds at load what would fail later (the database's directory, secret
files, templates), warns of what leaves the office unwarned, and ``--strict`` fails on both."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.environment import require
from watchdog.cli import main
from watchdog.config import load_config
from watchdog.config.preflight import backup_uplinks
from watchdog.config.schema import Config
from watchdog.config.service_account import checking_account
from watchdog.delivery.rehearsal import Rehearsal
from watchdog.errors import EX_CONFIG, EX_USAGE

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "templates" / "examples"

TARGETS = """
[storage]
database = "var/watchdog.db"
[[ping]]
name = "a"
address = "127.0.0.2"
[[ping]]
name = "b"
address = "127.0.0.3"
"""

# A ticket backend and a channel, both reaching a relay on the LAN: no warning.
CHANNELS = """
[[smtp]]
name = "relay"
host = "192.168.1.25"
security = "none"
sender = "watchdog@office.example"
[[tickets.email]]
name = "provider"
smtp = "relay"
to = ["support@provider.example"]
[[notify.email]]
name = "management"
smtp = "relay"
to = ["boss@office.example"]
"""

NO_TICKET = "no ticket backend: tickets stay in the local ledger and the provider is never told"
NO_CHANNEL = "no notification channel: nobody is told of an outage"
NONE_ON_LAN = "no channel can deliver while the internet is down"


def check(capsys: pytest.CaptureFixture[str], path: Path, *options: str
          ) -> tuple[int, str, list[str]]:
    """(exit code, stdout, stderr's lines) of ``config check`` on ``path``."""
    code = main(["config", "check", "--config", str(path), *options])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchdog.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_a_config_without_tickets_or_channels_passes_with_two_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, TARGETS)
    code, out, err = check(capsys, path)
    assert code == 0
    assert "[storage]" in out
    assert [line.split(": ")[1:3] for line in err] == [["tickets", "warning"],
                                                       ["notify", "warning"]]
    assert NO_TICKET in err[0] and NO_CHANNEL in err[1]
    code, out, strict = check(capsys, path, "--strict")
    assert (code, strict) == (EX_CONFIG, err)


def test_a_complete_config_passes_without_a_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(capsys, write(tmp_path, TARGETS + CHANNELS), "--strict")[::2] == (0, [])


def test_a_database_directory_that_cannot_exist_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, TARGETS.replace("var/watchdog.db", "/proc/nope/watchdog.db")
                 + CHANNELS)
    code, out, err = check(capsys, path)
    assert (code, out) == (EX_CONFIG, "")
    user = checking_account().name
    assert err == [f"{path}: storage.database: the user {user} cannot create the directory "
                   "/proc/nope (No such file or directory); make it writable by "
                   f"{user}, or set storage.database to a file in a directory it can write"]
    assert not (tmp_path / "var").exists()  # the check made nothing it did not remove


def test_a_missing_webhook_template_is_found_before_an_outage_needs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = '[[notify.webhook]]\nname = "ntfy"\nurl = "http://192.168.1.5/"\n'
    path = write(tmp_path, TARGETS + CHANNELS + hook + 'template = "ntfy.json.j2"\n')
    code, _, err = check(capsys, path)
    assert code == EX_CONFIG
    assert err == [f"{path}: notify.webhook[0].template: template 'ntfy.json.j2' not found in "
                   "the built-in templates (rendering a sample outage_started message); put "
                   "it in templates/ next to the config (config/templates/examples has "
                   "working ones), or leave template empty for the built-in JSON"]
    (tmp_path / "templates").mkdir()
    shutil.copy(EXAMPLES / "ntfy.json.j2", tmp_path / "templates")
    assert check(capsys, path)[::2] == (0, [])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_built_in_templates_and_every_example_pass_the_rehearsal(
    tmp_path: Path, language: str
) -> None:
    (tmp_path / "templates").mkdir()
    hooks = ""
    for index, example in enumerate(sorted(EXAMPLES.glob("*.j2"))):
        shutil.copy(example, tmp_path / "templates")
        hooks += (f'[[notify.webhook]]\nname = "hook{index}"\nurl = "http://192.168.1.5/"\n'
                  f'template = "{example.name}"\n')
    text = f'[site]\nlanguage = "{language}"\n' + TARGETS + CHANNELS + hooks
    config = load_config(write(tmp_path, text))
    assert len(config.notify.webhook) >= 4
    assert Rehearsal(config, datetime.now(UTC)).problems() == []


def test_a_json_template_that_renders_no_json_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "body.json.j2").write_text("{\"title\": {{ title }}}\n")
    rest = ('[[tickets.rest]]\nname = "helpdesk"\nurl = "https://helpdesk.example/api"\n'
            'body_template = "body.json.j2"\n')
    code, _, err = check(capsys, write(tmp_path, TARGETS + CHANNELS + rest))
    assert code == EX_CONFIG
    assert len(err) == 1
    assert ": tickets.rest[0].body_template: template 'body.json.j2' did not render valid " \
        "JSON" in err[0]
    assert "(rendering a sample ticket_open message); fix it" in err[0]


def test_a_broken_override_of_a_message_template_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "recovered.txt.j2").write_text(
        '{% extends "_base.txt.j2" %}{% block subject %}{{ no_such_thing }}{% endblock %}\n')
    code, _, err = check(capsys, write(tmp_path, TARGETS + CHANNELS))
    assert code == EX_CONFIG
    assert err == [f"{tmp_path / 'watchdog.toml'}: templates ({tmp_path / 'templates'}): "
                   "template 'recovered.txt.j2' failed: 'no_such_thing' is undefined; fix the "
                   "template, or remove the override to use the built-in one"]


@pytest.mark.parametrize(("channel", "warned"), [
    # Names are never resolved: not known to be on the LAN.
    ('[[notify.webhook]]\nname = "n"\nurl = "http://ntfy.office.lan/"\n', True),
    ('[[notify.webhook]]\nname = "n"\nurl = "https://203.0.113.9/hook"\n', False),  # TEST-NET
    ('[[notify.webhook]]\nname = "n"\nurl = "https://198.51.99.1/hook"\n', True),  # public
    ('[[notify.webhook]]\nname = "n"\nurl = "http://[fd00::5]:8080/"\n', False),
    ('[[notify.webhook]]\nname = "n"\nurl = "http://169.254.1.1/"\n', False),
    ('[[notify.command]]\nname = "sms"\nargv = ["gammu-smsd-inject"]\n', False),
    ('[[smtp]]\nname = "r"\nhost = "smtp.provider.example"\nsender = "w@o.example"\n'
     '[[notify.email]]\nname = "m"\nsmtp = "r"\nto = ["boss@o.example"]\n', True),
    ('[[smtp]]\nname = "r"\nhost = "10.0.0.25"\nsender = "w@o.example"\n'
     '[[notify.email]]\nname = "m"\nsmtp = "r"\nto = ["boss@o.example"]\n', False),
])
def test_it_warns_when_no_channel_can_deliver_while_the_internet_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str, warned: bool
) -> None:
    code, _, err = check(capsys, write(tmp_path, TARGETS + channel))
    assert code == 0
    lan = [line for line in err if NONE_ON_LAN in line]
    assert len(lan) == warned, err
    if warned:
        assert lan[0].startswith(f"{tmp_path / 'watchdog.toml'}: notify: warning: ")


def test_a_backup_uplink_counts_as_a_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backup_uplinks(Config()) == []
    internet_only = ('[[smtp]]\nname = "r"\nhost = "smtp.provider.example"\n'
                     'sender = "w@o.example"\n[[notify.email]]\nname = "m"\nsmtp = "r"\n'
                     'to = ["boss@o.example"]\n')
    uplinks = ('[[uplink]]\nname = "fibre"\ninterface = "lo"\n'
               '[[uplink]]\nname = "4g"\nsource = "127.0.0.1"\n')
    path = write(tmp_path, TARGETS + internet_only + uplinks)
    code, _, err = check(capsys, path)
    # The 4G carries the channel to the internet while the fibre is cut.
    assert code == 0 and not [line for line in err if NONE_ON_LAN in line], err
    assert backup_uplinks(load_config(path)) == ["4g"]


def test_secrets_others_may_read_are_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    relay = CHANNELS.replace('security = "none"\n', 'username = "w"\npassword = "inline-pw"\n')
    path = write(tmp_path, TARGETS + relay)
    path.chmod(0o644)
    code, out, err = check(capsys, path)
    assert code == 0 and "inline-pw" not in out + "".join(err)
    assert err == [f"{path}: smtp[0].password: warning: the config file {path} is readable by "
                   "every user of this machine; move it into its own file in "
                   f"{tmp_path / 'credentials'} (owned by root, mode 0600)"]
    (tmp_path / "credentials").mkdir(mode=0o700)
    secret = tmp_path / "credentials" / "smtp-password"
    secret.write_text("from-file\n")
    secret.chmod(0o640)
    os.chown(secret, -1, 1)  # a group other than root's (daemon, 1 on Debian)
    path.write_text(TARGETS + relay.replace('password = "inline-pw"',
                                            'password_file = "smtp-password"'))
    code, _, err = check(capsys, path)
    assert code == 0
    assert len(err) == 1 and "smtp[0].password_file: warning: the file " \
        f"{secret} is readable by the group " in err[0]
    assert err[0].endswith(f"(who may run watchdog status); chmod 0600 {secret} (owned by root)")
    secret.chmod(0o600)
    assert check(capsys, path)[::2] == (0, [])


@pytest.fixture
def as_root() -> None:
    require(None if os.geteuid() == 0 else "needs root: checks files as another user")


@pytest.mark.usefixtures("as_root")
def test_files_are_checked_as_the_user_the_service_runs_as(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tmp_path lies below /tmp/pytest-of-root (0700): root may write there, nobody may not.
    secret = tmp_path / "hc-url"
    secret.write_text("https://hc-ping.com/5b0b5bd9\n")
    secret.chmod(0o600)
    path = write(tmp_path, TARGETS + CHANNELS + f'[[heartbeat]]\nname = "hc"\n'
                 f'url_file = "{secret}"\n')
    path.chmod(0o644)
    assert check(capsys, path)[::2] == (0, [])
    code, _, err = check(capsys, path, "--user", "nobody")
    assert code == EX_CONFIG
    keys = [line.split(": ")[1] for line in err]
    assert keys == ["(the file)", "storage.database", "heartbeat[0].url_file"]
    assert f"the user nobody cannot read {path} (Permission denied)" in err[0]
    assert f"the user nobody cannot reach {tmp_path / 'var'} (Permission denied); make it " \
        "writable by nobody" in err[1]
    assert f"the user nobody cannot read {secret} (Permission denied); let nobody read it" \
        in err[2]


@pytest.mark.usefixtures("as_root")
def test_the_database_directory_and_files_must_be_writable_by_the_service(
    capsys: pytest.CaptureFixture[str]
) -> None:
    # Under /tmp (every user may enter it), not pytest's tmp_path (root's alone).
    site = Path(tempfile.mkdtemp(prefix="cw-check-", dir="/tmp"))
    try:
        site.chmod(0o755)
        (site / "var").mkdir(mode=0o755)
        path = write(site, TARGETS + CHANNELS)
        path.chmod(0o644)
        code, _, err = check(capsys, path, "--user", "nobody")
        assert code == EX_CONFIG
        assert err == [f"{path}: storage.database: the user nobody cannot create files in "
                       f"{site / 'var'} (Permission denied); make it writable by nobody, or "
                       "set storage.database to a file in a directory it can write"]
        (site / "var").chmod(0o777)
        assert check(capsys, path, "--user", "nobody")[::2] == (0, [])
        (site / "var" / "watchdog.db-wal").write_text("")
        code, _, err = check(capsys, path, "--user", "nobody")
        assert code == EX_CONFIG
        assert f"nobody cannot write {site / 'var' / 'watchdog.db-wal'} (Permission denied)" \
            in err[0]
        assert sorted(item.name for item in (site / "var").iterdir()) == ["watchdog.db-wal"]
    finally:
        shutil.rmtree(site)


def test_a_user_who_cannot_speak_for_the_service_gets_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another user than the service's, not root: what it cannot do may be allowed to the
    # service, so only a warning, naming who was checked.
    monkeypatch.setattr("watchdog.config.service_account.SERVICE_USER", "root")
    if os.geteuid() == 0:
        monkeypatch.setattr(os, "geteuid", lambda: 65534)
    path = write(tmp_path, TARGETS.replace("var/watchdog.db", "/proc/nope/w.db") + CHANNELS)
    code, _, err = check(capsys, path)
    assert code == 0
    user = checking_account().name
    assert len(err) == 1
    assert f": storage.database: warning: the user {user} cannot create the directory " \
        "/proc/nope" in err[0]
    assert err[0].endswith(f"(checked as {user}; run config check as root to check as root)")


def test_an_unknown_user_is_a_bad_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(capsys, write(tmp_path, TARGETS), "--user", "no-such-user-here")
    assert code == EX_USAGE
    assert err == ["watchdog: --user no-such-user-here: no such user; name the user the "
                   "service runs as"]
