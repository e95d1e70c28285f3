"""Mutated configs: a valid config with one thing broken, as hypothesis draws them.

``base_document`` is a complete, valid config (every kind of probe, an SMTP relay with a
password file, an email ticket backend, a webhook with a token file, an HMAC secret from the
environment and a template, a heartbeat whose URL is a secret). ``mutations`` draws one
``Mutation`` of it: a wrong type, an unknown key, an absurd duration, a bad address, an
unreadable secret, a broken template or a required key removed. ``check`` runs
``watchdog config check`` on the result, in this process (a few milliseconds each), and says
what came out. Nothing here sends a packet: every address is on loopback and the check only
reads.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import pwd
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from testbed.lab.config import to_toml
from testbed.leaks import HMAC_ENV, leaks_in_text, write_secret_files

# What a mutation does; the suite counts its outcomes per kind.
KINDS = ("wrong_type", "unknown_key", "absurd_duration", "bad_address", "unreadable_secret",
         "broken_template", "missing_key")
EX_CONFIG = 78
EX_SOFTWARE = 70
TEMPLATE = "soak.json.j2"
# Values of the wrong type for any key (each differs in type from what the key holds).
WRONG_VALUES: tuple[Any, ...] = (42, -1, 3.5, True, "text", "", [1, 2], ["a"], {"x": 1},
                                 date(2026, 2, 1))
ABSURD_DURATIONS = ("-5s", "5 parsecs", "1e999s", "99999999999999d", "9999999d", "", "s", "5",
                    "1.5.5s",
                    "∞s", "NaNs", "0x10s", "2s ago", "4294967296w")
# ("1.2.3" is not among them: inet_aton reads it as 1.2.0.3, a valid host.)
BAD_ADDRESSES = ("999.1.1.1", "not an address", "", "::::", "256.256.256.256",
                 "127.0.0.1:53", "-1", "exa mple.com", "http://", "ftp://127.0.0.1/x",
                 "http://[::1", "http://127.0.0.1:99999/x", "\u0000", "a" * 300)
# Keys whose value is an address or a URL.
ADDRESS_KEYS = frozenset({"address", "server", "url", "host"})
DURATION = re.compile(r"^\d+(ms|s|m|h|d|w)$")
# Free-form tables: any key is allowed there, so an unknown key is not a mistake.
FREE_FORM = frozenset({"headers"})
# One problem per line: "FILE: KEY: what is wrong; the fix" (the key has no space).
PROBLEM_LINE = re.compile(r"^(?P<file>/\S+): (?P<key>[^\s:]+): (?P<message>\S.*)$")

Path_ = tuple[str | int, ...]


def base_document(directory: Path) -> dict[str, Any]:
    """A complete valid config whose secrets and template live in ``directory``."""
    secrets = write_secret_files(directory / "secrets")
    templates = directory / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / TEMPLATE).write_text('{"text": {{ summary | tojson }}}\n', encoding="utf-8")
    return {
        "site": {"name": "Soak office", "timezone": "UTC", "language": "en"},
        "storage": {"database": str(directory / "watchdog.db"), "raw_retention": "7d"},
        "schedule": {"ping_interval": "2s", "ping_timeout": "1s", "pings_per_target": 2,
                     "retry_interval": "1s", "check_interval": "30s", "dns_timeout": "2s",
                     "http_timeout": "5s"},
        "detection": {"confirm_down": 3, "confirm_up": 3, "down_quorum": 0, "window": "1m",
                      "degraded_loss_percent": 20.0, "degraded_rtt": "300ms"},
        "gateway": {"enabled": True, "address": "127.0.0.1"},
        "ping": [{"name": "loop-1", "address": "127.0.0.1"},
                 {"name": "loop-2", "address": "127.0.0.2"}],
        "dns": [{"name": "resolver", "server": "127.0.0.53", "port": 53,
                 "query": "example.com", "record": "A"}],
        "http": [{"name": "web", "url": "http://127.0.0.1:9/ok", "expect_status": [200]}],
        "isp": {"name": "Soak Fibre", "line_id": "L-1", "customer_ref": "C-1", "gtr": "4h"},
        "incidents": {"open_after": {"isp": "2m", "lan": "2m", "dns": "2m"},
                      "escalation": ["gtr", "24h"], "repeat_every": "24h",
                      "merge_within": "10m"},
        "smtp": [{"name": "relay", "host": "127.0.0.1", "port": 2525, "security": "starttls",
                  "sender": "watchdog@office.example", "username": "watchdog",
                  "password_file": str(secrets["smtp_password"]), "timeout": "10s"}],
        "tickets": {"email": [{"name": "isp", "smtp": "relay", "to": ["support@isp.example"]}]},
        "notify": {
            "email": [{"name": "management", "smtp": "relay", "to": ["boss@office.example"]}],
            "webhook": [{"name": "hook", "url": "http://127.0.0.1:9/hook",
                         "token_file": str(secrets["webhook_token"]),
                         "hmac_secret_env": HMAC_ENV, "template": TEMPLATE,
                         "timeout": "10s"}],
        },
        "heartbeat": [{"name": "beat", "url_file": str(secrets["heartbeat_url"]),
                       "interval": "60s", "timeout": "10s"}],
    }


def leaves(document: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) of a value that is not a table or a list of tables."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list) and document and all(
            isinstance(item, Mapping) for item in document):
        for index, item in enumerate(document):
            yield from leaves(item, (*path, index))
    else:
        yield path, document


def tables(document: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every table's path (the top level is ``()``), free-form ones left out."""
    if isinstance(document, Mapping):
        if not (path and path[-1] in FREE_FORM):
            yield path
        for key, value in document.items():
            yield from tables(value, (*path, key))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            if isinstance(item, Mapping):
                yield from tables(item, (*path, index))


