"""Secrets (SMTP passwords, webhook tokens, HMAC keys): read from files, the environment or
systemd credentials, never shown.

A secret key ``password`` has three spellings in the config: ``password_file`` (a path),
``password_env`` (an environment variable's name) or ``password`` itself (inline; works, but
then everyone who may read the config, the status readers' group included, may read it). The
value becomes a ``Secret``, whose ``repr`` and ``str`` are masked, so it cannot end up in a log
line or in ``config check`` by accident.

Where a relative ``password_file = "smtp-password"`` is found (``secret_file_candidates``):
secret files live in ``credentials/`` next to the config (``/etc/connectivity-watchdog/
credentials``, root's alone: 0700, each file 0600). The installed unit hands that whole
directory to the service as systemd credentials (``LoadCredential=secret:<that directory>``),
which systemd reads as root and names ``secret_<file>`` in ``$CREDENTIALS_DIRECTORY``; a
credential loaded under the file's own name by a drop-in (``LoadCredential=smtp-password:...``)
is found too. Without ``$CREDENTIALS_DIRECTORY`` (``config check``, ``notify-test`` run by
root) the file is read from ``credentials/`` itself. A file right next to the config (where
older versions told to put it) is still read, last.
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


# The unit's credential id for the credentials directory: each file comes to the service as
# $CREDENTIALS_DIRECTORY/secret_<file> (systemd.exec(5), LoadCredential= with a directory).
CREDENTIAL_ID = "secret"
# The directory of secret files, next to the config.
CREDENTIALS_DIRECTORY_NAME = "credentials"


def secret_file_candidates(name: str, base: Path) -> list[Path]:
    """Where the secret file ``name`` is looked for, in order (see the module's doc).

    ``base`` is the config file's directory. An absolute ``name`` is only itself.
    """
    path = Path(name)
    if path.is_absolute():
        return [path]
    # Absolute, so that a missing file's message gives the full paths tried, whatever the
    # directory `--config` was given from.
    base = base.absolute()
    found: list[Path] = []
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        found += [Path(credentials) / path, Path(credentials) / f"{CREDENTIAL_ID}_{name}"]
    else:
        found.append(base / CREDENTIALS_DIRECTORY_NAME / path)
    found.append(base / path)
    return found


class SecretFileError(OSError):
    """A secret file none of whose places could be read; ``str()`` says where and why."""


def read_secret_file(name: str, base: Path) -> str:
    """The content of the secret file ``name`` (one trailing newline removed), read from the
    first of ``secret_file_candidates`` that exists.

    Raises ``SecretFileError`` naming every place tried, or the one that exists but cannot be
    read (permission denied, a directory) with its reason.
    """
    candidates = secret_file_candidates(name, base)
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except UnicodeDecodeError:
            raise SecretFileError(f"{path} is not UTF-8 text") from None
        except OSError as error:
            raise SecretFileError(f"{path} cannot be read ({error.strerror})") from None
        return text[:-1] if text.endswith("\n") else text
    tried = " or ".join(str(path) for path in candidates)
    raise SecretFileError(f"no such file: {tried}")


def resolve(
    inline: Secret | None, file: str, env: str, base: Path
) -> tuple[Secret | None, str | None, str]:
    """(the secret or None, a problem or None, the spelling it concerns) from the three
    spellings of one secret key: ``""`` for the key itself, ``"_file"`` or ``"_env"``."""
    given = [spelling for spelling, value in (("inline", inline), ("file", file), ("env", env))
             if value]
    if len(given) > 1:
        return None, "is given more than one way; keep only one of the key, _file and _env", ""
    if file:
        try:
            return Secret(read_secret_file(file, base), f"file {file}"), None, "_file"
        except SecretFileError as error:
            where = "there" if Path(file).is_absolute() else (
                f"there (in {base.absolute() / CREDENTIALS_DIRECTORY_NAME}: owned by root, "
                "mode 0600)")
            return None, f"{file!r}: {error}; put the secret {where} or fix the name", "_file"
    if env:
        value = os.environ.get(env)
        if value is None:
            return None, f"environment variable {env} is not set; set it or fix the name", "_env"
        return Secret(value, f"${env}"), None, "_env"
    return inline, None, ""
