"""Errors a user can cause. Each carries one sentence (what, where, the fix) and an exit code.

The CLI catches ``UserError`` at the top and prints only its message: never a traceback.
"""

from __future__ import annotations

# sysexits.h codes, so systemd units and scripts can tell the cases apart.
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_CANTCREAT = 73
EX_IOERR = 74
EX_NOPERM = 77
EX_CONFIG = 78


class UserError(Exception):
    """A problem the user can fix; ``str(error)`` is the whole message."""

    exit_code = EX_SOFTWARE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(UserError):
    """The configuration is invalid; ``problems`` holds one line per problem."""

    exit_code = EX_CONFIG

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DatabaseError(UserError):
    """The database is missing, unreadable or not ours."""

    exit_code = EX_NOINPUT


class StorageFault(DatabaseError):
    """The database's file system takes no writes for now: it is full or read-only.

    Unlike the other database errors it passes with the fault (space freed, the file system
    writable again); the daemon then holds its database in memory (``store.memory_copy``).
    """


class SetupError(UserError):
    """The host does not allow what the watchdog needs (ping sockets, file permissions)."""

    exit_code = EX_NOPERM
