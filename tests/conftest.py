import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from localsite import LocalSite  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _story_threads_end_with_their_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every story thread (services/storyqueue.py) a test started: the entry points close
    theirs, but a test that builds a RefreshContext does not, and its thread would go on sweeping a
    database that is gone, every 30 s, for the rest of the run."""
    from newsdesk.services import storyqueue

    started: list[storyqueue.StoryAssigner] = []
    start = storyqueue.StoryAssigner.start

    def recorded(self: storyqueue.StoryAssigner) -> None:
        started.append(self)
        start(self)

    monkeypatch.setattr(storyqueue.StoryAssigner, "start", recorded)
    yield
    for assigner in started:
        assigner.close()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    s = LocalSite()
    yield s
    s.close()
