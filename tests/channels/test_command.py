"""The command channel and ticket backend with a real script, through the real outbox.

``[[notify.command]]`` and ``[[tickets.command]]`` run ``record.sh`` (written by the test):
it keeps what it read on stdin and its environment, one file pair per run, prints a receipt
and exits with the status the test scripted for that run. The incident service runs inside
each recorded cycle, as in the daemon; delivery passes run at a fake clock's time.
"""

from __future__ import annotations

import dataclasses
import json
import stat
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from tests.channels.conftest import Deliver
from tests.config.test_config import EXAMPLE, MINIMAL, problems_of, write
from tests.incidents.conftest import query
from tests.incidents.test_lifecycle import down, tick, up
from watchdog.channels.command_notify import CommandNotifyConfig
from watchdog.channels.command_ticket import CommandTicketConfig
from watchdog.cli import main
from watchdog.config import Config, dump_config, load_config
from watchdog.incidents.routing import notify_channels, ticket_backends
from watchdog.store.writer import Store

RECORDER = """#!/bin/sh
# One run: stdin to RUNS/N.in, the environment to RUNS/N.env, then the Nth scripted status.
runs="$1"
n=$(ls "$runs" | grep -c '[.]in$')
cat > "$runs/$n.in"
env > "$runs/$n.env"
code=$(sed -n "$((n + 1))p" "$runs/../codes")
code=${code:-0}
if [ "$code" = 0 ]; then echo "queued as SMS-$n"; else echo "modem: no ($code)" >&2; fi
exit "$code"
"""

CHANNELS = """
[site]
name = "Office"
timezone = "Europe/Paris"

[storage]
database = "watchdog.db"

[[notify.command]]
name = "sms"
argv = ["{recorder}", "{sms}"]
events = ["outage_started", "recovered", "test"]
environment = {{ GAMMU_CONFIG = "/etc/gammu-smsdrc" }}

[[tickets.command]]
name = "helpdesk-cli"
argv = ["{recorder}", "{helpdesk}"]
body = true
timeout = "5s"
"""


@dataclass
class Recorder:
    """The script of a channel: its runs, and the statuses scripted for them."""

    runs: Path

    def script(self, *codes: int) -> None:
        (self.runs.parent / "codes").write_text("".join(f"{code}\n" for code in codes))

    def stdin(self, run: int) -> str:
        return (self.runs / f"{run}.in").read_text(encoding="utf-8")

    def environment(self, run: int) -> dict[str, str]:
        text = (self.runs / f"{run}.env").read_text(encoding="utf-8")
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def count(self) -> int:
        return len(list(self.runs.glob("*.in")))


def recorder(tmp_path: Path, name: str) -> Recorder:
    runs = tmp_path / name / "runs"
    runs.mkdir(parents=True)
    return Recorder(runs)


@pytest.fixture
def sms(tmp_path: Path) -> Recorder:
    return recorder(tmp_path, "sms")


@pytest.fixture
def helpdesk(tmp_path: Path) -> Recorder:
    return recorder(tmp_path, "helpdesk")


@pytest.fixture
def config(tmp_path: Path, sms: Recorder, helpdesk: Recorder) -> Config:
    script = tmp_path / "record.sh"
    script.write_text(RECORDER)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    text = MINIMAL + CHANNELS.format(recorder=script, sms=sms.runs, helpdesk=helpdesk.runs)
    return load_config(write(tmp_path, text))


def outbox(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT channel, event, status, attempts, last_error FROM outbox "
                        "ORDER BY id")


