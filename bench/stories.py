"""Story clustering quality and speed.

    PYTHONPATH=src python bench/stories.py [--seeds 1 2 3] [--synthetic 20000]

1. Streams the UCI dev set (../shared/data/stories/uci-news-dev.jsonl, 2,979 English headlines in
   44 gold stories) in seeded random orders with a synthetic clock (one item a minute, so every item
   is inside the 3-day window; real timestamps would leak the story boundaries) through
   StoryClusterer, and through a single-pass TF-IDF centroid baseline in the same run. Prints
   pairwise and B-cubed precision/recall/F1 (mean over seeds) and items/s.
   --ablation switches each mechanism off in turn; --split-half tunes the threshold knobs on half of
   the gold stories and scores the choice on the other half.
2. Measures assignment cost with a large window: perturbed copies of the UCI headlines (words dropped,
   shuffled and replaced with random vocabulary) streamed within one window; prints ms/item for the
   first and the last thousand items, so growth with the window shows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsdesk.stories.cluster import ClusterConfig, ClusterItem, StoryClusterer

ROOT = Path(__file__).resolve().parents[1]
# the shared data folder sits beside the repo root; NEWSDESK_SHARED points elsewhere (git worktrees)
SHARED = Path(os.environ.get("NEWSDESK_SHARED") or ROOT / ".." / "shared")
DATA = SHARED / "data" / "stories" / "uci-news-dev.jsonl"
T0 = datetime(2014, 3, 10, tzinfo=UTC)


def load() -> list[dict]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def pairwise(pred: dict, gold: dict) -> tuple[float, float, float]:
    def pairs(labels: dict) -> int:
        return sum(n * (n - 1) // 2 for n in Counter(labels.values()).values())

    joint = Counter((pred[k], gold[k]) for k in gold)
    tp = sum(n * (n - 1) // 2 for n in joint.values())
    pp, gp = pairs(pred), pairs(gold)
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bcubed(pred: dict, gold: dict) -> tuple[float, float, float]:
    joint = Counter((pred[k], gold[k]) for k in gold)
    psize, gsize = Counter(pred[k] for k in gold), Counter(gold.values())
    p = sum(joint[(pred[k], gold[k])] / psize[pred[k]] for k in gold) / len(gold)
    r = sum(joint[(pred[k], gold[k])] / gsize[gold[k]] for k in gold) / len(gold)
    return p, r, 2 * p * r / (p + r)


_EMBEDDINGS: dict = {}


def embeddings(rows: list[dict]) -> dict:
    """id -> the headline's sentence embedding (stories.embedding), computed once per process."""
    todo = [r for r in rows if r["id"] not in _EMBEDDINGS]
    if todo:
        from newsdesk.stories.embedding import HeadlineEncoder

        vecs = HeadlineEncoder().encode([r["title"] for r in todo])
        _EMBEDDINGS.update(zip((r["id"] for r in todo), vecs, strict=True))
    return _EMBEDDINGS


def run_clusterer(
    rows: list[dict], seed: int, config: ClusterConfig | None = None, use_url: bool = True,
    embed: bool = True,
) -> tuple[dict, float]:
    """Stream rows in a seeded order; `embed` gives each item its headline embedding, as the
    ingest does (prepare_article); the encoding is not in the items/s."""
    order = rows[:]
    random.Random(seed).shuffle(order)
    clusterer = StoryClusterer(config)
    pred: dict = {}
    members: dict[int, list] = {}
    vectors = embeddings(rows) if embed else {}
    start = time.perf_counter()
    for i, row in enumerate(order):
        item = ClusterItem(
            row["id"],
            row["title"],
            T0 + timedelta(minutes=i),
            None,
            row.get("lang"),
            row.get("publisher"),
            url=row.get("url") if use_url else None,
            embedding=vectors.get(row["id"]),
        )
        a = clusterer.assign(item)
        pred[row["id"]] = a.story_id
        members.setdefault(a.story_id, []).append(row["id"])
        for old in a.merged:  # storage follows merges the same way
            for k in members.pop(old, []):
                pred[k] = a.story_id
                members[a.story_id].append(k)
    return pred, len(order) / (time.perf_counter() - start)


_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "at",
        "by",
        "with",
        "from",
        "is",
        "are",
        "was",
        "be",
        "as",
        "it",
        "its",
        "that",
        "this",
    ]
)


