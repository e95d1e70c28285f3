"""Secrets (SMTP passwords, webhook tokens, HMAC keys): read from files, the environment or
systemd credentials, never shown.

A secret key ``password`` has three spellings in the config: ``password_file`` (a path; a
relative one is read from ``$CREDENTIALS_DIRECTORY`` when systemd provides it, so
``LoadCredential=smtp-password:/etc/...`` and ``password_file = "smtp-password"`` work
together), ``password_env`` (an environment variable's name) or ``password`` itself (inline;
works, but the file's mode then guards it). The value becomes a ``Secret``, whose ``repr`` and
``str`` are masked, so it cannot end up in a log line or in ``config check`` by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

MASK = "********"


class Secret:
    """A secret string; ``reveal()`` is the only way to read it."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK}, from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def read_secret_file(name: str, base: Path) -> str:
    """The content of a secret file (one trailing newline removed).

    A relative ``name`` is looked up in ``$CREDENTIALS_DIRECTORY`` when set, else next to the
    config file (``base``). Raises ``OSError`` when it cannot be read.
    """
    path = Path(name)
    if not path.is_absolute():
        credentials = os.environ.get("CREDENTIALS_DIRECTORY")
        path = Path(credentials) / path if credentials else base / path
    text = path.read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def resolve(
    inline: Secret | None, file: str, env: str, base: Path
) -> tuple[Secret | None, str | None]:
    """(the secret, or a problem) from the three spellings of one secret key."""
    given = [spelling for spelling, value in (("inline", inline), ("file", file), ("env", env))
             if value]
    if len(given) > 1:
        return None, "is given more than one way; keep only one of the key, _file and _env"
    if file:
        try:
            return Secret(read_secret_file(file, base), f"file {file}"), None
        except OSError as error:
            return None, (f"{file} cannot be read ({error.strerror}); create it (mode 0640, "
                          "group of the service) or fix the path")
        except UnicodeDecodeError:
            return None, f"{file} is not UTF-8 text; write the secret in it as plain text"
    if env:
        value = os.environ.get(env)
        if value is None:
            return None, f"environment variable {env} is not set; set it or fix the name"
        return Secret(value, f"${env}"), None
    return inline, None
