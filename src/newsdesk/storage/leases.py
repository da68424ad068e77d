"""Leases: several collection workers, on any number of hosts, share one database.

PostgreSQL coordinates; there is no broker. A worker *leases* due sources: it marks them with its
id and a lease end (`sources.lease_owner`, `sources.lease_until`) in one short transaction, polls
them, and records each outcome only if it still holds the lease (fencing). A worker that dies
simply stops renewing; its leases run out and another worker takes the sources over.

- PostgreSQL: the candidate rows are read `FOR UPDATE SKIP LOCKED`, so concurrent workers never
  wait for each other nor lease the same source, and READ COMMITTED re-checks a locked row's
  lease against its newest version (which is why the lease lives on the source row itself, next
  to next_fetch_at, and not in a side table read from an older snapshot).
- SQLite: the same statements inside BEGIN IMMEDIATE (SqlStorage._write), which serializes the
  workers of one machine.

Politeness across workers: a worker leases a *host* (`host_leases`, by URL host name) together
with its sources, and no other worker leases a source of a host while that host lease runs. So
all traffic to one host comes from one worker at a time, whose Fetcher bounds its connections per
host (per_host_connections); host leases are renewed and released with the source leases.

Clock skew: lease times are compared with the `now` the worker passes; workers take it from the
database's clock (database_now()), so hosts whose clocks disagree still agree on lease ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..models import FetchState, Source
from .schema import UTCDateTime, metadata, sources

__all__ = ["LeasesMixin", "LeasesStorage", "host_leases", "lease_host"]

#: candidates read per wanted source: some are skipped because another worker holds their host
CANDIDATE_FACTOR = 4
#: the longest lease granted, whatever a caller asks: a bound on how long a dead worker's feeds wait
MAX_LEASE_SECONDS = 3600

host_leases = sa.Table(
    "host_leases",
    metadata,
    sa.Column("host", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=False),
)


# record_fetch_states: built once, values bound per row (building a Core statement per row costs
# more than running it). The lease condition is the fence; the lease is released in the same step.
_HELD = (
    sa.select(sources.c.id)
    .where(sources.c.id.in_(sa.bindparam("ids", expanding=True)), sources.c.lease_owner == sa.bindparam("owner"))
    .order_by(sources.c.id)
    .with_for_update(of=sources)
)
_STATE_COLUMNS = ("etag", "last_modified", "last_fetched_at", "last_success_at", "next_fetch_at", "error_count",
                  "last_error", "last_error_kind", "interval_seconds")
_STATE_PARAMS = {name: sa.bindparam(f"v_{name}", type_=sources.c[name].type) for name in _STATE_COLUMNS}
_RECORD_STATE = (
    sa.update(sources)
    .where(sources.c.id == sa.bindparam("w_id"), sources.c.lease_owner == sa.bindparam("w_owner"))
    .values({**_STATE_PARAMS, "lease_owner": None, "lease_until": None})
)
#: update_fetch_states, for passes without leases (`newsdesk fetch`)
UPDATE_STATE = sa.update(sources).where(sources.c.id == sa.bindparam("w_id")).values(_STATE_PARAMS)


def state_params(state: FetchState) -> dict[str, Any]:
    """A FetchState as the v_* parameters of _RECORD_STATE and UPDATE_STATE."""
    from .sql import _state_values

    return {f"v_{k}": v for k, v in _state_values(state).items()}


def lease_host(url: str) -> str:
    """The politeness key of a source: its URL's host name, lower-cased."""
    return (urlsplit(url).hostname or url).lower()


class LeasesStorage(Protocol):
    def lease_due_sources(self, worker_id: str, now: datetime, limit: int, lease_seconds: int) -> list[Source]:
        """Lease up to `limit` unpaused sources that are due (next_fetch_at null or <= now) and not
        leased (lease_until null or < now), whose host no other worker holds, to `worker_id` until
        now + lease_seconds. The most overdue first. Concurrent callers get disjoint sources."""

    def record_fetch_state(self, source_id: int, worker_id: str, state: FetchState, title: str | None = None,
                           site_url: str | None = None) -> bool:
        """update_fetch_state, and release the lease, only if `worker_id` still holds the source.
        False when it lost the lease (it froze past its end and another worker took over): the
        newer state is kept."""

    def record_fetch_states(self, worker_id: str, states: Sequence[tuple[int, FetchState]]) -> list[int]:
        """record_fetch_state for many sources in one transaction, one statement run over all rows:
        a pass's steady state, where most feeds answer 304 and only their fetch state changes.
        Returns the ids whose lease `worker_id` had lost; those were not written."""

    def release_lease(self, source_id: int, worker_id: str) -> None:
        """Give a source back without recording anything (e.g. on shutdown)."""

    def release_worker_leases(self, worker_id: str) -> None:
        """Give back every source and host lease `worker_id` holds."""

    def renew_leases(self, worker_id: str, now: datetime, lease_seconds: int) -> int:
        """Extend what `worker_id` still holds to now + lease_seconds (its heartbeat); returns the
        number of sources renewed."""

    def database_now(self) -> datetime:
        """The database server's clock (PostgreSQL), or this machine's (SQLite)."""


def _lease_seconds(seconds: int) -> timedelta:
    return timedelta(seconds=max(1, min(int(seconds), MAX_LEASE_SECONDS)))


def _spread(per_host: list[list[int]], limit: int) -> list[int]:
    """Up to `limit` ids taken round-robin over the hosts: a batch of one host's feeds would be
    polled one after another (per-host connection limit) while other hosts wait."""
    chosen: list[int] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(ids) for ids in per_host):
        chosen.extend(ids[depth] for ids in per_host if depth < len(ids))
        depth += 1
    return chosen[:limit]


