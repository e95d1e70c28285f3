"""Whose access ``config check`` judges files by, and the file checks made as that user.

The installed service runs as ``connectivity-watchdog`` (the unit's ``User=``), but whoever
runs ``config check`` is usually root, who may write where the service may not. So when root
runs it and that user exists, each check runs in a child process that has taken the user's
uid, gid and groups (``os.setuid`` after ``os.setgroups``: what the kernel then allows is
exactly what it allows the service, ACLs and read-only mounts included). Otherwise the
checks run as the caller itself. ``--user NAME`` names another user.

The checks try what the service will do rather than reading mode bits: create the missing
directory (and remove it again), create a file in the database's directory (and remove it),
open the database files for writing, read a file. Standard library only.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watchdog.errors import EX_USAGE, UserError

# The installed unit's User= (systemd/connectivity-watchdog.service, tools/install.sh); empty:
# check as the caller (the tests set it so, as they run as root beside a real install).
SERVICE_USER = "connectivity-watchdog"

# What a check asks of one path.
Want = Literal["database", "read"]


@dataclass(frozen=True, slots=True)
class Account:
    """A user the checks run as; ``switch`` when that takes a child process (we are root).

    ``judged``: what it cannot do, the service cannot do: it is the service's user, the one
    named with ``--user``, or there is no service user here (whoever checks runs the daemon).
    """

    name: str
    uid: int
    gid: int
    switch: bool
    judged: bool

    @property
    def who(self) -> str:
        """How messages name it: "the service's user connectivity-watchdog", "the user
        alice"."""
        role = "service's user" if self.name == SERVICE_USER else "user"
        return f"the {role} {self.name}"


def checking_account(name: str | None = None) -> Account:
    """The account to check as: ``name`` (``--user``), else the service's user when this
    process is root and it exists, else the caller.

    Raises ``UserError`` (exit 64) for a ``name`` that is no user, or another user than the
    caller's when not root (only root can take another's identity).
    """
    me = os.geteuid()
    service = _user(SERVICE_USER) if SERVICE_USER else None
    if name:
        entry = _user(name)
        if entry is None:
            raise UserError(f"--user {name}: no such user; name the user the service runs as",
                            EX_USAGE)
    else:
        entry = service if service is not None and me == 0 else pwd.getpwuid(me)
    if me not in (entry.pw_uid, 0):
        raise UserError(f"--user {entry.pw_name}: only root can check as another user; run "
                        "config check as root, or without --user", EX_USAGE)
    judged = bool(name) or service is None or entry.pw_uid == service.pw_uid
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=entry.pw_uid != me,
                   judged=judged)


def _user(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def check_paths(account: Account, checks: Sequence[tuple[Path, Want]]) -> list[str | None]:
    """For each (path, want): None when ``account`` can do it, else why not (a short phrase).

    ``"database"``: the database file's directory can be created (or exists) and written, and
    the files there (``-wal``, ``-shm``, ``.lock``, the database) opened for writing;
    ``"read"``: the file can be read. Runs in a child as the account when ``switch``.
    """
    def work() -> list[str | None]:
        return [_database_problem(path) if want == "database" else _read_problem(path)
                for path, want in checks]

    if not account.switch:
        return work()
    return _in_child(account, work)


def _in_child(account: Account, work: Callable[[], list[str | None]]) -> list[str | None]:
    """``work()`` run in a forked child that took ``account``'s identity; its answer as JSON
    through a pipe. A child that dies without answering is an error of this program."""
    groups = os.getgrouplist(account.name, account.gid)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.close(read_end)
            os.setgroups(groups)
            os.setgid(account.gid)
            os.setuid(account.uid)
            os.write(write_end, json.dumps(work()).encode("utf-8"))
            status = 0
        except BaseException as error:  # said by the parent, which has the terminal
            os.write(write_end, json.dumps(f"{type(error).__name__}: {error}").encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        data = answer.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        failure = json.loads(data) if data else "no answer"
        raise RuntimeError(f"the check as {account.who} failed ({failure})")
    answers: list[str | None] = json.loads(data)
    return answers


def _reason(error: OSError) -> str:
    return error.strerror or errno.errorcode.get(error.errno or 0, str(error))


def _database_problem(path: Path) -> str | None:
    """Can the daemon create and write the database ``path``? (see ``check_paths``)"""
    directory = path.parent
    missing = None
    for candidate in (directory, *directory.parents):
        try:
            candidate.stat()
            break
        except FileNotFoundError:
            missing = candidate
        except OSError as error:  # a parent it may not enter
            return f"cannot reach {candidate} ({_reason(error)})"
    if missing is not None:
        # The first directory the daemon would make: made and removed again, so the check
        # leaves nothing behind (its parents exist; what is below it would be its own).
        try:
            missing.mkdir()
        except OSError as error:
            return f"cannot create the directory {missing} ({_reason(error)})"
        missing.rmdir()
        return None
    if not directory.is_dir():
        return f"{directory} is not a directory"
    try:
        handle, name = tempfile.mkstemp(prefix=".watchdog-check-", dir=directory)
    except OSError as error:
        return f"cannot create files in {directory} ({_reason(error)})"
    os.close(handle)
    os.unlink(name)
    for file in (path, *(path.with_name(path.name + suffix)
                         for suffix in ("-wal", "-shm", ".lock"))):
        try:
            os.close(os.open(file, os.O_RDWR))
        except FileNotFoundError:
            continue
        except OSError as error:
            return f"cannot write {file} ({_reason(error)})"
    return None


def _read_problem(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        return f"cannot read {path} ({_reason(error)})"
    return None
