"""Opens the configured label store: PostgreSQL when a URL is given, else the SQLite file."""

from __future__ import annotations

from pathlib import Path

from labels.store import LabelStore


def open_store(database_url: str, database_path: Path) -> LabelStore:
    """Connects, runs the schema migrations and returns the store."""
    if database_url:
        from labels.postgres_store import PostgresLabelStore

        return PostgresLabelStore(database_url)
    from labels.sqlite_store import SqliteLabelStore

    return SqliteLabelStore(database_path)
