"""The API's source directory: a page of entries reads only its own sources once the cache expired."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from newsdesk.models import NewSource
from newsdesk.services.feedreader import SourceDirectory
from newsdesk.storage.sql import SqlStorage

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_some_reads_only_the_asked_sources_when_the_directory_is_stale(tmp_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{tmp_path / 'd.sqlite'}")
    storage.migrate()
    ids = [storage.add_source(NewSource(url=f"https://s{n}.example/feed", title=f"S{n}"), NOW).id
           for n in range(30)]
    clock = [0.0]
    directory = SourceDirectory(storage, ttl=5.0, clock=lambda: clock[0])
    statements: list[str] = []
    sa.event.listen(storage._backend.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *rest: statement.startswith("SELECT")
                    and statements.append(statement))

    # stale (never loaded): one query for the three sources, not the directory
    found = directory.some([ids[3], ids[7], ids[3], 99_999])
    assert {i: s.title for i, s in found.items()} == {ids[3]: "S3", ids[7]: "S7"}
    assert len(statements) == 1 and " IN " in statements[0]

    # fresh: from the loaded directory, no query
    directory.sources()
    statements.clear()
    clock[0] = 4.0
    assert set(directory.some([ids[0], ids[29]])) == {ids[0], ids[29]}
    assert statements == []
    storage.close()