def run_baseline(rows: list[dict], seed: int, threshold: float = 0.1) -> tuple[dict, float]:
    """Single-pass TF-IDF centroid clustering: each headline joins the most similar centroid (cosine,
    incremental idf) if above `threshold`, else starts a cluster. Compares against every cluster."""
    order = rows[:]
    random.Random(seed).shuffle(order)
    df: Counter = Counter()
    cents: list[Counter] = []
    pred = {}
    start = time.perf_counter()
    for n, row in enumerate(order):
        tf = Counter(w for w in re.findall(r"\w+", row["title"].lower()) if w not in _STOP and len(w) > 1)

        def idf(f: str, n: int = n) -> float:
            return math.log((n + 1) / (df[f] + 1)) + 1

        vec = {f: c * idf(f) for f, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in vec.values())) or 1.0
        best = (-1.0, -1)
        for i, c in enumerate(cents):
            cn = math.sqrt(sum((w * idf(f)) ** 2 for f, w in c.items())) or 1.0
            s = sum(vec[f] * c[f] * idf(f) for f in vec if f in c) / (norm * cn)
            if s > best[0]:
                best = (s, i)
        if best[0] >= threshold:
            idx = best[1]
        else:
            cents.append(Counter())
            idx = len(cents) - 1
        cents[idx].update(tf)
        pred[row["id"]] = idx
        df.update(tf.keys())
    return pred, len(order) / (time.perf_counter() - start)


def mixes(rows: list[dict], pred: dict, top: int = 5) -> None:
    """The predicted stories holding the most wrong pairs, each with its gold stories (an example
    headline of each and how many of its items are there)."""
    gold = {r["id"]: r["story"] for r in rows}
    example: dict = {}
    for r in rows:
        example.setdefault(r["story"], r["title"][:45])
    held: dict = {}
    for k, s in pred.items():
        held.setdefault(s, Counter())[gold[k]] += 1
    wrong = []
    for counts in held.values():
        n = sum(counts.values())
        bad = (n * (n - 1) - sum(c * (c - 1) for c in counts.values())) // 2
        if bad:
            wrong.append((bad, counts))
    for bad, counts in sorted(wrong, key=lambda t: -t[0])[:top]:
        print(f"    {bad} wrong pairs: " + "; ".join(f"{c} x {example[g]!r}" for g, c in counts.most_common(4)))


def quality(rows: list[dict], seeds: list[int], show_mixes: bool = False) -> None:
    gold = {r["id"]: r["story"] for r in rows}
    for name, runner in (
        ("StoryClusterer", run_clusterer),
        ("TF-IDF centroid baseline (t=0.10)", run_baseline),
    ):
        scores = []
        for seed in seeds:
            pred, ips = runner(rows, seed)
            scores.append((*pairwise(pred, gold), *bcubed(pred, gold), ips, len(set(pred.values()))))
            s = scores[-1]
            print(
                f"  {name} seed {seed}: pairwise P={s[0]:.3f} R={s[1]:.3f} F1={s[2]:.3f} | "
                f"B3 P={s[3]:.3f} R={s[4]:.3f} F1={s[5]:.3f} | {s[7]} stories | {s[6]:.0f} items/s"
            )
            if show_mixes and runner is run_clusterer:
                mixes(rows, pred)
        mean = [sum(col) / len(col) for col in zip(*scores, strict=True)]
        print(
            f"{name} (mean of {len(seeds)} seeds): "
            f"pairwise P={mean[0]:.3f} R={mean[1]:.3f} F1={mean[2]:.3f} | "
            f"B-cubed P={mean[3]:.3f} R={mean[4]:.3f} F1={mean[5]:.3f} | {mean[6]:.0f} items/s"
        )


#: what each mechanism adds, switched off one at a time from the defaults (ablation)
ABLATIONS: dict[str, dict] = {
    "without headline embeddings": {"embedding_weight": 0.0},
    "embeddings without the gate": {"embedding_gate": -1.0},
    "without URL slug words": {"slug_weight": 0.0},
    "without regrouping small stories": {"regroup_size": 0},
    "join threshold 0.15 (before)": {"threshold": 0.15},
    "without merges": {"merge_threshold": 1.0},
}


def ablation(rows: list[dict], seeds: list[int]) -> None:
    gold = {r["id"]: r["story"] for r in rows}
    for name, changes in {"defaults": {}, **ABLATIONS}.items():
        cfg = ClusterConfig(**changes)
        scores = []
        for seed in seeds:
            pred, _ = run_clusterer(rows, seed, cfg)
            scores.append((*pairwise(pred, gold), *bcubed(pred, gold)))
        mean = [sum(col) / len(col) for col in zip(*scores, strict=True)]
        print(
            f"  {name} (mean of seeds {seeds}): pairwise P={mean[0]:.3f} R={mean[1]:.3f} F1={mean[2]:.3f} | "
            f"B-cubed F1={mean[5]:.3f}"
        )


