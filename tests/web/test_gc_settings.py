"""What `newsdesk serve` does to the garbage collector before serving (web.app.freeze_startup_objects)."""

from __future__ import annotations

import gc

from newsdesk.web.app import GC_YOUNG_THRESHOLD, freeze_startup_objects


def test_startup_objects_are_frozen_and_young_collections_start_later() -> None:
    before = gc.get_threshold()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 0
        # only the first generation's threshold moves: the older ones keep their ratios
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert before[0] < GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
