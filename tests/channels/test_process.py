"""The program transport with real programs: shell scripts written by each test.

What a program reads and sees, what its exit status means, how it is stopped at its timeout
(its children with it), and what of its output ends up in a record.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from watchdog.channels.errors import DeliveryError
from watchdog.channels.process import (
    EX_TEMPFAIL,
    KILL_GRACE,
    OUTPUT_LIMIT,
    ProgramSettings,
    run_program,
)

# Seconds a test that expects a timeout gives the program, and what it allows beyond it.
TIMEOUT = 0.5
SLACK = 1.5


def script(tmp_path: Path, body: str, name: str = "program") -> str:
    """An executable /bin/sh script holding ``body``; returns its path."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it does not)."""
    for _ in range(50):  # a killed process may take a moment to die
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.02)
    return True


def settings(*argv: str, timeout: float = 5.0, **environment: str) -> ProgramSettings:
    return ProgramSettings(argv, timeout, environment)


def failure(program: ProgramSettings, text: str = "") -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        run_program(program, text, {})
    return caught.value


def test_it_gives_the_text_on_stdin_and_the_fields_in_a_clean_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the daemon's environment holds (a secret read through password_env) stays there.
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("LANG", "C.UTF-8")
    seen = tmp_path / "seen"
    program = script(tmp_path, f'cat > "{seen}.in"; env > "{seen}.env"; echo "queued as 7"\n')

    receipt = run_program(settings(program, "+33600000000", GAMMU_CONFIG="/etc/gammurc"),
                          "Internet down since 14:02 — été\n",
                          {"WATCHDOG_EVENT": "outage_started", "WATCHDOG_REFERENCE": ""})

    assert (receipt.server, receipt.reply) == (program, "queued as 7")
    assert Path(f"{seen}.in").read_text(encoding="utf-8") == "Internet down since 14:02 — été\n"
    environment = dict(line.split("=", 1) for line in
                       Path(f"{seen}.env").read_text().splitlines() if "=" in line)
    assert environment["WATCHDOG_EVENT"] == "outage_started"
    assert environment["WATCHDOG_REFERENCE"] == ""
    assert environment["GAMMU_CONFIG"] == "/etc/gammurc"
    assert environment["LANG"] == "C.UTF-8"
    assert environment["PATH"] == os.environ["PATH"]
    assert "SMTP_PASSWORD" not in environment
    assert "hunter2" not in Path(f"{seen}.env").read_text()


def test_its_argv_is_not_read_by_a_shell(tmp_path: Path) -> None:
    program = script(tmp_path, 'printf "%s|" "$@"\n')
    receipt = run_program(settings(program, "$HOME", "a b", "; rm -rf /"), "", {})
    assert receipt.reply == "$HOME|a b|; rm -rf /|"


def test_a_silent_program_is_proved_by_its_exit_status_and_a_chatty_one_by_its_first_words(
    tmp_path: Path
) -> None:
    assert run_program(settings(script(tmp_path, "exit 0\n")), "", {}).reply == "exit 0"
    # stderr stands for stdout when stdout is silent; lines are joined, the whole is bounded.
    said = run_program(settings(script(tmp_path, "echo one >&2; echo two >&2\n", "e")), "", {})
    assert said.reply == "one two"
    # Megabytes of output: read to the end (the program never blocks), the first words kept.
    chatty = script(tmp_path, "echo first; head -c 5000000 /dev/zero | tr '\\0' x\n", "c")
    reply = run_program(settings(chatty), "", {}).reply
    assert reply.startswith("first xxx")
    assert len(reply) <= 200 < OUTPUT_LIMIT


def test_exit_75_asks_for_a_retry(tmp_path: Path) -> None:
    program = script(tmp_path, f'echo "modem busy" >&2; exit {EX_TEMPFAIL}\n')
    error = failure(settings(program))
    assert not error.permanent
    assert error.server == program
    assert str(error) == (f"the program {program} asked to be run again later (exit 75): "
                          "modem busy")


def test_any_other_status_is_a_refusal_with_the_programs_words(tmp_path: Path) -> None:
    program = script(tmp_path, 'echo "ok so far"; echo "unknown number +3360" >&2; exit 3\n')
    error = failure(settings(program, "+3360"))
    assert error.permanent
    assert str(error) == (f"the program {program} failed with exit status 3: unknown number "
                          "+3360; fix it, or make it exit with 75 when a later try can succeed")


def test_a_program_that_cannot_start_is_a_refusal_that_says_why(tmp_path: Path) -> None:
    missing = failure(settings("no-such-sms-program"))
    assert missing.permanent
    assert str(missing) == ("the program no-such-sms-program was not found; install it or give "
                            "its full path as argv[0]")
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    refused = failure(settings(str(plain)))
    assert refused.permanent
    assert "cannot be run (permission denied); make it executable" in str(refused)


def test_a_program_past_its_timeout_is_stopped_with_its_children_and_retried(
    tmp_path: Path
) -> None:
    child = tmp_path / "child.pid"
    # The script starts a child that outlives it unless its process group is killed.
    program = script(tmp_path, f'sleep 60 & echo $! > "{child}"; echo "dialling" >&2; wait\n')
    started = time.monotonic()
    error = failure(settings(program, timeout=TIMEOUT))
    took = time.monotonic() - started
    assert not error.permanent
    assert str(error) == (f"the program {program} did not finish within 0.5 s and was stopped: "
                          "dialling; it will be run again later")
    assert took < TIMEOUT + SLACK
    assert not alive(int(child.read_text()))


def test_a_program_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    program = script(tmp_path, "trap '' TERM; while :; do sleep 0.05; done\n")
    started = time.monotonic()
    error = failure(settings(program, timeout=TIMEOUT))
    assert not error.permanent
    assert TIMEOUT + KILL_GRACE - 0.2 < time.monotonic() - started < TIMEOUT + KILL_GRACE + SLACK


def test_a_program_stopped_by_a_signal_from_outside_is_retried(tmp_path: Path) -> None:
    program = script(tmp_path, "kill -TERM $$\n")
    error = failure(settings(program))
    assert not error.permanent
    assert str(error) == f"the program {program} was stopped by SIGTERM; it will be run again later"


def test_settings_refuse_what_cannot_run() -> None:
    with pytest.raises(ValueError, match="argv must name a program"):
        ProgramSettings((), 1.0)
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        ProgramSettings(("true",), 0.0)
