"""bench/sqlite_cache: what SQLite's page cache size does to the 1,000-item read behind GReader's
`stream/items/contents`, on an archive that bench/api.py prepared (its user "bench").

usage: PYTHONPATH=src python bench/sqlite_cache.py ARCHIVE.sqlite [--rounds 12] [--calls 5]

Both sizes run on the same pooled connection, interleaved round by round (a round: set the size,
2 warm-up calls, then --calls timed ones), so that the machine's drift between runs, which on a
shared 2-core machine exceeds the difference, falls on both alike. Prints the CPU median per size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

#: KiB: SQLite's default (2 MB) and newsdesk's (storage/sqlite.py PAGE_CACHE_KIB)
SIZES = (2000, 64 * 1024)


def main() -> None:
    from newsdesk.storage import open_storage
    from newsdesk.storage.users import EntryQuery

    parser = argparse.ArgumentParser()
    parser.add_argument("archive")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    storage = open_storage(f"sqlite:///{Path(args.archive).resolve()}", migrate=False)
    user = storage.find_user("bench")
    if user is None:
        raise SystemExit("no user 'bench': prepare the archive with bench/api.py --db ARCHIVE first")
    ids = tuple(p.id for p in storage.query_user_article_positions(EntryQuery(user_id=user.id, limit=1000)))
    query = EntryQuery(user_id=user.id, article_ids=ids, limit=len(ids))
    cpu: dict[int, list[float]] = {size: [] for size in SIZES}
    for _ in range(args.rounds):
        for size in SIZES:
            with storage._read() as conn:  # the pool hands this connection out again (last in, first out)
                conn.exec_driver_sql(f"PRAGMA cache_size=-{size}")
            for _ in range(2):
                storage.query_user_articles(query)
            for _ in range(args.calls):
                started = time.process_time()
                storage.query_user_articles(query)
                cpu[size].append((time.process_time() - started) * 1000)
    storage.close()
    for size, values in cpu.items():
        print(f"cache_size -{size} (KiB): query_user_articles({len(ids)} ids) CPU median "
              f"{statistics.median(values):.1f} ms over {len(values)} calls")


if __name__ == "__main__":
    main()
