"""Figure 8 in CI, small: the reader keeps answering, with no 5xx and no 'database is locked', while
a pass ingests 500 articles into SQLite (bench/load.py measures 10,000 and the p95); and collection
runs below the reader in CPU priority."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from newsdesk import worker
from newsdesk.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load import run_load  # noqa: E402


@pytest.mark.slow
def test_reader_answers_while_a_pass_ingests() -> None:
    report = run_load(feeds=10, per_feed=50, clients=4, log=lambda _: None)
    print(f"\nload: {report}")
    assert report["fetch_exit"] == 0
    assert report["articles"] == report["expected"] == 500
    assert report["locked"] == 0
    assert report["server_errors"] == 0
    assert report["requests"] > 50
    assert report["statuses"].keys() <= {"200", "404"}  # 404: an article id not stored yet


def _nice_of_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0)  # Linux: the calling thread's nice value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_collection_runs_below_the_reader_in_cpu_priority(storage, monkeypatch) -> None:
    """On a 2-core machine the pass's extraction took the cores from the reader (figure 8): collection
    now runs at +COLLECTION_NICENESS, in `newsdesk run` (the scheduler thread beside the web server),
    `newsdesk fetch` and `newsdesk worker`; the caller's own priority is left alone."""
    reader = _nice_of_thread()
    seen: list[int] = []

    async def fake_scheduler(*args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        seen.append(_nice_of_thread())
        # threads the pass starts (parsing, extraction: asyncio.to_thread) inherit the priority
        seen.append(await asyncio.to_thread(_nice_of_thread))

    monkeypatch.setattr(worker, "run_scheduler", fake_scheduler)
    thread, stop = worker.start_scheduler_thread(storage, load_settings({}))
    thread.join(10)
    stop.set()
    expected = min(19, reader + worker.COLLECTION_NICENESS)
    assert seen == [expected, expected]
    assert worker.in_collection_thread(_nice_of_thread) == expected
    assert _nice_of_thread() == reader  # the web server's threads (here: the test's) keep theirs
    with pytest.raises(ZeroDivisionError):  # a failure reaches the caller as it is
        worker.in_collection_thread(lambda: 1 // 0)
