"""``PRAGMA integrity_check`` on a database file, without SQLite 3.40's false alarm.

SQLite 3.40 (Debian 12's) reports "NULL value in TABLE.COLUMN" for every NOT NULL column of a
``WITHOUT ROWID`` table that holds rows (the watchdog's ``sample_minute`` and ``sample_hour``
after their first roll-up), although no row holds a NULL: ``CREATE TABLE t (k INTEGER NOT
NULL, v INTEGER NOT NULL, PRIMARY KEY (k)) WITHOUT ROWID`` with one row (1, 2) is enough.
Each such line is checked against the rows themselves (``typeof(COLUMN) = 'null'``) and
dropped only when none holds a NULL; every other finding stands.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

NULL_VALUE = re.compile(r"^NULL value in (\w+)\.(\w+)$")


def integrity(database: Path) -> str:
    """``PRAGMA integrity_check`` read-only: "ok", or what SQLite found (500 characters at
    most), its false "NULL value" lines left out."""
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True,
                                     timeout=10.0)) as connection:
            found = [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]
            found = [line for line in found if not _false_null(connection, line)]
    except sqlite3.Error as error:
        return f"cannot check: {error}"
    return "; ".join(found or ["ok"])[:500]


def _false_null(connection: sqlite3.Connection, line: str) -> bool:
    """Whether ``line`` says a column holds a NULL that no row of it holds."""
    match = NULL_VALUE.match(line)
    if match is None:
        return False
    table, column = match.groups()
    nulls = connection.execute(
        f'SELECT count(*) FROM "{table}" WHERE typeof("{column}") = \'null\'').fetchone()[0]
    return int(nulls) == 0
