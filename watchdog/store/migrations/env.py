"""Alembic environment for the watchdog's database.

At run time ``watchdog.store.migrate`` drives this with a ``Config`` built in code (no alembic.ini)
and hands over an open connection in ``config.attributes["connection"]``, inside the transaction
it already holds.

For developers writing a new revision (``render_as_batch`` is on, so SQLite ALTERs work)::

    .venv/bin/alembic -c watchdog/store/migrations/alembic.ini -x db=var/dev.db upgrade head
    .venv/bin/alembic -c watchdog/store/migrations/alembic.ini -x db=var/dev.db \\
        revision --autogenerate -m "what changes"

then read the generated file: autogenerate misses WITHOUT ROWID and expression indexes.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import watchdog.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    database = context.get_x_argument(as_dictionary=True).get("db")
    if database:
        return f"sqlite:///{database}"
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("pass the database with -x db=PATH")
    return url


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection the caller handed over, or on ``-x db=PATH``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(_url())
    with engine.connect() as own_connection:
        _migrate(own_connection)
        own_connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
