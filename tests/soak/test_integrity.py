"""The integrity check the suites judge databases by: SQLite 3.40's false "NULL value" lines
left out, a real NULL in a NOT NULL column still found."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from testbed.integrity import integrity


def _database(path: Path, value: int | None) -> Path:
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("CREATE TABLE summary (key INTEGER NOT NULL, count INTEGER, "
                           "PRIMARY KEY (key)) WITHOUT ROWID")
        connection.execute("INSERT INTO summary VALUES (1, ?)", (value,))
        # The column becomes NOT NULL under the row, as a damaged file could have it.
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, 'count INTEGER', "
            "'count INTEGER NOT NULL') WHERE name = 'summary'")
    return path


def test_a_without_rowid_table_without_nulls_is_ok(tmp_path: Path) -> None:
    assert integrity(_database(tmp_path / "clean.db", 5)) == "ok"


def test_a_null_a_row_really_holds_is_reported(tmp_path: Path) -> None:
    assert integrity(_database(tmp_path / "damaged.db", None)) == "NULL value in summary.count"


def test_a_file_that_cannot_be_opened_says_so(tmp_path: Path) -> None:
    assert integrity(tmp_path / "missing.db").startswith("cannot check: ")
