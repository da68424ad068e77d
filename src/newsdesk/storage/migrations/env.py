"""Alembic environment for newsdesk.

SqlStorage.migrate() runs the migrations programmatically and hands over its own connection (already
inside a transaction, under the SQLite write lock) through `config.attributes["connection"]`; no
alembic.ini is needed. For development, `alembic -x url=sqlite:///path upgrade head` run from this
folder's parent (with a Config whose script_location points here) works too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from newsdesk.storage.schema import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    # When the caller's connection is already in a transaction, Alembic joins it: the whole
    # upgrade commits or rolls back as one.
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("newsdesk migrations run online only (they differ per database dialect)")

_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    _url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not _url:
        raise RuntimeError("no database: pass a connection in config.attributes or -x url=...")
    _engine = sa.create_engine(_url)
    try:
        with _engine.begin() as _conn:
            _run(_conn)
    finally:
        _engine.dispose()
