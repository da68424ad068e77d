"""The demo site's 24 articles through the pure clusterer in many random arrival orders.

    PYTHONPATH=src python bench/demo_stories.py [--orders 20] [--show] [--words-only]

The ingest test (tests/stories/test_demo_stories.py) sees one concurrent arrival order per run; this
measures the spread over orders: pairwise F1 against the demo's `event:` labels (mean, min), how many
orders merge two multi-outlet events, and the publication order.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

from newsdesk.demo.build import OUTLETS, Story, load_stories
from newsdesk.stories.cluster import ClusterConfig, ClusterItem, StoryClusterer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stories import pairwise  # noqa: E402  (the scorer of bench/stories.py)


def items() -> list[Story]:
    return [story for outlet in OUTLETS for story in load_stories(outlet)]


_VECTORS: dict[str, object] = {}


def vectors(stories: list[Story]) -> dict[str, object]:
    """url -> the headline's sentence embedding, as prepare_article computes it (once per process)."""
    todo = [s for s in stories if s.url not in _VECTORS]
    if todo:
        from newsdesk.stories.embedding import HeadlineEncoder

        _VECTORS.update(zip((s.url for s in todo), HeadlineEncoder().encode([s.title for s in todo]), strict=True))
    return _VECTORS


def run(stories: list[Story], config: ClusterConfig | None = None, embed: bool = False) -> dict[str, int]:
    vecs = vectors(stories) if embed else {}
    clusterer = StoryClusterer(config)
    members: dict[int, list[str]] = {}
    pred: dict[str, int] = {}
    for s in stories:
        text = " ".join([s.summary, *(t for _, t in s.blocks)])
        url = s.url.replace("{{BASE}}", "http://127.0.0.1:8000")
        a = clusterer.assign(ClusterItem(s.url, s.title, s.published, text, s.outlet.lang, s.outlet.slug, url=url,
                                         embedding=vecs.get(s.url)))  # type: ignore[arg-type]
        pred[s.url] = a.story_id
        members.setdefault(a.story_id, []).append(s.url)
        for old in a.merged:
            for k in members.pop(old, []):
                pred[k] = a.story_id
                members[a.story_id].append(k)
    return pred


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--show", action="store_true", help="print the mixed stories of each order")
    parser.add_argument("--words-only", action="store_true", help="without headline embeddings")
    args = parser.parse_args()
    stories = items()
    gold = {s.url: s.event for s in stories}
    multi = {e for e, n in Counter(gold.values()).items() if n > 1}
    f1s, mixed_orders = [], 0
    for seed in range(1, args.orders + 1):
        order = stories[:]
        random.Random(seed).shuffle(order)
        pred = run(order, embed=not args.words_only)
        f1s.append(pairwise(pred, gold)[2])
        mixes = []
        for sid in set(pred.values()):
            events = {gold[k] for k in pred if pred[k] == sid} & multi
            if len(events) > 1:
                mixes.append(sorted(events))
        mixed_orders += bool(mixes)
        if args.show and mixes:
            print(f"  order {seed}: F1 {f1s[-1]:.2f}, one story holds {mixes}")
    by_date = sorted(stories, key=lambda s: s.published)
    f1_pub = pairwise(run(by_date, embed=not args.words_only), gold)[2]
    print(
        f"demo site, {len(stories)} articles, {len(multi)} multi-outlet events, {args.orders} random orders: "
        f"pairwise F1 mean {sum(f1s) / len(f1s):.2f} (min {min(f1s):.2f}); "
        f"orders merging two events {mixed_orders}/{args.orders}; publication order {f1_pub:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
