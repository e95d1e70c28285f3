"""The real daemon in the lab, and waiting on its database: shared by tests/e2e and bench/.

``LabDaemon`` starts ``.venv/bin/watchdog run --config CFG`` in the lab's office namespace with
its stdout and stderr in a file per run (shown when a wait fails), and stops it with SIGTERM or
SIGKILL. Everything is judged from the SQLite database the daemon writes, read with the
project's own read-only reader while the daemon runs: ``poll_until`` re-reads it every
``POLL_INTERVAL`` until a check returns something, and says what it waited for, what it last
saw and what the daemon printed when the deadline passes. The only deliberate wait is
``LabDaemon.hold``, which lets a fault last while it keeps watching the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from tests.e2e.lab import GATEWAY_ADDRESS, REPO, Lab
from watchdog.channels.smtp import make_message_id
from watchdog.config import Config, load_config
from watchdog.errors import DatabaseError
from watchdog.store.reader import OutageRow, StatusData, connect, read_outages, read_status
from watchdog.store.timetext import from_text
from watchdog.vocabulary import LinkState

WATCHDOG = REPO / ".venv" / "bin" / "watchdog"
# How often a wait re-reads the database (a read costs ~1 ms).
POLL_INTERVAL = 0.05
# How long stop() waits for the daemon to exit after SIGTERM before it gives up.
STOP_TIMEOUT = 15.0
# Lines of the daemon's output shown when a wait fails.
OUTPUT_TAIL = 40
# Variables that would make the daemon read another config or database than the one given.
_ENV_DROPPED = ("WATCHDOG_CONFIG", "WATCHDOG_DATABASE", "WATCHDOG_DEBUG")

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A wait on the database passed its deadline; the message says what was expected and seen."""


@dataclass(frozen=True, slots=True)
class Seen(Generic[T]):
    """What a wait found, and the wall-clock instant (aware UTC) right after the read saw it."""

    value: T
    at: datetime


@dataclass(frozen=True, slots=True)
class Interval:
    """One row of ``state_interval`` (``ended_at`` None: it holds now)."""

    id: int
    state: LinkState
    cause: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _environment() -> dict[str, str]:
    """This process's environment without what would redirect the daemon or the CLI."""
    return {key: value for key, value in os.environ.items() if key not in _ENV_DROPPED}


def read_intervals(database: Path) -> list[Interval]:
    """Every state interval, oldest first (the reader has no query for the whole timeline)."""
    with connect(database) as connection:
        rows = connection.execute(
            "SELECT id, state, cause, started_at, ended_at FROM state_interval "
            "ORDER BY started_at, id"
        ).fetchall()
    return [
        Interval(row[0], row[1], row[2], from_text(row[3]),
                 None if row[4] is None else from_text(row[4]))
        for row in rows
    ]


def find_outage(
    database: Path,
    *,
    ended: bool = False,
    outage_id: int | None = None,
    exclude: Collection[int] = (),
) -> OutageRow | None:
    """The latest outage (``outage_id``: that one) not in ``exclude``, once it exists and, with
    ``ended``, once it has an ``ended_at``; else None."""
    for outage in reversed(read_outages(database, None)):
        if outage.id in exclude or (outage_id is not None and outage.id != outage_id):
            continue
        if ended and outage.ended_at is None:
            return None
        return outage
    return None


def poll_until(
    check: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = POLL_INTERVAL,
    guard: Callable[[], None] | None = None,
    describe: Callable[[], str] | None = None,
) -> Seen[T]:
    """Call ``check`` every ``interval`` s until it returns something other than None (or
    False); return it with the instant right after that call.

    A ``DatabaseError`` (the file not created yet, the tables not migrated yet) counts as
    "not yet". ``guard`` runs between reads and may raise to give up early (the daemon died).
    At the deadline ``WaitTimeout`` names ``what``, the last database error and ``describe()``
    (what the database holds, what the daemon printed).
    """
    deadline = time.monotonic() + timeout
    last_error: str | None = None
    while True:
        try:
            value = check()
        except DatabaseError as error:
            value, last_error = None, str(error)
        if value is not None and value is not False:
            return Seen(value, utcnow())
        if guard is not None:
            guard()
        if time.monotonic() >= deadline:
            lines = [f"timed out after {timeout:.1f} s waiting for {what}"]
            if last_error:
                lines.append(f"last database error: {last_error}")
            if describe is not None:
                lines.append(describe())
            raise WaitTimeout("\n".join(lines))
        time.sleep(interval)


