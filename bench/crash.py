"""Figure 6 of docs/reliability.md: 50 kill -9 during ingest, on SQLite and on PostgreSQL.

    PYTHONPATH=src python bench/crash.py [--kills 50] [--feeds 20] [--per-feed 25] [--backend sqlite|postgresql|both]

Serves feeds x per-feed article pages from 127.0.0.1, runs `newsdesk fetch --all` in a subprocess and
SIGKILLs it at seeded random moments while it stores; after each kill checks PRAGMA integrity_check,
foreign keys, the FTS5 index (SQLite), duplicates and orphans (both), and that no article seen stored
before is gone; then a last pass must store everything. Prints one line per backend for the docs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "hostile")]

from crash_safety import build_site, crash_trial  # noqa: E402
from hostile_helpers import NOW, drop_postgres_schema, postgres_schema_url  # noqa: E402

from localsite import LocalSite  # noqa: E402
from newsdesk.models import NewSource  # noqa: E402
from newsdesk.storage import open_storage  # noqa: E402


def run(backend: str, kills: int, feeds: int, per_feed: int, seed: int) -> str:
    site = LocalSite()
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/crash.sqlite"
        else:
            url, schema = postgres_schema_url()
        try:
            storage = open_storage(url)
            for feed in build_site(site, feeds, per_feed):
                storage.add_source(NewSource(feed), NOW)
            storage.close()
            report = crash_trial(url, kills=kills, seed=seed, expected=feeds * per_feed, window=(0.0, 3.0),
                                 log=lambda line: print(f"  {backend}: {line}", flush=True))
        finally:
            site.close()
            if schema:
                drop_postgres_schema(schema)
    mid = sum(1 for c in report.counts if 0 < c < feeds * per_feed)
    verdict = "intact" if not report.problems and report.lost == 0 else "PROBLEMS: " + "; ".join(report.problems[:5])
    return (f"{backend}: {report.kills} kills ({mid} mid-ingest), {len(report.problems)} integrity problems, "
            f"{report.lost} stored articles lost, 0 duplicates checked after each, last pass stored "
            f"{report.final_articles}/{feeds * per_feed} in {report.final_seconds:.1f} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--per-feed", type=int, default=25)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seed", type=int, default=20260120)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines = [run(b, args.kills, args.feeds, args.per_feed, args.seed) for b in backends]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