def test_both_tables_are_read_checked_and_routed(config: Config, tmp_path: Path) -> None:
    (sms,) = config.notify.command
    assert isinstance(sms, CommandNotifyConfig)
    assert (sms.argv[1:], sms.body, sms.timeout, sms.environment) == (
        [str(tmp_path / "sms" / "runs")], False, timedelta(seconds=30),
        {"GAMMU_CONFIG": "/etc/gammu-smsdrc"})
    (backend,) = config.tickets.command
    assert isinstance(backend, CommandTicketConfig)
    assert (backend.body, backend.kinds, backend.timeout) == (
        True, ["isp", "dns"], timedelta(seconds=5))
    assert notify_channels(config, "outage_started") == ["sms"]
    assert notify_channels(config, "ticket_opened") == []
    assert ticket_backends(config, "isp") == ["helpdesk-cli"]
    dumped = dump_config(config)
    assert "[[notify.command]]" in dumped and "[[tickets.command]]" in dumped
    assert 'timeout = "30s"' in dumped


def test_a_command_entry_names_a_program_and_real_variables(tmp_path: Path) -> None:
    file = tmp_path / "watchdog.toml"
    entry = '\n[[notify.command]]\nname = "sms"\n'
    assert problems_of(tmp_path, MINIMAL + entry + "argv = []\n") == [
        f"{file}: notify.command[0].argv: must name a program, for example "
        'argv = ["/usr/local/bin/watchdog-sms", "+33600000000"]']
    assert problems_of(tmp_path, MINIMAL + entry + 'argv = ["bin/sms"]\n') == [
        f"{file}: notify.command[0].argv: 'bin/sms' is a relative path; give the program's "
        "full path, or a name found on PATH"]
    assert problems_of(
        tmp_path, MINIMAL + entry + 'argv = ["sms"]\n'
        'environment = { "A-B" = "1", WATCHDOG_EVENT = "x" }\n') == [
        f"{file}: notify.command[0].environment: 'A-B' is not a variable name; use letters, "
        "digits and _",
        f"{file}: notify.command[0].environment: 'WATCHDOG_EVENT' is the watchdog's own; the "
        "message's fields come as WATCHDOG_*, choose another name"]
    assert problems_of(tmp_path, MINIMAL + entry + 'argv = ["sms"]\ntimeout = "0s"\n') == [
        f"{file}: notify.command[0].timeout: 0s is too small; use at least 100ms"]