def ping_loss_percent(database: Path, since: datetime) -> tuple[int, float | None]:
    """(echo requests sent, percent lost) to the internet ping targets since ``since``, from
    the raw samples the daemon recorded (None when nothing was sent)."""
    with connect(database) as connection:
        sent, received = connection.execute(
            "SELECT COALESCE(SUM(s.sent), 0), COALESCE(SUM(s.received), 0) FROM sample s "
            "JOIN target t ON t.id = s.target_id WHERE t.kind = 'ping' AND s.at_ms >= ?",
            (int(since.timestamp() * 1000),),
        ).fetchone()
    return int(sent), (100.0 * (sent - received) / sent if sent else None)


def run_cli(lab: Lab, *args: str | Path, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """``watchdog ARGS...`` run to completion in the office namespace (text output captured)."""
    return lab.office_run([WATCHDOG, *args], env=_environment(), timeout=timeout)


def describe_database(database: Path) -> str:
    """The timeline and outages in a few lines, for a failing wait's message."""
    lines = ["intervals:"]
    lines += [f"  {i.id} {i.state:<9} {i.started_at:%H:%M:%S.%f} -> "
              f"{'open' if i.ended_at is None else f'{i.ended_at:%H:%M:%S.%f}'}  {i.cause}"
              for i in read_intervals(database)]
    lines.append("outages:")
    lines += [f"  {o.id} {o.kind} {o.started_at:%H:%M:%S.%f} -> "
              f"{'open' if o.ended_at is None else f'{o.ended_at:%H:%M:%S.%f}'} "
              f"unobserved {o.unobserved_seconds:.1f} s  {o.cause}"
              for o in read_outages(database, None)]
    return "\n".join(lines)


class DaemonExited(AssertionError):
    """The daemon stopped while a test was waiting for it to record something."""


class LabDaemon:
    """``watchdog run --config CONFIG`` in the lab's office namespace.

    Start it with ``start()`` (again after a stop: each run logs to its own ``daemon-N.log``
    next to the config), stop it with ``stop()`` (SIGTERM, returns the exit code) or
    ``kill()`` (SIGKILL). Use it as a context manager so a test that fails midway never leaves
    it running; the lab's own teardown would stop it too.
    """

    def __init__(self, lab: Lab, config: Path) -> None:
        self.lab = lab
        self.config = Path(config)
        self.settings: Config = load_config(self.config)
        self.database: Path = self.settings.storage.database
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.logs: list[Path] = []

    def __enter__(self) -> LabDaemon:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> LabDaemon:
        """Start the daemon (it must not be running); returns self at once, before it is up."""
        if self.running:
            raise RuntimeError("the daemon is already running")
        self.runs += 1
        log = self.config.parent / f"daemon-{self.runs}.log"
        self.logs.append(log)
        with open(log, "wb") as output:
            self.process = self.lab.office_exec(
                [WATCHDOG, "run", "--config", self.config],
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                env=_environment(),
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the daemon was never started")
        return self.process.pid

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait for the exit, return the exit code (0 after a clean stop)."""
        if self.process is None:
            raise RuntimeError("the daemon was never started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the daemon did not exit within {timeout:.0f} s of SIGTERM\n"
                                 f"{self.output()}") from None

    def kill(self) -> int:
        """SIGKILL (no clean shutdown), wait for the exit, return the exit code (-9)."""
        if self.process is None:
            raise RuntimeError("the daemon was never started")
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()

    def close(self) -> None:
        """Stop the daemon if it still runs (SIGKILL if SIGTERM is not enough)."""
        if self.running:
            with contextlib.suppress(AssertionError):
                self.stop()

    def output(self, tail: int = OUTPUT_TAIL) -> str:
        """The last ``tail`` lines the daemon printed, per run."""
        parts = []
        for number, log in enumerate(self.logs, start=1):
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            if len(lines) > tail:
                lines = [f"... {len(lines) - tail} earlier lines ...", *lines[-tail:]]
            parts.append(f"--- daemon run {number} ({log}) ---\n" + "\n".join(lines))
        return "\n".join(parts) or "(the daemon printed nothing)"

    # -- waiting on the database ---------------------------------------------------------------

    def _guard(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise DaemonExited(f"the daemon exited with {self.process.returncode} while we "
                               f"waited for it\n{self.describe()}")

    def describe(self) -> str:
        """The database's timeline and outages and the daemon's output, for a failure message."""
        try:
            recorded = describe_database(self.database)
        except DatabaseError as error:
            recorded = f"(database not readable: {error})"
        return f"{recorded}\n{self.output()}"

    def poll(self, check: Callable[[], T | None], *, timeout: float, what: str,
             also: Callable[[], str] | None = None) -> Seen[T]:
        """``poll_until`` with this daemon's database and output in the failure message (and
        ``also()``, say what the receivers got); fails at once if the daemon exits meanwhile."""
        def describe() -> str:
            return self.describe() if also is None else f"{also()}\n{self.describe()}"

        return poll_until(check, timeout=timeout, what=what, guard=self._guard,
                          describe=describe)

    def hold(self, until: datetime, *, unwanted: Callable[[], str | None]) -> None:
        """Let time pass until ``until`` (a deliberate wait), re-reading the database meanwhile:
        fails at once when ``unwanted()`` returns a message or the daemon exits."""
        while (left := (until - utcnow()).total_seconds()) > 0:
            self._guard()
            problem = unwanted()
            if problem:
                raise AssertionError(f"{problem}\n{self.describe()}")
            time.sleep(min(left, 10 * POLL_INTERVAL))

    def status(self) -> StatusData:
        """``read_status`` now."""
        return read_status(self.database, utcnow())

    def outages(self) -> list[OutageRow]:
        return read_outages(self.database, None)

    def intervals(self) -> list[Interval]:
        return read_intervals(self.database)

    def wait_for_state(self, state: LinkState, *, timeout: float = 20.0) -> StatusData:
        """Wait until ``watchdog status`` would say ``state`` with this run of the daemon
        running (the heartbeat carries its pid: a killed run's heartbeat still looks alive for
        a few seconds, and its open interval with it)."""
        def check() -> StatusData | None:
            status = self.status()
            heartbeat = status.heartbeat
            ours = heartbeat is not None and heartbeat.running and heartbeat.pid == self.pid
            return status if ours and status.state == state else None

        return self.poll(check, timeout=timeout, what=f"the state {state!r}").value

    def wait_for_outage(
        self,
        *,
        ended: bool = False,
        outage_id: int | None = None,
        exclude: Collection[int] = (),
        timeout: float = 20.0,
    ) -> Seen[OutageRow]:
        """Wait until an outage (see ``find_outage``) is recorded, or has ended with ``ended``."""
        what = "an outage" if outage_id is None else f"outage {outage_id}"
        what += " to end" if ended else " to be recorded"
        return self.poll(
            lambda: find_outage(self.database, ended=ended, outage_id=outage_id,
                                exclude=exclude),
            timeout=timeout, what=what,
        )


# --- messages out of the lab: two mail servers "on the internet", a webhook on the LAN ---------
#
# The ISP's and management's SMTP servers (tests/support/smtp_server.py) listen on their own
# addresses in the internet namespace, so a WAN cut makes them unreachable; the webhook receiver
# (tests/support/http_receiver.py) listens on the router's LAN address, which the office reaches
# while the WAN is cut. Each appends one JSON line per message it accepts; the readers below
# turn those lines into records. ``alert_overrides`` is the matching config for
# ``lab.write_config``.

ISP_SMTP_ADDRESS = "203.0.113.25"
MANAGEMENT_SMTP_ADDRESS = "203.0.113.26"
SMTP_PORT = 25
LAN_HOOK_ADDRESS = GATEWAY_ADDRESS
LAN_HOOK_PORT = 8080
LAN_HOOK_PATH = "/hook"
SENDER = "watchdog@office.example"
ISP_MAILBOX = "support@isp.example"
MANAGEMENT_MAILBOX = "management@office.example"
# Channel (and relay) names in the config alert_overrides writes.
ISP_CHANNEL = "isp-helpdesk"
MANAGEMENT_CHANNEL = "management-mail"
HOOK_CHANNEL = "lan-hook"
ISP_RELAY = "isp-relay"
MANAGEMENT_RELAY = "management-relay"
ALERT_EVENTS = ("outage_started", "ticket_opened", "recovered")
SMTP_SCRIPT = REPO / "tests" / "support" / "smtp_server.py"
RECEIVER_SCRIPT = REPO / "tests" / "support" / "http_receiver.py"
# A webhook receiver that answers every request to PATH after DELAY seconds (argv: ADDRESS PORT
# LOG PATH DELAY); the script itself has no option for that.
_SLOW_RECEIVER = r"""
import signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from http_receiver import HttpReceiver, Reply
receiver = HttpReceiver(sys.argv[2], int(sys.argv[3]), log=Path(sys.argv[4]))
receiver.script(sys.argv[5], Reply(json={"ok": True}, delay=float(sys.argv[6])))

def stop(*_):
    raise SystemExit(0)

signal.signal(signal.SIGTERM, stop)
try:
    receiver.serve_forever()
finally:
    receiver.stop()
"""


def alert_overrides(
    *,
    open_after: str = "5s",
    merge_within: str | None = None,
    events: Collection[str] = ALERT_EVENTS,
    smtp_timeout: str | None = None,
    hook_timeout: str | None = None,
) -> dict[str, Any]:
    """Config sections for ``lab.write_config``: an ISP contract, the two mail relays (no TLS,
    in the lab), the ISP's helpdesk as email ticket backend, management's mailbox and the LAN
    webhook as notification channels for ``events``, and ``incidents.open_after`` (every
    outage kind) shortened so a ticket opens in seconds. ``None`` keeps a default."""
    incidents: dict[str, Any] = {
        "open_after": {"isp": open_after, "lan": open_after, "dns": open_after}}
    if merge_within is not None:
        incidents["merge_within"] = merge_within
    relays = [
        {"name": name, "host": host, "port": SMTP_PORT, "security": "none", "sender": SENDER}
        for name, host in ((ISP_RELAY, ISP_SMTP_ADDRESS),
                           (MANAGEMENT_RELAY, MANAGEMENT_SMTP_ADDRESS))
    ]
    hook: dict[str, Any] = {
        "name": HOOK_CHANNEL, "url": f"http://{LAN_HOOK_ADDRESS}:{LAN_HOOK_PORT}{LAN_HOOK_PATH}",
        "events": list(events)}
    if smtp_timeout is not None:
        for relay in relays:
            relay["timeout"] = smtp_timeout
    if hook_timeout is not None:
        hook["timeout"] = hook_timeout
    return {
        "isp": {"name": "Lab Fibre", "line_id": "FTTH-0042", "customer_ref": "C-1234",
                "gtr": "4h"},
        "incidents": incidents,
        "smtp": relays,
        "tickets": {"email": [{"name": ISP_CHANNEL, "smtp": ISP_RELAY, "to": [ISP_MAILBOX]}]},
        "notify": {
            "email": [{"name": MANAGEMENT_CHANNEL, "smtp": MANAGEMENT_RELAY,
                       "to": [MANAGEMENT_MAILBOX], "events": list(events)}],
            "webhook": [hook],
        },
    }


def message_id_of(key: str, sender: str = SENDER) -> str:
    """The Message-ID the daemon gives the email of outbox key ``key``."""
    return make_message_id(key, sender.rpartition("@")[2])


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One message a lab SMTP server accepted (a line of its log)."""

    at: datetime
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    in_reply_to: str | None
    body: str


@dataclass(frozen=True, slots=True)
class HookRecord:
    """One request the LAN webhook receiver got (a line of its log)."""

    at: datetime
    key: str | None
    event: str | None
    payload: dict[str, Any]


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a receiver's log (none yet: []); a last line still being written is
    left for the next read."""
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def mail_records(lines: list[dict[str, Any]]) -> list[MailRecord]:
    return [MailRecord(at=datetime.fromisoformat(line["at"]), message_id=line["message_id"],
                       subject=line["subject"] or "", recipients=tuple(line["to"]),
                       in_reply_to=line.get("in_reply_to"), body=line.get("body") or "")
            for line in lines]


def hook_records(lines: list[dict[str, Any]]) -> list[HookRecord]:
    records: list[HookRecord] = []
    for line in lines:
        headers = {name.lower(): value for name, value in line["headers"].items()}
        try:
            payload = json.loads(line.get("body") or "null")
        except ValueError:
            payload = None
        payload = payload if isinstance(payload, dict) else {}
        records.append(HookRecord(at=datetime.fromisoformat(line["at"]),
                                  key=headers.get("idempotency-key"),
                                  event=payload.get("event"), payload=payload))
    return records


class AlertServers:
    """The ISP's and management's SMTP servers on the lab's internet, the webhook on its LAN.

    ``smtp_delay``/``hook_delay``: each server holds its answer that many seconds after it
    recorded (and logged) the message, so a test can kill the daemon with a message in flight.
    Processes are stopped by ``stop()`` or, at the latest, by the lab's ``close()``.
    """

    def __init__(self, lab: Lab, workdir: Path, *, smtp_delay: float = 0.0,
                 hook_delay: float = 0.0) -> None:
        self.lab = lab
        self.workdir = Path(workdir)
        self.smtp_delay = smtp_delay
        self.hook_delay = hook_delay
        self.isp_log = self.workdir / "isp-smtp.jsonl"
        self.management_log = self.workdir / "management-smtp.jsonl"
        self.hook_log = self.workdir / "lan-hook.jsonl"
        self._smtp: list[subprocess.Popen[bytes]] = []
        self._hook: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AlertServers:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, *, hook: bool = True) -> AlertServers:
        """Add the mail servers' addresses to the internet, start them and (``hook``) the
        webhook receiver; return once all accept connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for address, log in ((ISP_SMTP_ADDRESS, self.isp_log),
                             (MANAGEMENT_SMTP_ADDRESS, self.management_log)):
            self.lab.add_target(address)
            argv: list[str | Path] = [self.lab.python, SMTP_SCRIPT, "--listen",
                                      f"{address}:{SMTP_PORT}", "--log", log]
            if self.smtp_delay:
                argv += ["--data-delay", str(self.smtp_delay)]
            self._smtp.append(self.lab.start_listener(
                "internet", argv, address, SMTP_PORT,
                output=self.workdir / f"smtp-{address}.out"))
        if hook:
            self.start_hook()
        return self

    def start_hook(self) -> None:
        """Start the LAN webhook receiver (it must not be running)."""
        if self._hook is not None and self._hook.poll() is None:
            raise RuntimeError("the webhook receiver already runs")
        argv: list[str | Path]
        if self.hook_delay:
            argv = [self.lab.python, "-c", _SLOW_RECEIVER, RECEIVER_SCRIPT.parent,
                    LAN_HOOK_ADDRESS, str(LAN_HOOK_PORT), self.hook_log, LAN_HOOK_PATH,
                    str(self.hook_delay)]
        else:
            argv = [self.lab.python, RECEIVER_SCRIPT, "--listen",
                    f"{LAN_HOOK_ADDRESS}:{LAN_HOOK_PORT}", "--log", self.hook_log]
        self._hook = self.lab.start_listener("router", argv, LAN_HOOK_ADDRESS, LAN_HOOK_PORT,
                                             output=self.workdir / "lan-hook.out")

    def stop_hook(self) -> None:
        """Stop the webhook receiver: from then on the office's connections are refused."""
        if self._hook is not None:
            _terminate(self._hook)
            self._hook = None

    def stop(self) -> None:
        self.stop_hook()
        for process in self._smtp:
            _terminate(process)
        self._smtp.clear()

    def isp_mail(self) -> list[MailRecord]:
        return mail_records(read_json_lines(self.isp_log))

    def management_mail(self) -> list[MailRecord]:
        return mail_records(read_json_lines(self.management_log))

    def hooks(self) -> list[HookRecord]:
        return hook_records(read_json_lines(self.hook_log))

    def describe(self) -> str:
        """What each server received, for a failure message."""
        lines = ["ISP mail:"]
        lines += [f"  {m.at:%H:%M:%S.%f} {m.message_id} {m.subject}" for m in self.isp_mail()]
        lines.append("management mail:")
        lines += [f"  {m.at:%H:%M:%S.%f} {m.message_id} {m.subject}"
                  for m in self.management_mail()]
        lines.append("LAN webhook:")
        lines += [f"  {h.at:%H:%M:%S.%f} {h.key} {h.event}" for h in self.hooks()]
        return "\n".join(lines)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of the daemon's outbox."""

    id: int
    key: str
    channel: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    incident_id: int | None
    message_id: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One row of the daemon's incident table (its ticket once ``reference`` is set)."""

    id: int
    kind: str
    reference: str | None
    started_at: datetime
    ended_at: datetime | None
    ticket_opened_at: datetime | None
    cuts: int


def _time_or_none(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


def read_outbox_rows(database: Path) -> list[OutboxRow]:
    """Every outbox row, oldest first (none while the tables do not exist yet)."""
    with connect(database) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone() \
                is None:
            return []
        rows = connection.execute(
            "SELECT id, key, channel, event, status, attempts, last_error, incident_id, "
            "message_id, created_at, sent_at FROM outbox ORDER BY id").fetchall()
    return [OutboxRow(id=r[0], key=r[1], channel=r[2], event=r[3], status=r[4], attempts=r[5],
                      last_error=r[6], incident_id=r[7], message_id=r[8],
                      created_at=from_text(r[9]), sent_at=_time_or_none(r[10]))
            for r in rows]


def read_incidents(database: Path) -> list[IncidentRow]:
    """Every incident, oldest first (none while the tables do not exist yet)."""
    with connect(database) as connection:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'incident'") \
                .fetchone() is None:
            return []
        rows = connection.execute(
            "SELECT id, kind, reference, started_at, ended_at, ticket_opened_at, cuts "
            "FROM incident ORDER BY started_at, id").fetchall()
    return [IncidentRow(id=r[0], kind=r[1], reference=r[2], started_at=from_text(r[3]),
                        ended_at=_time_or_none(r[4]), ticket_opened_at=_time_or_none(r[5]),
                        cuts=r[6])
            for r in rows]


def describe_outbox(database: Path) -> str:
    """The outbox in a few lines, for a failing wait's message."""
    try:
        rows = read_outbox_rows(database)
    except DatabaseError as error:
        return f"outbox: (not readable: {error})"
    return "\n".join(["outbox:", *(
        f"  {row.id} {row.channel:<16} {row.event:<15} {row.status:<10} attempts {row.attempts}"
        f"  {row.last_error or ''}" for row in rows)])


# --- what arrived against what the outbox holds --------------------------------------------
#
# Pure functions of the outbox rows and the ids the receivers logged (no namespaces): shared by
# the crash tests and bench/alerts.py, tested in tests/bench/test_alerts_harness.py.

WEBHOOK_CHANNELS = frozenset({HOOK_CHANNEL})
# Statuses after which the outbox will not try a row again.
FINAL_STATUSES = frozenset({"sent", "superseded"})

# (channel, the outage a message is about, event, cut): two delivered rows with the same
# identity are one message delivered twice under two ids.
Identity = tuple[str, object, str, object]


def delivery_id(row: OutboxRow, webhook_channels: Collection[str] = WEBHOOK_CHANNELS) -> str:
    """What a receiver sees of ``row``: the Idempotency-Key of a webhook, else the
    Message-ID of the email."""
    return row.key if row.channel in webhook_channels else message_id_of(row.key)


def cut_of(key: str) -> int:
    """Which cut of its incident an incident message is about: the number in ``cut:N``,
    ``recovered:N``, ``close:N`` keys, 1 for the rest (``started``, ``ticket_open``, ...)."""
    for part in key.split(":")[2:]:
        if part.isdigit():
            return int(part)
    return 1


@dataclass(frozen=True, slots=True)
class DeliveryAudit:
    """The outbox against the receivers' logs.

    ``unsent``: rows the outbox still means to send (or gave up on): lost if the run is over.
    ``missing``: rows recorded as sent whose id never arrived: lost on the way.
    ``unexpected``: (channel, id) that arrived but match no row of that channel.
    ``redelivered``: (channel, id) → how many times it arrived, when more than once: the same
    message again, recognisable by its id (allowed for a message in flight at a crash).
    ``duplicates``: one message (same ``Identity``) delivered under several ids: the
    duplicates a receiver cannot recognise (must never happen).
    """

    rows: int
    delivered: int
    unsent: tuple[OutboxRow, ...]
    missing: tuple[OutboxRow, ...]
    unexpected: tuple[tuple[str, str], ...]
    redelivered: dict[tuple[str, str], int]
    duplicates: dict[Identity, tuple[str, ...]]

    @property
    def lost(self) -> int:
        return len(self.unsent) + len(self.missing)

    @property
    def redeliveries(self) -> int:
        """Extra arrivals of ids that had already arrived."""
        return sum(count - 1 for count in self.redelivered.values())

    @property
    def unrecognisable_duplicates(self) -> int:
        return sum(len(ids) - 1 for ids in self.duplicates.values())


def audit_deliveries(
    rows: Collection[OutboxRow],
    received: dict[str, list[str]],
    *,
    outage_of: Callable[[int | None], object] = lambda incident_id: incident_id,
    webhook_channels: Collection[str] = WEBHOOK_CHANNELS,
) -> DeliveryAudit:
    """Compare the outbox ``rows`` with ``received`` (channel → ids in arrival order).

    ``outage_of`` maps an incident id to the real outage it is about (the harness knows the
    cuts it made): two incidents for one outage then count as one message sent twice.
    """
    by_id: dict[tuple[str, str], OutboxRow] = {
        (row.channel, delivery_id(row, webhook_channels)): row for row in rows}
    arrivals: Counter[tuple[str, str]] = Counter(
        (channel, item) for channel, ids in received.items() for item in ids)
    unsent = tuple(row for row in rows if row.status not in FINAL_STATUSES)
    missing = tuple(row for row in rows if row.status == "sent"
                    and arrivals[(row.channel, delivery_id(row, webhook_channels))] == 0)
    unexpected = tuple(sorted(pair for pair in arrivals if pair not in by_id))
    redelivered = {pair: count for pair, count in arrivals.items() if count > 1}
    identities: dict[Identity, set[str]] = {}
    for pair in arrivals:
        row = by_id.get(pair)
        if row is None:
            continue
        identity: Identity = (
            (row.channel, outage_of(row.incident_id), row.event, cut_of(row.key))
            if row.incident_id is not None else (row.channel, None, row.event, row.key))
        identities.setdefault(identity, set()).add(pair[1])
    return DeliveryAudit(
        rows=len(rows),
        delivered=sum(1 for pair in arrivals if pair in by_id),
        unsent=unsent, missing=missing, unexpected=unexpected, redelivered=redelivered,
        duplicates={identity: tuple(sorted(ids)) for identity, ids in identities.items()
                    if len(ids) > 1},
    )


def received_ids(servers: AlertServers) -> dict[str, list[str]]:
    """Channel → the ids its receiver logged, in arrival order."""
    return {
        ISP_CHANNEL: [mail.message_id for mail in servers.isp_mail()],
        MANAGEMENT_CHANNEL: [mail.message_id for mail in servers.management_mail()],
        HOOK_CHANNEL: [hook.key or "" for hook in servers.hooks()],
    }
