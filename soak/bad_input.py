"""Bad input: mutated configs, bad command lines, and databases that are missing, locked,
newer than the code or corrupt. Each must end in one sentence naming what is wrong, never a
traceback.

1. **Configs**: hypothesis draws mutations of a valid config (``soak/configs.py``: wrong
   types, unknown keys, absurd durations, bad addresses, unreadable secrets, broken templates,
   required keys removed); ``watchdog config check`` runs on each in this process. Counted:
   rejected with exit 78 and only ``FILE: KEY: sentence`` lines naming the key broken;
   accepted though broken (per kind); tracebacks and internal errors; secrets in the output.
   A sample is run again as a real process (what a user sees).
2. **Command lines**: every command with bad arguments, as a real process.
3. **Databases**: every command that opens the database, against each bad database.

No packet leaves the host: the configs probe loopback and no command here probes.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from soak.configs import (
    EX_CONFIG,
    KINDS,
    Outcome,
    base_document,
    check_as_me,
    mutations,
    try_mutation,
)
from soak.figures import Figure, Size, SuiteResult, at_least, at_most, info
from testbed import REPO
from testbed.lab.config import to_toml
from testbed.leaks import HMAC_ENV, SECRETS, leaks_in_text

CONFIGS = {"short": 200, "long": 2000}
# Of the configs, how many are run again as a real `watchdog` process.
PROCESS_SAMPLE = {"short": 10, "long": 40}
WATCHDOG = REPO / ".venv" / "bin" / "watchdog"
COMMAND_TIMEOUT = 60.0
# A command that has not ended after this on a locked database counts as hung (the readers
# wait 5 s for a lock, the writers their busy timeout).
PARALLEL = 4
# Commands that load the writer (SQLModel, ~1-2 s a process on a busy machine): the short
# size runs a few of them, the long size all.
HEAVY = ("ticket ack", "ticket close", "ticket note", "ticket provider-ref", "maintenance add",
         "maintenance remove", "run", "notify-test", "evidence", "report")
# The short size's commands on each bad database (the long size runs DATABASE_COMMANDS).
SHORT_DATABASE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("status",), ("outages",), ("tickets",), ("outbox",),
    ("maintenance", "add", "--to", "+1h", "--reason", "works"))
EX_SOFTWARE = 70
# The commands whose exit code says the link's state (0 up, 1 degraded, 2 down, 3 unknown).
STATE_COMMANDS = frozenset({"status", "check"})
STATE_EXIT_CODES = frozenset({1, 2, 3})
TRACEBACK = "Traceback (most recent call last)"
# Mutation kinds that ``config check`` cannot catch yet (none since it renders every template
# once at load): their acceptances are reported apart.
NOT_YET_CAUGHT: frozenset[str] = frozenset()


# --- 1. configs ---------------------------------------------------------------------------------


def run_configs(size: Size, work: Path, *, rng_seed: int) -> tuple[list[Figure], dict[str, Any]]:
    """Check ``CONFIGS[size]`` mutated configs; return figures and details."""
    directory = work / "configs"
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[HMAC_ENV] = SECRETS["hmac_secret"]
    base = base_document(directory)
    base_config = directory / "base.toml"
    base_config.write_text(to_toml(base), encoding="utf-8")
    outcomes: list[tuple[Path, Outcome]] = []

    @seed(rng_seed)
    @settings(max_examples=CONFIGS[size], deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(mutations(base))
    def explore(mutation: Any) -> None:
        outcomes.append(try_mutation(base, mutation, directory, len(outcomes) + 1))

    explore()
    return _config_figures(outcomes, base_config, size)


def _config_figures(outcomes: list[tuple[Path, Outcome]], base_config: Path,
                    size: Size) -> tuple[list[Figure], dict[str, Any]]:
    tried = Counter(outcome.mutation.kind for _, outcome in outcomes)
    accepted = Counter(outcome.mutation.kind for _, outcome in outcomes
                       if outcome.exit_code == 0)
    tracebacks = [o for _, o in outcomes if o.traceback]
    internal = [o for _, o in outcomes if o.internal_error and not o.traceback]
    other_codes = [o for _, o in outcomes if o.exit_code not in (0, EX_CONFIG)
                   and not o.internal_error and not o.traceback]
    malformed = [(config, o) for config, o in outcomes
                 if o.rejected and o.malformed_lines(config)]
    unnamed = [(config, o) for config, o in outcomes
               if o.rejected and not o.malformed_lines(config) and not o.names_the_key()]
    leaks = sum(o.leaks() for _, o in outcomes)
    sample = [config for config, _ in outcomes[: PROCESS_SAMPLE[size]]]
    process = _process_sample(sample)
    base_code, _, base_err, _ = _base_check(base_config)
    figures = [
        at_least("configs tried", len(outcomes), CONFIGS["short"]),
        info("  rejected (exit 78)", sum(o.rejected for _, o in outcomes)),
        at_most("  accepted though broken", sum(accepted.values())),
        at_most("  accepted, kinds the check can catch now", sum(
            count for kind, count in accepted.items() if kind not in NOT_YET_CAUGHT)),
        at_most("  errors not 'FILE: KEY: sentence'", len(malformed)),
        at_most("  errors not naming the key broken", len(unnamed)),
        at_most("  other exit codes", len(other_codes)),
        at_most("config tracebacks", len(tracebacks)),
        at_most("config internal errors", len(internal)),
        at_most("secrets in config check's output", leaks),
        at_most("sample as real processes: tracebacks", process["tracebacks"]),
        at_most("base config rejected", 0 if base_code == 0 else 1),
    ]
    details = {
        "tried_by_kind": dict(sorted(tried.items())),
        "accepted_by_kind": dict(sorted(accepted.items())),
        "accepted_examples": _examples(
            [o for _, o in outcomes if o.exit_code == 0], limit=3, per_kind=True),
        "tracebacks": _examples(tracebacks, limit=10),
        "internal_errors": _examples(internal, limit=10),
        "other_exit_codes": _examples(other_codes, limit=10),
        "malformed": [f"{o.mutation.describe()} → {o.malformed_lines(c)[:2]}"
                      for c, o in malformed[:10]],
        "not_naming_the_key": [f"{o.mutation.describe()} → {o.lines[:2]}"
                               for _, o in unnamed[:10]],
        "process_sample": process,
        "base_config_error": base_err.strip(),
    }
    return figures, details


def _examples(outcomes: Sequence[Outcome], *, limit: int,
              per_kind: bool = False) -> list[str]:
    shown: list[str] = []
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if per_kind and counts[outcome.mutation.kind] >= limit:
            continue
        counts[outcome.mutation.kind] += 1
        said = outcome.escaped or (outcome.stderr.strip().splitlines() or [""])[-1]
        shown.append(f"{outcome.mutation.describe()} → exit {outcome.exit_code}: {said[:200]}")
        if not per_kind and len(shown) >= limit:
            break
    return shown


def _base_check(config: Path) -> tuple[int, str, str, str | None]:
    from soak.configs import check

    return check(config)


def _process_sample(configs: Sequence[Path]) -> dict[str, Any]:
    """``watchdog config check`` on each of ``configs`` as a real process."""
    results = _run_many([["config", "check", *check_as_me(), "--config", str(c)]
                         for c in configs])
    return {"runs": len(results),
            "tracebacks": sum(TRACEBACK in r.stderr for r in results),
            "exit_codes": dict(Counter(r.exit_code for r in results))}


# --- 2 and 3. command lines and databases --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One ``watchdog`` process: its arguments, exit code and output (None code: hung)."""

    case: str
    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def traceback(self) -> bool:
        return TRACEBACK in self.stderr or TRACEBACK in self.stdout

    @property
    def internal_error(self) -> bool:
        return self.exit_code == EX_SOFTWARE or "internal error" in self.stderr

    @property
    def reports_state(self) -> bool:
        """``status`` or ``check`` saying the link's state by its exit code (the Nagios
        plugins' 1 degraded, 2 down, 3 unknown), with nothing on stderr: a report, no error."""
        return (bool(self.argv) and self.argv[0] in STATE_COMMANDS
                and self.exit_code in STATE_EXIT_CODES and not self.error_lines)

    @property
    def one_sentence(self) -> bool:
        """A failure said in one line on stderr (a success or a state report needs none)."""
        return self.exit_code == 0 or self.reports_state or (
            self.exit_code is not None and len(self.error_lines) == 1)

    def describe(self) -> str:
        said = " | ".join(self.error_lines[-3:])[:300]
        return f"{self.case}: watchdog {' '.join(self.argv)} → exit {self.exit_code}: {said}"


