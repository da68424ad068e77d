"""Quality gate on the ScrapingHub article-extraction benchmark (AEB), scored as bench/extract.py does.

The data lives outside the repository (<repo>/../shared/data/aeb, or $NEWSDESK_AEB_DIR); without it
this gate is skipped with a message saying so. The floors sit just under what newsdesk reaches
(docs/benchmarks.md). Never lower them silently: a drop is a regression to fix, or to explain in
the commit message that lowers a floor.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

#: newsdesk reaches F1 0.976 (precision 0.970, recall 0.982); trafilatura's best on AEB is 0.96
AEB_F1_FLOOR = 0.973
AEB_PRECISION_FLOOR = 0.965
AEB_RECALL_FLOOR = 0.978
#: pages on which newsdesk gives nothing (no article, or a crash); it is 0 of 181 today
AEB_MAX_EMPTY = 0.01
#: the whole gate must stay well within a CI minute
TIME_BUDGET_SECONDS = 60

BENCH = Path(__file__).resolve().parents[2] / "bench" / "extract.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("newsdesk_bench_extract", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_aeb_quality_gate() -> None:
    bench = _bench()
    directory = bench.aeb_dir()
    if directory is None:
        pytest.skip("AEB data not found at <repo>/../shared/data/aeb (or $NEWSDESK_AEB_DIR): gate skipped")
    pages = bench.load_aeb(directory)
    assert len(pages) == 181
    started = time.monotonic()
    result = bench.run_one(bench._newsdesk, pages)
    elapsed = time.monotonic() - started
    assert result.errors == 0
    assert result.empty <= AEB_MAX_EMPTY
    assert result.f1 >= AEB_F1_FLOOR, result
    assert result.precision >= AEB_PRECISION_FLOOR, result
    assert result.recall >= AEB_RECALL_FLOOR, result
    assert elapsed < TIME_BUDGET_SECONDS, elapsed


def test_metric_matches_the_aeb_definition() -> None:
    bench = _bench()
    # Identical text: all true positives; case is kept, so "The" and "the" differ.
    assert bench.shingle_counts("one two three four five", "one two three four five") == (1.0, 0.0, 0.0)
    tp, fp, fn = bench.shingle_counts("one two three four five", "One two three four five")
    assert tp == pytest.approx(1 / 3) and fp == pytest.approx(1 / 3) and fn == pytest.approx(1 / 3)
    # Fewer than four words make one short shingle; nothing at all makes none.
    assert bench.shingle_counts("a b", "a b") == (1.0, 0.0, 0.0)
    assert bench.shingle_counts("", "") == (0.0, 0.0, 0.0)
    # Precision averages over pages with output, recall over pages with a truth.
    score = bench.score(["one two three four", "five six seven eight"], ["one two three four", ""], 1.0, 0)
    assert score.precision == 1.0 and score.recall == 0.5 and score.empty == 0.5
    assert score.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)
