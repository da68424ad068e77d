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


def test_some_reads_a_source_once_per_ttl(tmp_path: Path) -> None:
    """Pages of entries come from the same sources: once read, a source is reused for the TTL, and
    only sources not read lately are asked for; invalidate() forgets them (an admin's change)."""
    storage = SqlStorage(f"sqlite:///{tmp_path / 'd.sqlite'}")
    storage.migrate()
    ids = [storage.add_source(NewSource(url=f"https://s{n}.example/feed", title=f"S{n}"), NOW).id
           for n in range(10)]
    clock = [0.0]
    directory = SourceDirectory(storage, ttl=5.0, clock=lambda: clock[0])
    asked: list[list[int]] = []
    real = storage.list_sources_uncounted

    def counting(wanted: object = None) -> list[object]:
        asked.append(sorted(wanted))  # type: ignore[arg-type]
        return real(wanted)  # type: ignore[arg-type, return-value]

    storage.list_sources_uncounted = counting  # type: ignore[assignment, method-assign]
    assert set(directory.some(ids[:4])) == set(ids[:4])
    clock[0] = 3.0
    assert set(directory.some(ids[2:6])) == set(ids[2:6])
    assert asked == [ids[:4], ids[4:6]]  # the second page read only its two new sources
    storage.update_source(ids[2], title="Renamed")
    clock[0] = 5.5  # ids 0-3 expired, 4 and 5 not
    assert directory.some([ids[2], ids[4]])[ids[2]].title == "Renamed"
    assert asked[-1] == [ids[2]]
    storage.update_source(ids[4], title="Renamed too")
    directory.invalidate()
    assert directory.some([ids[4]])[ids[4]].title == "Renamed too"
    storage.close()
