"""Storage: the daemon writes (``writer.Store``), the CLI reads (``reader``), one SQLite file.

Nothing is imported here on purpose: ``watchdog.store.reader`` must stay free of SQLModel,
SQLAlchemy and Alembic so that short CLI commands start fast. Import from the modules:
``from watchdog.store.writer import Store`` (daemon) or ``from watchdog.store import reader`` (CLI).
"""
