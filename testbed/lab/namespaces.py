"""The lab's namespaces on the host: running ``ip``/``nft`` commands, listing, sweeping.

Names are ``wd-<pid>-<n>-office|router|internet``. Starting a lab first deletes the ``wd-<pid>-*``
namespaces (and kills the processes left inside them) of processes that no longer exist: the
remains of a run that was killed before its finalizers ran. Labs of live processes are left alone,
so several engineers can run the end-to-end tests at the same time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

NAME_PREFIX = "wd-"
# How long close() lets a process exit on SIGTERM before it sends SIGKILL.
TERMINATE_GRACE = 3.0
# Timeout of every ip/nft/sysctl command the lab runs itself.
COMMAND_TIMEOUT = 10.0

_NAME_PATTERN = re.compile(r"^wd-(\d+)-")
_WORKDIR_PATTERN = re.compile(r"^wd-(\d+)-\d+-\w+$")


class LabError(RuntimeError):
    """The lab could not be built, changed or torn down; the message names the command and why."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_command(argv: Sequence[str], *, input_text: str | None = None, check: bool = True) -> str:
    """Run one of the lab's own commands; raise ``LabError`` with its stderr when it fails."""
    try:
        done = subprocess.run(
            list(argv), input=input_text, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LabError(f"{' '.join(argv)}: could not run ({error})") from error
    if check and done.returncode != 0:
        script = f" with input:\n{input_text}" if input_text else ""
        raise LabError(f"{' '.join(argv)} failed ({done.returncode}): "
                       f"{done.stderr.strip() or done.stdout.strip()}{script}")
    return done.stdout


def list_namespaces() -> list[str]:
    """Names of all network namespaces ``ip netns`` knows about (the host's whole list)."""
    output = run_command(["ip", "netns", "list"])
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def sweep_stale_namespaces() -> list[str]:
    """Delete ``wd-<pid>-*`` namespaces whose process is gone, killing what still runs in them,
    and their ``wd-<pid>-<n>-*`` work directories in the temporary directory.

    Returns the namespace names deleted. Those of live processes and names of another shape are
    kept.
    """
    swept: list[str] = []
    for name in list_namespaces():
        match = _NAME_PATTERN.match(name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        kill_namespace_processes(name)
        with contextlib.suppress(LabError):
            run_command(["ip", "netns", "delete", name])
            swept.append(name)
    for workdir in Path(tempfile.gettempdir()).glob("wd-*-*-*"):
        match = _WORKDIR_PATTERN.match(workdir.name)
        if match and workdir.is_dir() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(workdir, ignore_errors=True)
    return swept


def kill_namespace_processes(name: str) -> None:
    """SIGKILL every process inside namespace ``name`` (only ever one of the lab's) and wait."""
    try:
        pids = [int(pid) for pid in run_command(["ip", "netns", "pids", name]).split()]
    except LabError:
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + TERMINATE_GRACE
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _running(pid)]
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an orphan's reaper may take its time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def lab_available() -> str | None:
    """``None`` when this process can build a lab, else why not (the e2e tests skip with it)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "needs root for network namespaces"
    try:
        subprocess.run(["ip", "netns", "list"], capture_output=True, check=True,
                       timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return "needs root for network namespaces"
    return None

