"""Bring the database's schema to the code's revision with Alembic, after a backup copy.

The migrations ship inside the package (``watchdog/store/migrations``) and run from a
``Config`` built here: no alembic.ini is needed at run time.

Alembic is imported only when a migration is due: a current schema is recognised with one
stdlib query against ``HEAD_REVISION``, so the daemon never carries Alembic's ~11 MB. The
daemon runs a due migration in a child process (``python -m watchdog.store.migrate PATH``)
for the same reason.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.clock import utcnow
from watchdog.errors import DatabaseError
from watchdog.store.db import database_error
from watchdog.store.revision import HEAD_REVISION, VERSION_TABLE

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What is in the file now: ``revision`` None when unversioned; ``empty`` when no tables."""

    revision: str | None
    empty: bool


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The revision Alembic's scripts end at (``HEAD_REVISION`` must equal it)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head revision"
    return head


def inspect(path: Path) -> SchemaState:
    """Read the schema revision of ``path`` (stdlib ``sqlite3``, before any engine touches it).

    Raises ``DatabaseError`` when the file is not SQLite or holds another program's tables.
    """
    try:
        with closing(sqlite3.connect(path, timeout=10)) as connection:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            revision = None
            if VERSION_TABLE in tables:
                row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
                revision = row[0] if row else None
    except sqlite3.Error as error:
        raise database_error(path, error) from None
    if tables and VERSION_TABLE not in tables:
        raise DatabaseError(
            f"{path} is a SQLite database of another program (it has tables but no watchdog "
            "schema version); set storage.database to another file."
        )
    return SchemaState(revision=revision, empty=not tables)


def backup(path: Path, revision: str | None) -> Path:
    """Copy ``path`` with SQLite's online backup API to ``<name>.bak-<revision>-<UTC stamp>``.

    Returns the copy's path; raises ``DatabaseError`` when it cannot be written.
    """
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.bak-{revision or 'base'}-{stamp}")
    try:
        with closing(sqlite3.connect(path, timeout=10)) as source, closing(
            sqlite3.connect(target)
        ) as copy:
            source.backup(copy)
    except sqlite3.Error as error:
        raise DatabaseError(
            f"Cannot back up {path} to {target} before migrating ({error}); free disk space "
            "or make the directory writable, then start again."
        ) from None
    return target


def bring_up_to_date(engine: Engine, path: Path, *, migrate: bool) -> Path | None:
    """Upgrade ``path`` to the head revision in one transaction, backing it up first if needed.

    A new (empty) database gets the schema without a backup. With ``migrate=False`` an outdated
    schema is an error instead. Returns the backup's path, or None when none was made.
    Raises ``DatabaseError`` for a file that is not ours, a schema newer than this code, or a
    failure of SQLite.
    """
    state = inspect(path)
    if state.revision == HEAD_REVISION:
        return None
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    head = head_revision()
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if state.revision is not None and state.revision not in known:
        raise DatabaseError(
            f"{path} was written by a newer version of the watchdog (schema {state.revision}); "
            "upgrade the watchdog, or restore one of the .bak- copies next to it."
        )
    if not migrate:
        raise DatabaseError(
            f"{path} needs a schema upgrade ({state.revision or 'empty'} to {head}); start the "
            "daemon (watchdog run) once so it migrates the database."
        )
    copy = None if state.empty else backup(path, state.revision)
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DBAPIError as error:
        raise database_error(path, error) from None
    return copy


def needs_migration(path: Path) -> bool:
    """Whether ``path`` is missing or has a schema other than this code's (stdlib only)."""
    if not path.exists() or path.stat().st_size == 0:
        return True
    return inspect(path).revision != HEAD_REVISION


def migrate_in_child(path: Path) -> None:
    """Migrate ``path`` in a short-lived child process, so this one never imports Alembic.

    Raises ``DatabaseError`` with the child's one sentence when it fails.
    """
    result = subprocess.run(
        [sys.executable, "-m", "watchdog.store.migrate", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()
        raise DatabaseError(message[-1] if message else f"migrating {path} failed")


def main(argv: list[str] | None = None) -> int:
    """``python -m watchdog.store.migrate PATH``: migrate, print the backup's path if any."""
    from watchdog.store.db import create_store_engine
    from watchdog.store.files import prepare_for_writing

    arguments = sys.argv[1:] if argv is None else argv
    path = Path(arguments[0])
    try:
        prepare_for_writing(path)
        engine = create_store_engine(path)
        try:
            copy = bring_up_to_date(engine, path, migrate=True)
        finally:
            engine.dispose()
    except DatabaseError as error:
        sys.stderr.write(f"{error}\n")
        return error.exit_code
    if copy is not None:
        sys.stdout.write(f"{copy}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