class LeasesMixin:
    """LeasesStorage for SqlStorage."""

    if TYPE_CHECKING:
        _backend: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def lease_due_sources(self, worker_id: str, now: datetime, limit: int, lease_seconds: int) -> list[Source]:
        from .sql import _to_source

        if limit <= 0:
            return []
        until = now + _lease_seconds(lease_seconds)
        candidates = (
            sa.select(sources.c.id, sources.c.url)
            .where(
                sources.c.paused.is_(False),
                sa.or_(sources.c.next_fetch_at.is_(None), sources.c.next_fetch_at <= now),
                sa.or_(sources.c.lease_until.is_(None), sources.c.lease_until < now),
            )
            .order_by(sources.c.next_fetch_at.asc().nulls_first(), sources.c.id)
            .limit(limit * CANDIDATE_FACTOR)
            # PostgreSQL: lock what we may lease, skip what another worker is leasing right now.
            # (SQLite ignores it: BEGIN IMMEDIATE already made this transaction the only writer.)
            .with_for_update(skip_locked=True, of=sources)
        )
        with self._write() as conn:
            rows = conn.execute(candidates).all()
            by_host: dict[str, list[int]] = {}
            for row in rows:
                by_host.setdefault(lease_host(row.url), []).append(row.id)
            # Up to `limit` hosts, the most overdue first, taken in sorted order so that two workers
            # wanting the same hosts queue instead of deadlocking.
            wanted = list(by_host)[:limit]
            held = self._take_hosts(conn, worker_id, sorted(wanted), now, until)
            chosen = _spread([by_host[h] for h in wanted if h in held], limit)
            if not chosen:
                return []
            conn.execute(
                sa.update(sources)
                .where(sources.c.id.in_(chosen))
                .values(lease_owner=worker_id, lease_until=until)
            )
            leased = conn.execute(
                sa.select(sources)
                .where(sources.c.id.in_(chosen))
                .order_by(sources.c.next_fetch_at.asc().nulls_first(), sources.c.id)
            ).all()
        return [_to_source(row) for row in leased]

    def _take_hosts(self, conn: sa.Connection, worker_id: str, hosts: Sequence[str], now: datetime,
                    until: datetime) -> set[str]:
        """The hosts among `hosts` that `worker_id` now holds: free, expired, or its own already."""
        if not hosts:
            return set()
        # One upsert for all of them (rows in sorted order, so two workers lock hosts in the same
        # order). An upsert locks each row and re-checks its condition on the newest version, so two
        # workers can never both take a host; a row whose condition fails is not returned.
        stmt = (
            self._backend.insert(host_leases)
            .values([{"host": host, "owner": worker_id, "lease_until": until} for host in hosts])
            .on_conflict_do_update(
                index_elements=["host"],
                set_={"owner": worker_id, "lease_until": until},
                where=sa.or_(host_leases.c.lease_until < now, host_leases.c.owner == worker_id),
            )
            .returning(host_leases.c.host)
        )
        return set(conn.execute(stmt).scalars())

    def record_fetch_state(self, source_id: int, worker_id: str, state: FetchState, title: str | None = None,
                           site_url: str | None = None) -> bool:
        from .sql import _clean, _state_values

        values: dict[str, Any] = {**_state_values(state), "lease_owner": None, "lease_until": None}
        if title:
            values["title"] = sa.case((sources.c.title == "", _clean(title)), else_=sources.c.title)
        if site_url:
            values["site_url"] = sa.func.coalesce(sources.c.site_url, site_url)
        stmt = sa.update(sources).where(sources.c.id == source_id, sources.c.lease_owner == worker_id)
        with self._write() as conn:
            return bool(conn.execute(stmt.values(values)).rowcount)

    def record_fetch_states(self, worker_id: str, states: Sequence[tuple[int, FetchState]]) -> list[int]:
        if not states:
            return []
        with self._write() as conn:
            # The rows still ours, locked (PostgreSQL) so no lease can change hands before the update.
            held = set(conn.execute(_HELD, {"ids": [i for i, _ in states], "owner": worker_id}).scalars())
            rows = [{"w_id": source_id, "w_owner": worker_id, **state_params(state)}
                    for source_id, state in states if source_id in held]
            if rows:
                conn.execute(_RECORD_STATE, rows)
        return [source_id for source_id, _ in states if source_id not in held]

    def release_lease(self, source_id: int, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(sources)
                .where(sources.c.id == source_id, sources.c.lease_owner == worker_id)
                .values(lease_owner=None, lease_until=None)
            )

    def release_worker_leases(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(sources)
                .where(sources.c.lease_owner == worker_id)
                .values(lease_owner=None, lease_until=None)
            )
            conn.execute(sa.delete(host_leases).where(host_leases.c.owner == worker_id))

    def renew_leases(self, worker_id: str, now: datetime, lease_seconds: int) -> int:
        until = now + _lease_seconds(lease_seconds)
        with self._write() as conn:
            renewed = conn.execute(
                sa.update(sources).where(sources.c.lease_owner == worker_id).values(lease_until=until)
            ).rowcount
            conn.execute(
                sa.update(host_leases).where(host_leases.c.owner == worker_id).values(lease_until=until)
            )
        return int(renewed)

    def database_now(self) -> datetime:
        if self._backend.name != "postgresql":
            return datetime.now(UTC)
        with self._read() as conn:
            value = conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one()
        if not isinstance(value, datetime):
            raise TypeError("clock_timestamp() did not return a datetime")
        return value.astimezone(UTC)
