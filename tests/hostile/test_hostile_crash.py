"""Figure 6 in CI: kill -9 during ingest, a few times per backend (bench/crash.py runs the full 50)."""

from __future__ import annotations

import pytest
from crash_safety import build_site, crash_trial
from hostile_helpers import NOW

from newsdesk.models import NewSource
from newsdesk.storage import open_storage

FEEDS, PER_FEED = 8, 12


@pytest.mark.slow
def test_kill_9_during_ingest_loses_nothing_and_the_next_pass_resumes(site, database_url) -> None:
    storage = open_storage(database_url)
    try:
        for url in build_site(site, FEEDS, PER_FEED):
            storage.add_source(NewSource(url), NOW)
    finally:
        storage.close()
    expected = FEEDS * PER_FEED
    report = crash_trial(database_url, kills=6, seed=20260120, expected=expected, window=(0.0, 1.5))
    print(f"\nkills: {report.kills}, articles after each: {report.counts}, last pass {report.final_seconds:.1f} s")
    assert report.problems == []
    assert report.lost == 0
    assert report.kills >= 4  # most kills landed mid-pass, not after a finished one
    assert report.final_articles == expected
    # kills landed while articles were being stored, not only before or after
    assert any(0 < c < expected for c in report.counts), report.counts
