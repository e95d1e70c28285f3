"""What the lab suites share: the channels' secrets in their config, restarting the daemon
and knowing it resumed, the CLI's output kept for the secret scan,
and the daemon's tracebacks counted."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from testbed.daemon.delivery_audit import FINAL_STATUSES, received_ids
from testbed.daemon.driver import LabDaemon, run_cli
from testbed.daemon.records import read_outbox_rows
from testbed.daemon.waiting import WaitTimeout
from testbed.lab import Lab
from testbed.leaks import HMAC_ENV, SECRETS, Leak, find_leaks, write_secret_files

TRACEBACK = "Traceback (most recent call last)"
# How long a restarted daemon may take to record its first cycle (imports, migrations).
RESUME_TIMEOUT = 30.0


def with_secrets(overrides: dict[str, Any], work: Path) -> dict[str, Any]:
    """``overrides`` (``alert_overrides``' sections) with the LAN webhook authenticated: a
    token from a file and an HMAC secret from the environment (set here, inherited by the
    daemon)."""
    files = write_secret_files(work / "secrets")
    os.environ[HMAC_ENV] = SECRETS["hmac_secret"]
    notify = dict(overrides["notify"])
    notify["webhook"] = [{**hook, "token_file": str(files["webhook_token"]),
                          "hmac_secret_env": HMAC_ENV} for hook in notify["webhook"]]
    return {**overrides, "notify": notify}


def resumed(daemon: LabDaemon, timeout: float = RESUME_TIMEOUT) -> bool:
    """Whether the running daemon has recorded a cycle of its own (its pid in the heartbeat)
    within ``timeout``."""
    def ours() -> bool:
        heartbeat = daemon.status().heartbeat
        return heartbeat is not None and heartbeat.running and heartbeat.pid == daemon.pid

    try:
        daemon.poll(ours, timeout=timeout, what="the restarted daemon's first cycle")
    except (WaitTimeout, AssertionError):
        return False
    return True


class Outputs:
    """Everything a suite captured from the watchdog, kept as files for the secret scan."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.paths: list[Path] = []

    def cli(self, lab: Lab, name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run ``watchdog ARGS`` in the office, keep what it printed as ``NAME.txt``."""
        done = run_cli(lab, *args)
        path = self.directory / f"{name}.txt"
        path.write_text(f"$ watchdog {' '.join(map(str, args))}\nexit {done.returncode}\n"
                        f"{done.stdout}{done.stderr}", encoding="utf-8")
        self.paths.append(path)
        return done

    def add(self, *paths: Path) -> None:
        self.paths.extend(paths)

    def leaks(self) -> list[Leak]:
        return find_leaks(self.paths)

    def tracebacks(self) -> int:
        return sum(path.read_text(encoding="utf-8", errors="replace").count(TRACEBACK)
                   for path in self.paths if path.is_file())


def inspect_cli(outputs: Outputs, lab: Lab, config: Path) -> None:
    """What a user would look at after the run: status, outages, tickets, the outbox."""
    for name, args in (("status", ("status",)), ("outages", ("outages",)),
                       ("tickets", ("tickets", "--all")), ("outbox", ("outbox", "--all")),
                       ("outbox-json", ("outbox", "--all", "--json")),
                       ("report", ("report",)), ("report-json", ("report", "--json"))):
        outputs.cli(lab, name, *args, "--config", str(config))
    for reference in _references(outputs.directory / "tickets.txt"):
        outputs.cli(lab, f"ticket-{reference}", "ticket", "show", reference, "--config",
                    str(config))


def _references(listing: Path) -> list[str]:
    """The ticket references ``watchdog tickets --all`` printed (``WD-2026-0001``...)."""
    import re

    text = listing.read_text(encoding="utf-8") if listing.exists() else ""
    return sorted(set(re.findall(r"\b[A-Z]+-\d{4}-\d{4}\b", text)))


def wait_quiet(daemon: LabDaemon, arrivals: Callable[[], int], *, quiet: float = 10.0,
               limit: float = 180.0, settled: frozenset[str] = FINAL_STATUSES | {"failed"}
               ) -> float:
    """Wait until no outbox row is left to try and ``arrivals()`` has not changed for
    ``quiet`` seconds (at most ``limit``); return how long it took."""
    began = time.monotonic()
    last_count, last_change = arrivals(), time.monotonic()
    while time.monotonic() - began < limit:
        time.sleep(0.5)
        count = arrivals()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        rows = read_outbox_rows(daemon.database)
        if all(row.status in settled for row in rows) and \
                time.monotonic() - last_change >= quiet:
            break
    return time.monotonic() - began


def count_arrivals(servers: Any) -> Callable[[], int]:
    """A function counting everything the alert servers received so far."""
    return lambda: sum(len(ids) for ids in received_ids(servers).values())
