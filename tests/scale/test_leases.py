"""Lease contract (storage/leases.py), on SQLite and PostgreSQL: due sources go to one worker at a
time, a lease runs out, a worker that lost its lease cannot overwrite newer state, and a host is
polled by one worker at a time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from newsdesk.models import FetchState, NewSource
from newsdesk.storage.sql import SqlStorage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def add(storage: SqlStorage, url: str) -> int:
    return storage.add_source(NewSource(url=url), NOW - timedelta(hours=1)).id


def test_due_sources_are_leased_once(storage: SqlStorage) -> None:
    ids = [add(storage, f"http://h{i}.example/feed") for i in range(5)]
    storage.update_fetch_state(ids[4], FetchState(next_fetch_at=NOW + timedelta(hours=1)))  # not due
    storage.set_source_paused(ids[3], True)
    first = storage.lease_due_sources("w1", NOW, 10, 60)
    assert sorted(s.id for s in first) == ids[:3]
    assert storage.lease_due_sources("w2", NOW, 10, 60) == []
    # the lease shows on the row, with its end
    assert {storage.get_source(i).id for i in ids[:3]} == set(ids[:3])


def test_limit_and_most_overdue_first(storage: SqlStorage) -> None:
    ids = [add(storage, f"http://h{i}.example/feed") for i in range(4)]
    for n, source_id in enumerate(ids):
        storage.update_fetch_state(source_id, FetchState(next_fetch_at=NOW - timedelta(minutes=n)))
    leased = storage.lease_due_sources("w1", NOW, 2, 60)
    assert [s.id for s in leased] == [ids[3], ids[2]]
    assert [s.id for s in storage.lease_due_sources("w2", NOW, 5, 60)] == [ids[1], ids[0]]


def test_expired_lease_is_taken_over_and_the_old_holder_is_fenced(storage: SqlStorage) -> None:
    source_id = add(storage, "http://a.example/feed")
    assert [s.id for s in storage.lease_due_sources("frozen", NOW, 1, 30)] == [source_id]
    # still leased just before the end, free just after
    assert storage.lease_due_sources("w2", NOW + timedelta(seconds=29), 1, 30) == []
    later = NOW + timedelta(seconds=31)
    assert [s.id for s in storage.lease_due_sources("w2", later, 1, 30)] == [source_id]
    newer = FetchState(last_fetched_at=later, next_fetch_at=later + timedelta(hours=1), etag='"new"')
    assert storage.record_fetch_state(source_id, "w2", newer) is True
    # The frozen worker wakes up and tries to record its older outcome: refused, newer state kept.
    stale = FetchState(last_fetched_at=NOW, next_fetch_at=NOW + timedelta(minutes=10), etag='"old"')
    assert storage.record_fetch_state(source_id, "frozen", stale) is False
    state = storage.get_source(source_id).state
    assert state.etag == '"new"' and state.next_fetch_at == later + timedelta(hours=1)
    # recording released the lease; the source is simply not due
    assert storage.lease_due_sources("w3", later + timedelta(minutes=5), 1, 30) == []


def test_expired_lease_nobody_took_still_records(storage: SqlStorage) -> None:
    source_id = add(storage, "http://a.example/feed")
    storage.lease_due_sources("slow", NOW, 1, 10)
    state = FetchState(last_fetched_at=NOW, next_fetch_at=NOW + timedelta(hours=1))
    assert storage.record_fetch_state(source_id, "slow", state, title="A feed") is True
    assert storage.get_source(source_id).title == "A feed"


def test_one_worker_per_host(storage: SqlStorage) -> None:
    a1 = add(storage, "http://news.example/a.xml")
    a2 = add(storage, "http://NEWS.example/b.xml")
    other = add(storage, "http://other.example/feed")
    first = storage.lease_due_sources("w1", NOW, 1, 60)
    assert [s.id for s in first] == [a1]
    # w2 may not take the second feed of news.example while w1 holds the host
    assert [s.id for s in storage.lease_due_sources("w2", NOW, 10, 60)] == [other]
    # w1 itself may take more of its host
    assert [s.id for s in storage.lease_due_sources("w1", NOW, 10, 60)] == [a2]
    storage.release_worker_leases("w1")
    storage.release_worker_leases("w2")
    assert sorted(s.id for s in storage.lease_due_sources("w3", NOW, 10, 60)) == [a1, a2, other]


def test_renew_and_release(storage: SqlStorage) -> None:
    a = add(storage, "http://a.example/feed")
    b = add(storage, "http://b.example/feed")
    storage.lease_due_sources("w1", NOW, 10, 30)
    assert storage.renew_leases("w1", NOW + timedelta(seconds=20), 30) == 2
    # renewed: still held at +40 s, when the first lease would have run out
    assert storage.lease_due_sources("w2", NOW + timedelta(seconds=40), 10, 30) == []
    storage.release_lease(a, "w2")  # not w2's: nothing happens
    assert storage.lease_due_sources("w2", NOW + timedelta(seconds=40), 10, 30) == []
    storage.release_lease(a, "w1")
    storage.release_worker_leases("w1")  # also frees the hosts
    assert sorted(s.id for s in storage.lease_due_sources("w2", NOW + timedelta(seconds=40), 10, 30)) == [a, b]
    assert storage.renew_leases("w1", NOW, 30) == 0


def test_concurrent_workers_get_disjoint_sources(storage: SqlStorage, db_url: str) -> None:
    ids = {add(storage, f"http://h{i}.example/feed") for i in range(120)}
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        own = SqlStorage(db_url)  # a storage (connection pool) per worker, like separate processes
        try:
            mine: list[int] = []
            while batch := own.lease_due_sources(name, NOW, 7, 60):
                mine.extend(s.id for s in batch)
            got[name] = mine
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    leased = [i for mine in got.values() for i in mine]
    assert len(leased) == len(set(leased)) == len(ids)
    assert set(leased) == ids


def test_database_clock(storage: SqlStorage) -> None:
    assert abs(storage.database_now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_bulk_recording_is_fenced_per_source(storage: SqlStorage) -> None:
    """record_fetch_states (the 304 answers of a batch, in one statement) writes and releases only
    what the worker still holds, and names the rest."""
    ids = [add(storage, f"http://h{i}.example/feed") for i in range(4)]
    assert sorted(s.id for s in storage.lease_due_sources("w1", NOW, 10, 30)) == ids
    # ids[0]'s lease ran out and w2 took it over (its host lease too, once w1's ran out)
    later = NOW + timedelta(seconds=31)
    assert [s.id for s in storage.lease_due_sources("w2", later, 1, 30)] == [ids[0]]
    states = [(i, FetchState(etag=f'"{i}"', last_fetched_at=NOW, last_success_at=NOW,
                             next_fetch_at=NOW + timedelta(minutes=30), interval_seconds=1800)) for i in ids]
    assert storage.record_fetch_states("w1", states) == [ids[0]]
    for source_id in ids[1:]:
        state = storage.get_source(source_id).state
        assert state.etag == f'"{source_id}"' and state.next_fetch_at == NOW + timedelta(minutes=30)
        assert state.last_success_at == NOW and state.interval_seconds == 1800
    assert storage.get_source(ids[0]).state.etag is None  # w2's, untouched
    assert leased_ids(storage) == {ids[0]: "w2"}  # w1's recorded sources were released
    assert storage.record_fetch_states("w1", []) == []
    # without leases (`newsdesk fetch`): written whoever holds the source; an unknown id is skipped
    storage.update_fetch_states([(ids[0], states[0][1]), (10_000, states[0][1])])
    assert storage.get_source(ids[0]).state.etag == f'"{ids[0]}"'


def leased_ids(storage: SqlStorage) -> dict[int, str]:
    import sqlalchemy as sa

    from newsdesk.storage.schema import sources

    with storage._read() as conn:
        rows = conn.execute(sa.select(sources.c.id, sources.c.lease_owner)
                            .where(sources.c.lease_owner.is_not(None))).all()
    return {row.id: row.lease_owner for row in rows}
