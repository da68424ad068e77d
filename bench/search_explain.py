"""EXPLAIN (ANALYZE, BUFFERS) of the one statement a search page runs, for each benchmark word.

  PYTHONPATH=src python bench/search_explain.py DATABASE_URL [--rounds 5] [--plan WORD] [--words a,b]
                                                 [--bucket-bits 10]

Captures the statement `SqlStorage.search_and_count(word, limit=30)` executes (a
before_cursor_execute hook) and replays it under EXPLAIN: the server's execution ms, without
the wait for a core in the calling process. Prints the median and minimum of the rounds per word
and the top node's buffer hits; --plan prints one word's whole plan; --words replaces the benchmark's
words; --bucket-bits overrides storage/postgres.py's SEARCH_BUCKET_BITS (the band of the search walk;
only fast where an index over (search, (id >> bits)) exists, to compare band widths on one archive).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import newsdesk.storage.postgres as postgres_module  # noqa: E402
from newsdesk.storage.sql import SqlStorage  # noqa: E402
from scale import SEARCH_TERMS  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("database_url")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--plan", default="")
    p.add_argument("--words", default="")
    p.add_argument("--bucket-bits", type=int)
    args = p.parse_args()
    if args.bucket_bits is not None:
        postgres_module.SEARCH_BUCKET_BITS = args.bucket_bits
    storage = SqlStorage(args.database_url)
    engine = storage._backend.engine
    captured: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "search" in statement and not statement.startswith("EXPLAIN"):
            captured.append((statement, parameters))

    bits = getattr(postgres_module, "SEARCH_BUCKET_BITS", None)
    windows = getattr(postgres_module, "SEARCH_WINDOWS", None)  # main's code before the band walk
    print(f"bucket bits {bits}, windows {windows}, load {os.getloadavg()[0]:.2f}")
    medians, minimums = [], []
    words = [args.plan] if args.plan else args.words.split(",") if args.words else SEARCH_TERMS
    for word in words:
        captured.clear()
        storage.search_and_count(word, limit=30)
        statement, parameters = captured[-1]
        times, plan, buffers = [], [], 0
        for _ in range(args.rounds):
            with engine.connect() as conn:
                plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
            found = re.search(r"Execution Time: ([\d.]+)", plan[-1])
            times.append(float(found.group(1)) if found else float("nan"))
            hits = re.search(r"shared hit=(\d+)", plan[1])
            buffers = int(hits.group(1)) if hits else 0
        medians.append(statistics.median(times))
        minimums.append(min(times))
        print(f"{word:12s} median {medians[-1]:7.1f} ms  min {minimums[-1]:6.1f}  buffers {buffers}")
        if args.plan:
            print("\n".join(plan))
    print(f"sum of medians {sum(medians):.1f} ms, of minimums {sum(minimums):.1f}; load {os.getloadavg()[0]:.2f}")
    storage.close()


if __name__ == "__main__":
    main()
