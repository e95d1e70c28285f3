"""Secrets a robustness run configures, and where they must never show: every captured output.

The values are long and distinctive, so a match is a leak, never a coincidence. A run writes
them to files (``write_secret_files``) and names them in its configs (``*_file`` keys); it
keeps what it captured (daemon logs, CLI output, error messages, ``watchdog outbox``) and
``find_leaks`` greps all of it. Receivers' logs are not outputs of the watchdog: the webhook
receiver is meant to get the token, so they are never scanned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# name → value: what each channel authenticates with.
SECRETS: Mapping[str, str] = {
    "smtp_password": "soak-smtp-password-5c81e0d2a4",
    "webhook_token": "soak-webhook-token-9f2b7d41e6",
    "hmac_secret": "soak-hmac-secret-3a6e19c07b",
    "heartbeat_url": "http://192.0.2.1:8080/beat/soak-heartbeat-key-7d04b9f1c3",
}
# The part of the heartbeat's URL that is secret (a log naming the host alone leaks nothing).
HEARTBEAT_KEY = "soak-heartbeat-key-7d04b9f1c3"
# The environment variable the configs name for the HMAC secret (hmac_secret_env).
HMAC_ENV = "SOAK_HMAC_SECRET"


def secret_values() -> tuple[str, ...]:
    """The strings a leak would contain (the heartbeat's key rather than its whole URL)."""
    return (*(value for name, value in SECRETS.items() if name != "heartbeat_url"),
            HEARTBEAT_KEY)


def write_secret_files(directory: Path) -> dict[str, Path]:
    """Write each secret to ``directory/<name>`` (mode 0600); return name → path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, value in SECRETS.items():
        path = directory / name
        path.write_text(value + "\n", encoding="utf-8")
        path.chmod(0o600)
        paths[name] = path
    return paths


@dataclass(frozen=True, slots=True)
class Leak:
    """A secret found in an output: where (a file, or what a command printed), which line."""

    where: str
    line: int
    secret: str


def leaks_in_text(text: str, where: str, secrets: Iterable[str] | None = None) -> list[Leak]:
    """Every line of ``text`` holding one of ``secrets`` (default: ``secret_values()``)."""
    values = tuple(secrets) if secrets is not None else secret_values()
    found: list[Leak] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for value in values:
            if value in line:
                # Name the secret by its first characters only: the report is an output too.
                found.append(Leak(where, number, value[:12] + "…"))
    return found


def find_leaks(paths: Iterable[Path], secrets: Iterable[str] | None = None) -> list[Leak]:
    """``leaks_in_text`` over each file of ``paths`` that exists (read as UTF-8, leniently)."""
    values = tuple(secrets) if secrets is not None else secret_values()
    found: list[Leak] = []
    for path in paths:
        if path.is_file():
            found += leaks_in_text(path.read_text(encoding="utf-8", errors="replace"),
                                   str(path), values)
    return found
