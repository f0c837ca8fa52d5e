"""Alembic's environment for the catalog: always run from engine.catalog.schema with the
catalog's own connection (never from a command line ini file), in batch mode so SQLite can
alter tables."""

from __future__ import annotations

from alembic import context


def run() -> None:
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "_proxy"):  # run by Alembic (a plain import, e.g. the architecture test, only defines it)
    run()