def dotted(path: Path_) -> str:
    """``("notify", "webhook", 0, "url")`` → ``notify.webhook[0].url`` (as the loader says)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _get(document: Any, path: Path_) -> Any:
    for part in path:
        document = document[part]
    return document


def _set(document: Any, path: Path_, value: Any) -> None:
    _get(document, path[:-1])[path[-1]] = value


@dataclass(frozen=True, slots=True)
class Mutation:
    """One thing broken: ``kind``, the key it broke, what was written there."""

    kind: str
    path: Path_
    value: Any

    @property
    def key(self) -> str:
        return dotted(self.path)

    def describe(self) -> str:
        shown = repr(self.value)
        return f"{self.kind} at {self.key}: {shown[:60]}"


def _differs(original: Any, value: Any) -> bool:
    """Whether ``value`` is of another type than ``original`` that the loader cannot take
    (an int where a float goes is fine)."""
    if type(original) is type(value):
        return False
    return not (isinstance(original, float) and type(value) is int)


@st.composite
def mutations(draw: st.DrawFn, base: dict[str, Any]) -> Mutation:
    """One ``Mutation`` of ``base`` (not modified: ``apply`` copies it)."""
    kind = draw(st.sampled_from(KINDS))
    items = [(path, value) for path, value in leaves(base)
             if not any(part in FREE_FORM for part in path)]
    if kind == "wrong_type":
        path, original = draw(st.sampled_from(items))
        value = draw(st.sampled_from([v for v in WRONG_VALUES if _differs(original, v)]))
        return Mutation(kind, path, value)
    if kind == "unknown_key":
        table = draw(st.sampled_from(list(tables(base))))
        name = draw(st.from_regex(r"[a-z][a-z_]{0,14}", fullmatch=True).filter(
            lambda text: text not in _get(base, table)))
        return Mutation(kind, (*table, name), draw(st.sampled_from(WRONG_VALUES)))
    if kind == "absurd_duration":
        paths = [path for path, value in items
                 if isinstance(value, str) and DURATION.match(value)]
        return Mutation(kind, draw(st.sampled_from(paths)),
                        draw(st.sampled_from(ABSURD_DURATIONS)))
    if kind == "bad_address":
        path = draw(st.sampled_from([path for path, _ in items if path[-1] in ADDRESS_KEYS]))
        # An empty gateway address is allowed: the router is then read from the default route.
        allowed = {""} if path == ("gateway", "address") else set()
        return Mutation(kind, path, draw(st.sampled_from(
            [value for value in BAD_ADDRESSES if value not in allowed])))
    if kind == "unreadable_secret":
        paths = [path for path, _ in items if str(path[-1]).endswith(("_file", "_env"))]
        path = draw(st.sampled_from(paths))
        value = draw(st.sampled_from(
            ["SOAK_UNSET_VARIABLE", "SOAK UNSET"] if str(path[-1]).endswith("_env") else
            ["/nonexistent/secret", "/", "relative/missing", "@binary"]))
        return Mutation(kind, path, value)
    if kind == "broken_template":
        path = ("notify", "webhook", 0, "template")
        return Mutation(kind, path, draw(st.sampled_from(
            ["missing.json.j2", "@syntax", "@not-json", "@undefined", "../../etc/passwd"])))
    # Keys without a default: those of the lists' entries (a target's name and address...).
    required = [path for path, _ in items if any(isinstance(part, int) for part in path)
                and path[-1] in ("name", "address", "server", "url", "host", "sender", "smtp",
                                 "to", "url_file")]
    return Mutation("missing_key", draw(st.sampled_from(required)), None)


# Files that some mutations point a key at, written once per directory.
_SPECIAL_FILES = {
    "@binary": ("binary-secret", b"\xff\xfe\x00secret"),
    "@syntax": ("syntax.json.j2", b'{"text": {{ summary | tojson }\n'),
    "@not-json": ("not-json.json.j2", b"text: {{ summary }}\n"),
    "@undefined": ("undefined.json.j2", b'{"text": {{ no_such_variable.attribute }}}\n'),
}


def apply(base: dict[str, Any], mutation: Mutation, directory: Path) -> dict[str, Any]:
    """A copy of ``base`` with ``mutation`` applied (special values made into files in
    ``directory`` and ``directory/templates``)."""
    document = copy.deepcopy(base)
    value = mutation.value
    if isinstance(value, str) and value in _SPECIAL_FILES:
        name, content = _SPECIAL_FILES[value]
        folder = directory / "templates" if name.endswith(".j2") else directory
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
        value = name if name.endswith(".j2") else str(folder / name)
    if mutation.kind == "missing_key":
        del _get(document, mutation.path[:-1])[mutation.path[-1]]
    else:
        _set(document, mutation.path, value)
    return document


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``config check`` did with one config."""

    mutation: Mutation
    exit_code: int
    stdout: str
    stderr: str
    escaped: str | None  # an exception that came out of the CLI's main (a traceback)

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def rejected(self) -> bool:
        return self.exit_code == EX_CONFIG

    @property
    def traceback(self) -> bool:
        return self.escaped is not None or "Traceback (most recent call last)" in (
            self.stdout + self.stderr)

    @property
    def internal_error(self) -> bool:
        return self.exit_code == EX_SOFTWARE or "internal error" in self.stderr

    def malformed_lines(self, config: Path) -> list[str]:
        """Lines of the error that are not "CONFIG: KEY: sentence" (the key named)."""
        bad = []
        for line in self.lines:
            match = PROBLEM_LINE.match(line)
            if match is None or match["file"] != str(config):
                bad.append(line)
        return bad

    def names_the_key(self) -> bool:
        """Whether a line names the key broken, its table (a missing or unknown key, a
        secret read through its _file/_env), or a key that refers to it."""
        wanted = self.mutation.key
        stem = re.sub(r"_(file|env)$", "", wanted)
        parent = dotted(self.mutation.path[:-1])
        for line in self.lines:
            match = PROBLEM_LINE.match(line)
            if match is None:
                continue
            key = match["key"]
            if key in (wanted, stem) or key.startswith(wanted + ".") or key.startswith(
                    wanted + "[") or (parent and key == parent):
                return True
        return False

    def leaks(self) -> int:
        return len(leaks_in_text(self.stdout + self.stderr, "config check"))