def _run(argv: Sequence[str], case: str = "") -> CommandRun:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("WATCHDOG_CONFIG", "WATCHDOG_DATABASE", "WATCHDOG_DEBUG")}
    try:
        done = subprocess.run([str(WATCHDOG), *argv], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, env=environment, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired as hung:
        def text(value: bytes | str | None) -> str:
            return value.decode(errors="replace") if isinstance(value, bytes) else value or ""

        return CommandRun(case, tuple(argv), None, text(hung.stdout), text(hung.stderr))
    return CommandRun(case, tuple(argv), done.returncode, done.stdout, done.stderr)


def _run_many(commands: Sequence[Sequence[str]],
              cases: Sequence[str] | None = None) -> list[CommandRun]:
    names = list(cases) if cases is not None else [""] * len(commands)
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(_run, commands, names))


LOOPBACK_CONFIG = """\
[site]
name = "Soak office"
timezone = "UTC"
[storage]
database = "{database}"
[gateway]
address = "127.0.0.1"
[[ping]]
name = "alpha"
address = "127.0.0.2"
[[ping]]
name = "bravo"
address = "127.0.0.3"
[[notify.webhook]]
name = "hook"
url = "http://127.0.0.1:9/hook"
token_file = "{token}"
"""


def bad_arguments(config: Path, work: Path) -> list[tuple[str, list[str]]]:
    """(case, argv) for every command with arguments it must refuse."""
    common = ["--config", str(config)]
    evidence_dir = str(work / "evidence")
    return [
        ("no command", []),
        ("unknown command", ["frobnicate"]),
        ("unknown option", ["status", "--bogus", *common]),
        ("extra argument", ["status", "extra", *common]),
        ("outages: date not a date", ["outages", "--since", "yesterday", *common]),
        ("outages: impossible date", ["outages", "--since", "2026-13-45", *common]),
        ("report: month 13", ["report", "--month", "2026-13", *common]),
        ("report: month not a month", ["report", "--month", "garbage", *common]),
        ("report: 30 February", ["report", "--from", "2026-02-30", "--to", "2026-03-01",
                                 *common]),
        ("report: --from without --to", ["report", "--from", "2026-03-01", *common]),
        ("report: days reversed", ["report", "--from", "2026-03-05", "--to", "2026-03-01",
                                   *common]),
        ("report: unknown format", ["report", "--format", "pdf", *common]),
        ("report: output in a missing directory", [
            "report", "-o", "/nonexistent/dir/report.txt", *common]),
        ("evidence: no output", ["evidence", "WD-2026-0001", *common]),
        ("evidence: unknown ticket", ["evidence", "WD-1999-0001", "-o", evidence_dir, *common]),
        ("tickets: unknown option", ["tickets", "--since", "2026-01-01", *common]),
        ("ticket: no action", ["ticket"]),
        ("ticket show: no reference", ["ticket", "show", *common]),
        ("ticket show: unknown ticket", ["ticket", "show", "WD-1999-0001", *common]),
        ("ticket show: not a reference", ["ticket", "show", "'; DROP TABLE incident;--",
                                          *common]),
        ("ticket ack: unknown ticket", ["ticket", "ack", "WD-1999-0001", *common]),
        ("ticket close: unknown ticket", ["ticket", "close", "WD-1999-0001", *common]),
        ("ticket note: no text", ["ticket", "note", "WD-1999-0001", *common]),
        ("ticket note: time not a time", ["ticket", "note", "WD-1999-0001", "called",
                                          "--at", "not a time", *common]),
        ("ticket provider-ref: missing", ["ticket", "provider-ref", "WD-1999-0001", *common]),
        ("maintenance: no action", ["maintenance"]),
        ("maintenance add: end not a time", ["maintenance", "add", "--to", "nonsense",
                                             "--reason", "works", *common]),
        ("maintenance add: end before start", [
            "maintenance", "add", "--from", "2026-12-06 02:00", "--to", "2026-12-05 02:00",
            "--reason", "works", *common]),
        ("maintenance add: no reason", ["maintenance", "add", "--to", "+3h", *common]),
        ("maintenance add: unknown link", ["maintenance", "add", "--to", "+3h", "--reason",
                                           "works", "--link", "nosuchlink", *common]),
        ("maintenance add: absurd duration", ["maintenance", "add", "--to",
                                              "+99999999999999d", "--reason", "works",
                                              *common]),
        ("maintenance remove: not a number", ["maintenance", "remove", "abc", *common]),
        ("maintenance remove: unknown id", ["maintenance", "remove", "99999", *common]),
        ("outbox: unknown option", ["outbox", "--bogus", *common]),
        ("notify-test: unknown channel", ["notify-test", "--channel", "nosuch", *common]),
        ("check: unknown option", ["check", "--bogus", *common]),
        ("check: missing config", ["check", "--config", "/nonexistent.toml"]),
        ("config: no action", ["config"]),
        ("config check: missing file", ["config", "check", "--config", "/nonexistent.toml"]),
        ("config check: a directory", ["config", "check", "--config", "/"]),
        ("status: missing config", ["status", "--config", "/nonexistent.toml"]),
        ("run: missing config", ["run", "--config", "/nonexistent.toml"]),
        ("status: database in a missing directory", [
            "status", "--database", "/nonexistent/dir/watchdog.db", *common]),
    ]


