"""Figure 8 in CI, small: the reader keeps answering, with no 5xx and no 'database is locked', while
a pass ingests 500 articles into SQLite (bench/load.py measures 10,000 and the p95)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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