#: the knobs tuned on the dev set, and the values tried
GRID: dict[str, tuple[float, ...]] = {"threshold": (0.15, 0.17, 0.19), "regroup_threshold": (0.10, 0.12, 0.15)}
#: --split-half --embedding-grid: the headline embedding knobs instead
EMBEDDING_GRID: dict[str, tuple[float, ...]] = {
    "embedding_weight": (0.25, 0.35, 0.45), "embedding_floor": (0.3, 0.35, 0.4)}


def split_half(rows: list[dict], seeds: list[int], knobs: dict[str, tuple[float, ...]] = GRID) -> None:
    """Tune GRID on half of the gold stories, score the choice on the other half (and both ways)."""
    stories = sorted({r["story"] for r in rows})
    random.Random(0).shuffle(stories)
    halves = (set(stories[::2]), set(stories[1::2]))

    def score(part: set, changes: dict) -> float:
        sub = [r for r in rows if r["story"] in part]
        gold = {r["id"]: r["story"] for r in sub}
        f1s = [pairwise(run_clusterer(sub, seed, ClusterConfig(**changes))[0], gold)[2] for seed in seeds]
        return sum(f1s) / len(f1s)

    grid: list[dict] = [{}]
    for knob, values in knobs.items():
        grid = [{**g, knob: v} for g in grid for v in values]
    for a, b in ((0, 1), (1, 0)):
        tuned = [(score(halves[a], g), g) for g in grid]
        best_f1, best = max(tuned, key=lambda t: t[0])
        held = score(halves[b], best)
        oracle = max(score(halves[b], g) for g in grid)
        print(
            f"  tuned on half {a} ({len(halves[a])} stories): {best} pairwise F1 {best_f1:.3f}; on half {b} "
            f"({len(halves[b])} stories) it scores {held:.3f} (defaults {score(halves[b], {}):.3f}, "
            f"best possible in the grid {oracle:.3f})"
        )


def perturb(title: str, rng: random.Random, vocab: list[str]) -> str:
    words = title.split()
    words = [w for w in words if rng.random() > 0.2] or words[:1]
    for _ in range(rng.randint(0, 3)):
        words.insert(rng.randint(0, len(words)), rng.choice(vocab))
    if len(words) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def scale(rows: list[dict], n: int) -> None:
    rng = random.Random(7)
    vocab = sorted({w for r in rows for w in r["title"].split()})
    clusterer = StoryClusterer(ClusterConfig(window=timedelta(days=3)))
    step = timedelta(days=3) / (n + 1)  # all n items inside one window: the worst case
    times = []
    for i in range(n):
        row = rows[rng.randrange(len(rows))]
        item = ClusterItem(f"x{i}", perturb(row["title"], rng, vocab), T0 + step * i, None, "en")
        t = time.perf_counter()
        clusterer.assign(item)
        times.append(time.perf_counter() - t)
    first = sum(times[:1000]) / min(1000, n) * 1000
    last = sum(times[-1000:]) / min(1000, n) * 1000
    sizes = [s.size for s in clusterer.stories()]
    print(
        f"synthetic window of {n} perturbed items: {sum(times) / n * 1000:.2f} ms/item overall, "
        f"first 1000 {first:.2f} ms/item, last 1000 {last:.2f} ms/item; {len(sizes)} stories, "
        f"largest {max(sizes)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--synthetic", type=int, default=20_000, help="items in the scale run (0 skips it)")
    parser.add_argument("--scale-only", action="store_true", help="skip the quality runs")
    parser.add_argument("--ablation", action="store_true", help="switch each mechanism off in turn")
    parser.add_argument("--split-half", action="store_true", help="tune on half the stories, score the rest")
    parser.add_argument("--embedding-grid", action="store_true", help="--split-half over the embedding knobs")
    parser.add_argument("--mixes", action="store_true", help="print the stories holding the most wrong pairs")
    args = parser.parse_args()
    if not DATA.exists():
        print(
            f"skipped: the UCI dev set is not at {DATA} (it lives in the shared data folder beside the repo)"
        )
        return 0
    rows = load()
    print(
        f"UCI dev set: {len(rows)} headlines, {len({r['story'] for r in rows})} gold stories; "
        f"seeds {args.seeds}; synthetic clock one item a minute"
    )
    if args.ablation:
        ablation(rows, args.seeds)
    if args.split_half:
        split_half(rows, args.seeds, EMBEDDING_GRID if args.embedding_grid else GRID)
    if not args.scale_only and not (args.ablation or args.split_half):
        quality(rows, args.seeds, args.mixes)
    if args.synthetic:
        scale(rows, args.synthetic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