# Commands that open the database, run against each bad one (run: only where it must refuse
# at start, so that it never starts probing).
DATABASE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("status",), ("status", "--json"), ("outages",), ("report",), ("report", "--json"),
    ("tickets",), ("ticket", "show", "WD-2026-0001"), ("ticket", "ack", "WD-2026-0001"),
    ("outbox",), ("maintenance", "list"),
    ("maintenance", "add", "--to", "+1h", "--reason", "works"),
    ("evidence", "WD-2026-0001", "-o", "{work}/evidence"),
)
DATABASE_STATES = ("missing", "locked", "newer", "corrupt", "not_a_database", "empty_file")
REFUSES_TO_RUN = frozenset({"newer", "corrupt", "not_a_database"})


def make_database(path: Path) -> None:
    """A watchdog database at ``path`` with one link's timeline (through the writer)."""
    from watchdog.store.writer import Store

    now = datetime.now(UTC)
    store = Store.open(path)
    try:
        store.resume(now - timedelta(minutes=5), timedelta(seconds=2), link="default")
        store.shutdown(now)
    finally:
        store.close()


@contextmanager
def database_in_state(state: str, directory: Path) -> Iterator[Path]:
    """A database path in ``state`` for the time of the block (locked: a lock held)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{state}.db"
    if state == "missing":
        yield path
        return
    if state == "not_a_database":
        path.write_text("this is a text file, not a database\n" * 100, encoding="utf-8")
        yield path
        return
    if state == "empty_file":
        path.write_bytes(b"")
        yield path
        return
    make_database(path)
    if state == "newer":
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE alembic_version SET version_num = '9999'")
    elif state == "corrupt":
        data = bytearray(path.read_bytes())
        noise = random.Random(12).randbytes(len(data) - 4096)
        data[4096:] = noise  # the header stays, every page after the first is noise
        path.write_bytes(bytes(data))
    if state != "locked":
        yield path
        return
    holder = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("CREATE TABLE IF NOT EXISTS soak_lock (x INTEGER)")
        yield path
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def run_commands(size: Size, work: Path) -> tuple[list[Figure], dict[str, Any]]:
    """Parts 2 and 3: bad arguments, then every database command on every bad database."""
    directory = work / "commands"
    directory.mkdir(parents=True, exist_ok=True)
    token = directory / "token"
    token.write_text(SECRETS["webhook_token"] + "\n", encoding="utf-8")
    good_database = directory / "good.db"
    make_database(good_database)
    config = directory / "watchdog.toml"
    config.write_text(LOOPBACK_CONFIG.format(database=good_database, token=token),
                      encoding="utf-8")
    cases = bad_arguments(config, directory)
    if size == "short":
        light = [case for case in cases if not " ".join(case[1]).startswith(HEAVY)]
        cases = light + [case for case in cases if case not in light][:3]
    argument_runs = _run_many([argv for _, argv in cases], [case for case, _ in cases])
    database_runs: list[CommandRun] = []
    for state in DATABASE_STATES:
        with database_in_state(state, directory / "databases") as database:
            chosen = SHORT_DATABASE_COMMANDS if size == "short" else DATABASE_COMMANDS
            commands = [[part.format(work=directory) for part in command] +
                        ["--config", str(config), "--database", str(database)]
                        for command in chosen]
            if state in REFUSES_TO_RUN and (size == "long" or state == "newer"):
                commands.append(["run", "--config", str(config), "--database", str(database)])
            database_runs += _run_many(commands, [f"database {state}"] * len(commands))
    figures, details = _command_figures(argument_runs, database_runs)
    outputs = directory / "outputs.txt"
    outputs.write_text("\n".join(
        f"$ watchdog {' '.join(run.argv)}\n{run.stdout}{run.stderr}"
        for run in argument_runs + database_runs), encoding="utf-8")
    details["outputs"] = str(outputs)
    return figures, details


def _command_figures(arguments: list[CommandRun],
                     databases: list[CommandRun]) -> tuple[list[Figure], dict[str, Any]]:
    every = arguments + databases
    accepted = [run for run in arguments if run.exit_code == 0]
    several_lines = [run for run in every if not run.one_sentence and run.exit_code is not None]
    silent_newer = [run for run in databases if run.case == "database newer"
                    and (run.exit_code == 0 or run.reports_state)]
    figures = [
        info("bad command lines tried", len(arguments)),
        at_most("  accepted (exit 0)", len(accepted)),
        info("commands on bad databases", len(databases)),
        at_most("command errors not in one line", len(several_lines)),
        at_most("command tracebacks", sum(run.traceback for run in every)),
        at_most("command internal errors", sum(run.internal_error and not run.traceback
                                               for run in every)),
        at_most("commands hung", sum(run.exit_code is None for run in every)),
        at_most("read commands that read a newer schema without a word", len(silent_newer)),
        at_most("secrets in command output", sum(
            len(leaks_in_text(run.stdout + run.stderr, run.case)) for run in every)),
    ]
    details = {
        "accepted": [run.describe() for run in accepted],
        "not_one_line": [run.describe() for run in several_lines],
        "tracebacks": [run.describe() for run in every if run.traceback],
        "internal_errors": [run.describe() for run in every if run.internal_error],
        "hung": [run.describe() for run in every if run.exit_code is None],
        "database_exit_codes": {
            state: dict(Counter(str(run.exit_code) for run in databases
                                if run.case == f"database {state}"))
            for state in DATABASE_STATES},
        "said": [run.describe() for run in every],
    }
    return figures, details


# --- the suite ----------------------------------------------------------------------------------


def run(size: Size, work: Path, *, rng_seed: int = 12) -> SuiteResult:
    """The bad-input suite at ``size`` (short: 200 configs; long: 2000)."""
    result = SuiteResult("bad_input", "Bad input: mutated configs, command lines, databases",
                         size)
    config_figures, config_details = run_configs(size, work, rng_seed=rng_seed)
    command_figures, command_details = run_commands(size, work)
    result.figures = config_figures + command_figures
    result.details = {"configs": config_details, "commands": command_details,
                      "kinds": list(KINDS), "seed": rng_seed}
    return result


if __name__ == "__main__":
    from soak.__main__ import main

    sys.exit(main(["--only", "bad_input", *sys.argv[1:]]))
