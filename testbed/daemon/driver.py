"""The real daemon in the lab (``LabDaemon``), and the CLI run in the lab's office.

``LabDaemon`` starts ``.venv/bin/watchdog run --config CFG`` in the lab's office namespace with
its stdout and stderr in a file per run (shown when a wait fails), and stops it with SIGTERM or
SIGKILL. Everything is judged from the SQLite database the daemon writes (``records``), through
``waiting.poll_until``. The only deliberate wait is ``LabDaemon.hold``, which lets a fault last
while it keeps watching the database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path

from testbed import REPO
from testbed.daemon.records import (
    Interval,
    describe_database,
    find_outage,
    read_intervals,
)
from testbed.daemon.waiting import POLL_INTERVAL, Seen, T, poll_until, utcnow
from testbed.lab import Lab
from watchdog.config import Config, load_config
from watchdog.errors import DatabaseError
from watchdog.link.site import LinkView, site_state
from watchdog.store.reader import OutageRow, StatusData, read_outages, read_status
from watchdog.vocabulary import CAUSE_OTHER_PATH, DEFAULT_LINK, LinkState, SiteState

WATCHDOG = REPO / ".venv" / "bin" / "watchdog"
SERVICE_UNIT = REPO / "systemd" / "connectivity-watchdog.service"
# How long stop() waits for the daemon to exit after SIGTERM before it gives up.
STOP_TIMEOUT = 15.0
# Lines of the daemon's output shown when a wait fails.
OUTPUT_TAIL = 40
# Variables that would make the daemon read another config or database than the one given.
_ENV_DROPPED = ("WATCHDOG_CONFIG", "WATCHDOG_DATABASE", "WATCHDOG_DEBUG")


def _environment() -> dict[str, str]:
    """This process's environment without what would redirect the daemon or the CLI."""
    return {key: value for key, value in os.environ.items() if key not in _ENV_DROPPED}


def service_environment() -> dict[str, str]:
    """The ``Environment=`` the systemd unit gives the daemon (KEY=VALUE lines): the lab's
    daemon runs as the service does."""
    settings = {}
    for line in SERVICE_UNIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            settings[key] = value
    return settings


def run_cli(lab: Lab, *args: str | Path, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """``watchdog ARGS...`` run to completion in the office namespace (text output captured)."""
    return lab.office_run([WATCHDOG, *args], env=_environment(), timeout=timeout)


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
                env=_environment() | service_environment(),
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

    def status(self, link: str = DEFAULT_LINK) -> StatusData:
        """``read_status`` of ``link`` now."""
        return read_status(self.database, utcnow(), link=link)

    def site(self) -> SiteState:
        """The site's state now, from each link of the config as ``watchdog status`` reads
        it."""
        views = []
        for link in self.settings.links:
            status = self.status(link.name)
            views.append(LinkView(link.name, status.state, link.primary,
                                  other_path=status.cause_code == CAUSE_OTHER_PATH))
        return site_state(views)

    def wait_for_site(self, state: SiteState, *, timeout: float = 20.0) -> Seen[SiteState]:
        """Wait until the site's state (``site``) is ``state``."""
        return self.poll(lambda: state if self.site() == state else None, timeout=timeout,
                         what=f"the site's state {state!r}")

    def outages(self) -> list[OutageRow]:
        return read_outages(self.database, None)

    def intervals(self) -> list[Interval]:
        return read_intervals(self.database)

    def wait_for_state(self, state: LinkState, *, timeout: float = 20.0,
                       link: str = DEFAULT_LINK) -> StatusData:
        """Wait until ``watchdog status`` would say ``state`` of ``link`` with this run of the
        daemon running (the heartbeat carries its pid: a killed run's heartbeat still looks
        alive for a few seconds, and its open interval with it)."""
        def check() -> StatusData | None:
            status = self.status(link)
            heartbeat = status.heartbeat
            ours = heartbeat is not None and heartbeat.running and heartbeat.pid == self.pid
            return status if ours and status.state == state else None

        return self.poll(check, timeout=timeout, what=f"the state {state!r} of {link}").value

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