def check_as_me() -> list[str]:
    """``config check``'s ``--user`` for the caller: run by root on a machine where the service
    is installed, it would judge the files as the service's user, who cannot read the suite's
    (root's) secrets; the suite judges the configs, not this machine's accounts."""
    return ["--user", pwd.getpwuid(os.geteuid()).pw_name]


def check(config: Path) -> tuple[int, str, str, str | None]:
    """``watchdog config check --config CONFIG`` in this process, as the caller: (exit code,
    stdout, stderr, the exception that escaped main, if any)."""
    from watchdog.cli import main

    out, err = io.StringIO(), io.StringIO()
    escaped: str | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["config", "check", *check_as_me(), "--config", str(config)])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception as error:
            code, escaped = EX_SOFTWARE, f"{type(error).__name__}: {error}"
    return code, out.getvalue(), err.getvalue(), escaped


def try_mutation(base: dict[str, Any], mutation: Mutation, directory: Path,
                 number: int) -> tuple[Path, Outcome]:
    """Write ``base`` with ``mutation`` to ``directory/config-NUMBER.toml`` and check it."""
    document = apply(base, mutation, directory)
    config = directory / f"config-{number}.toml"
    config.write_text(to_toml(document), encoding="utf-8")
    code, stdout, stderr, escaped = check(config)
    return config, Outcome(mutation, code, stdout, stderr, escaped)
