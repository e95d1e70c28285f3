"""A local program as a transport: one run of an argv, the message on its standard input.

``run_program(settings, text, fields)`` starts ``settings.argv`` without a shell (each item
is one argument, nothing is expanded), with ``text`` on its standard input and ``fields`` as
environment variables, and waits for it at most ``settings.timeout`` seconds. Its exit status
is the verdict, as sendmail and the mail delivery agents agreed long ago (sysexits.h):

- 0: delivered. The first line(s) of its output are the proof (``ProgramReceipt.reply``).
- 75 (EX_TEMPFAIL): not now; the outbox retries with backoff (the modem is busy, the queue
  is locked).
- any other status: refused for good (a bad number, a broken script); the message fails with
  the program's own words in the outbox's last error, for a person to fix.

A program still running at the timeout is stopped with its whole process group (SIGTERM, then
SIGKILL ``KILL_GRACE`` seconds later): it runs in a session of its own so that a shell
script's children go with it. That, and a program stopped by a signal from outside (the
service stopping, the out-of-memory killer), is a transient failure: the next attempt may
finish. A program that cannot be started (not found, not executable) is permanent.

The environment is built, not inherited: the variables a program needs to run (``PATH``,
``HOME``, the locale, ``TZ``), the configured ``environment``, then ``fields``. The daemon's
own environment, where ``password_env`` and ``token_env`` secrets live, never reaches it. Of
its output, at most ``OUTPUT_LIMIT`` bytes per stream are kept (the rest is read and
dropped), so a chatty program costs neither memory nor a blocked pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Final

from watchdog.channels.errors import DeliveryError, quote

#: The exit status that asks for a later retry (sysexits.h EX_TEMPFAIL).
EX_TEMPFAIL: Final = 75
#: Bytes kept of each of the program's output streams.
OUTPUT_LIMIT: Final = 4096
#: Seconds between SIGTERM and SIGKILL when a program overruns its timeout.
KILL_GRACE: Final = 2.0
#: Seconds to wait for the output once the program has ended: a child it left running may
#: hold the pipe open, and nobody should wait for that.
DRAIN_WAIT: Final = 1.0
#: The daemon's variables a program gets, when they are set: what it needs to run and speak.
PASSED_THROUGH: Final = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
_READ_CHUNK: Final = 4096


@dataclass(frozen=True)
class ProgramSettings:
    """What to run: ``argv`` (argv[0] a full path or a name found on ``PATH``), ``timeout``
    in seconds, and ``environment``: variables added for every run."""

    argv: Sequence[str]
    timeout: float
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.argv:
            raise ValueError("argv must name a program")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {self.timeout}")


@dataclass(frozen=True)
class ProgramReceipt:
    """A program that took the message: ``server`` is its argv[0], ``reply`` the start of what
    it printed (standard output, else standard error) on one bounded line, or "exit 0" when
    it printed nothing."""

    server: str
    reply: str


def run_program(
    settings: ProgramSettings, text: str, fields: Mapping[str, str]
) -> ProgramReceipt:
    """Run ``settings.argv`` once with ``text`` (UTF-8) on stdin and ``fields`` in its
    environment.

    Returns the receipt when it exits with 0. Raises ``DeliveryError``: transient for exit
    75, a timeout or death by a signal; permanent for any other exit status and for a program
    that cannot be started. Reasons name the program by its argv[0] only (the other arguments
    may be phone numbers or keys) and quote the start of its output; the error's ``server``
    is argv[0].
    """
    program = settings.argv[0]
    environment = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    environment.setdefault("PATH", os.defpath)
    environment.update(settings.environment)
    environment.update(fields)
    # The message through a file, not a pipe: a program that never reads its input cannot
    # block us, and one that opens /dev/stdin by name gets a real, seekable file.
    with tempfile.TemporaryFile() as message:
        message.write(text.encode("utf-8"))
        message.seek(0)
        try:
            process = subprocess.Popen(
                list(settings.argv), stdin=message, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=environment, start_new_session=True,
            )
        except FileNotFoundError:
            raise DeliveryError(
                f"the program {program} was not found; install it or give its full path as "
                "argv[0]", permanent=True, server=program) from None
        except PermissionError:
            raise DeliveryError(
                f"the program {program} cannot be run (permission denied); make it executable "
                "by the service's user", permanent=True, server=program) from None
        except OSError as error:
            raise DeliveryError(f"the program {program} cannot be run ({error.strerror})",
                                permanent=True, server=program) from None
        assert process.stdout is not None and process.stderr is not None
        output, errors = _Head(process.stdout), _Head(process.stderr)
        try:
            status: int | None = process.wait(settings.timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            status = None
        output.join()
        errors.join()
    if status is None:
        raise DeliveryError(
            f"the program {program} did not finish within {settings.timeout:g} s and was "
            f"stopped{_said(errors, output)}; it will be run again later",
            permanent=False, server=program)
    if status == 0:
        said = quote(output.text() or errors.text())
        return ProgramReceipt(server=program, reply=said or "exit 0")
    if status == EX_TEMPFAIL:
        raise DeliveryError(
            f"the program {program} asked to be run again later (exit {EX_TEMPFAIL})"
            f"{_said(errors, output)}", permanent=False, server=program)
    if status < 0:
        name = _signal_name(-status)
        raise DeliveryError(
            f"the program {program} was stopped by {name}{_said(errors, output)}; it will be "
            "run again later", permanent=False, server=program)
    raise DeliveryError(
        f"the program {program} failed with exit status {status}{_said(errors, output)}; fix "
        f"it, or make it exit with {EX_TEMPFAIL} when a later try can succeed",
        permanent=True, server=program)


class _Head:
    """Reads a stream to its end in a thread of its own, keeping its first ``OUTPUT_LIMIT``
    bytes: the pipe never fills, so the program never blocks on writing."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._kept = bytearray()
        self._thread = threading.Thread(target=self._read, name="program-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with self._stream:
            while chunk := self._stream.read(_READ_CHUNK):
                room = OUTPUT_LIMIT - len(self._kept)
                if room > 0:
                    self._kept += chunk[:room]

    def join(self) -> None:
        self._thread.join(DRAIN_WAIT)

    def text(self) -> str:
        return bytes(self._kept).decode("utf-8", errors="replace").strip()


def _said(*streams: _Head) -> str:
    """": <the start of the first stream that said something>", or nothing."""
    for stream in streams:
        words = quote(stream.text())
        if words:
            return f": {words}"
    return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the program and everything it started: SIGTERM to its process group, a grace
    period for the program to tidy up (a modem left half-way through a command), then SIGKILL
    to whatever is left of the group."""
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE)
    _signal_group(process, signal.SIGKILL)
    # A process stuck in the kernel (a modem's driver) may outlive even SIGKILL for a while:
    # the channel does not wait for it (subprocess reaps it later).
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(KILL_GRACE)


def _signal_group(process: subprocess.Popen[bytes], signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signal_number)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
