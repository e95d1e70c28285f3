"""Failures of the daemon's jobs said once, not once a run.

A database on a full or read-only file system fails every cycle (each second) and the minute
jobs (maintenance, the clock check) alike, with the same message, until it is freed. One
error line says so; its repeats, from that job or any other, are debug lines; the first run
of a job that succeeds again says, at info, how many of its runs failed. A different error
is an error line anew.
"""

from __future__ import annotations

import threading
from typing import Any

from watchdog.logs import get_logger

log = get_logger("watchdog.daemon")


class FailureLog:
    """Which jobs are failing, and with what (thread-safe: the jobs run side by side)."""

    def __init__(self) -> None:
        # Per failing job (a name such as "cycle:default"): its error's text, its failed runs.
        self._failing: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()

    def failed(self, job: str, event: str, error: Exception, **fields: Any) -> None:
        """Log ``job``'s failed run as ``event``: an error line unless a job is already
        failing with the same message (then a debug line ``<event>_again``)."""
        text = str(error)
        with self._lock:
            said = any(logged == text for logged, _ in self._failing.values())
            logged, count = self._failing.get(job, ("", 0))
            count = count + 1 if logged == text else 1
            self._failing[job] = (text, count)
        if said:
            log.debug(f"{event}_again", error=text, failed_runs=count, **fields)
        else:
            log.error(event, error=text, error_type=type(error).__name__, **fields)

    def succeeded(self, job: str, event: str, **fields: Any) -> None:
        """Note that ``job`` ran; if it was failing, log ``event`` (info) with how many of its
        runs failed and the error they had."""
        with self._lock:
            logged, count = self._failing.pop(job, ("", 0))
        if count:
            log.info(event, failed_runs=count, error=logged, **fields)