def test_a_message_is_delivered_retried_on_75_and_refused_on_any_other_status(
    config: Config, store: Store, deliver: Deliver, sms: Recorder,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sms.script(75, 0, 2)
    up(store, 0)
    down(store, 10)

    # The modem is busy (75): the message waits, and is run again at the next try.
    assert deliver("sms", 14) == 0
    assert outbox(store) == [("sms", "outage_started", "pending", 1,
                              f"the program {config.notify.command[0].argv[0]} asked to be run "
                              "again later (exit 75): modem: no (75)")]
    assert deliver("sms", 14 + 300) == 1
    assert sms.count() == 2
    # The same message both times, with the same key: the script can tell a repeat.
    # The short text an SMS wants: the summary, and on the retry the lateness line.
    assert sms.stdin(0) == "Internet down since 13:00 (ISP side)\n"
    assert sms.stdin(1) == ("Internet down since 13:00 (ISP side)\n"
                            "Sent 5 min 4 s after the outage began, while the link was down.\n")
    first, second = sms.environment(0), sms.environment(1)
    assert first["WATCHDOG_KEY"] == second["WATCHDOG_KEY"]
    assert second["WATCHDOG_EVENT"] == "outage_started"
    assert second["WATCHDOG_STATE"] == "down"
    assert second["WATCHDOG_SUBJECT"] == "[Office] Internet down since 13:00 (ISP side)"
    assert second["WATCHDOG_CHANNEL"] == "sms"
    assert second["WATCHDOG_SITE"] == "Office"
    assert second["WATCHDOG_REFERENCE"] == ""
    assert second["GAMMU_CONFIG"] == "/etc/gammu-smsdrc"
    (proof,) = query(store, "SELECT server, reply FROM delivery_attempt WHERE outcome = 'sent'")
    assert proof == (config.notify.command[0].argv[0], "queued as SMS-1")

    # Refused (2): the message fails for good, and `watchdog outbox` says why.
    up(store, 400)
    assert deliver("sms", 404) == 0
    assert outbox(store)[-1][:4] == ("sms", "recovered", "failed", 1)
    capsys.readouterr()  # the delivery's own log lines
    code = main(["outbox", "--config", str(config.source)])
    out = capsys.readouterr().out
    assert code == 0
    program = config.notify.command[0].argv[0]
    assert out.splitlines() == [
        f"#2 sms: recovered (failed, 1 attempt(s)) — the program {program} failed with exit "
        "status 2: modem: no (2); fix it, or make it exit with 75 when a later try can succeed"]


def test_the_short_text_by_default_and_the_whole_message_with_body(
    store: Store, deliver: Deliver, sms: Recorder, helpdesk: Recorder
) -> None:
    up(store, 0)
    down(store, 10)
    assert deliver("sms", 14) == 1
    for seconds in range(20, 200, 10):
        tick(store, seconds)
    assert deliver("helpdesk-cli", 200) == 1
    # An SMS: the summary line alone, on time.
    assert sms.stdin(0) == "Internet down since 13:00 (ISP side)\n"
    # A ticket: the subject, a blank line and the whole report, as the helpdesk's email.
    report = helpdesk.stdin(0)
    subject, blank, *text = report.splitlines()
    assert subject.startswith("[WD-2025-0001] ")
    assert blank == ""
    assert "Please repair the line and quote our reference WD-2025-0001" in "\n".join(text)
    variables = helpdesk.environment(0)
    assert variables["WATCHDOG_EVENT"] == "ticket_open"
    assert variables["WATCHDOG_AUDIENCE"] == "ticket"
    assert variables["WATCHDOG_REFERENCE"] == "WD-2025-0001"
    assert variables["WATCHDOG_KIND"] == "isp"
    assert variables["WATCHDOG_STARTED_AT"] == "2025-03-01T13:00:10+01:00"
    assert variables["WATCHDOG_ENDED_AT"] == ""
    assert variables["WATCHDOG_FOLDED"] == "0"
    assert variables["WATCHDOG_SUBJECT"] == subject


def test_notify_test_runs_the_program(
    config: Config, store: Store, sms: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        assert main(["notify-test", "--config", str(config.source), "--channel", "sms"]) == 0
    finally:
        structlog.reset_defaults()  # notify-test configures logging for its process
    assert capsys.readouterr().out == "sms: ok — queued as SMS-0\n"
    assert sms.environment(0)["WATCHDOG_EVENT"] == "test"
    (context,) = query(store, "SELECT context FROM outbox WHERE event = 'test'")
    assert json.loads(context[0])["channel"] == "sms"


def example_block(table: str) -> str:
    """The commented ``[[table]]`` block of config/watchdog.toml, uncommented (its ``## ``
    lines, which explain, left out)."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"# [[{table}]]")))
    block = []
    for line in lines[start:]:
        if line.startswith("##"):
            continue
        if not line.startswith("# "):
            break
        block.append(line[2:])
    return "\n".join(block) + "\n"


@pytest.mark.parametrize("table", ["notify.command", "tickets.command"])
def test_the_example_config_shows_every_key_with_its_default(tmp_path: Path, table: str) -> None:
    example = load_config(write(tmp_path, MINIMAL + example_block(table)))
    section, key = table.split(".")
    (entry,) = getattr(getattr(example, section), key)
    shown = {line.split("=")[0].strip() for line in example_block(table).splitlines()[1:]}
    assert shown == {f.name for f in dataclasses.fields(entry)}
    bare = load_config(write(tmp_path, MINIMAL + f'[[{table}]]\nname = "x"\nargv = ["x"]\n'))
    (default,) = getattr(getattr(bare, section), key)
    assert (entry.body, entry.environment, entry.timeout) == (
        default.body, default.environment, default.timeout)
