"""The schema revision this code writes and reads, known without SQLAlchemy or Alembic, so the
read-only CLI can refuse a database a newer watchdog wrote (``reader``) and the daemon can tell a
current schema with one stdlib query (``migrate``)."""

from __future__ import annotations

VERSION_TABLE = "alembic_version"
# The newest revision in migrations/versions (a test checks it against Alembic's head).
HEAD_REVISION = "0009"


def is_newer(revision: str | None) -> bool:
    """Whether ``revision`` comes after ``HEAD_REVISION``: written by a newer watchdog.

    Revisions are numbered ``NNNN``; one that is not a number is not ours either way and is
    left to the caller's other checks."""
    if revision is None or not revision.isdigit():
        return False
    return int(revision) > int(HEAD_REVISION)
