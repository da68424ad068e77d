"""bench/clustercost: the pure clusterer's cost per assignment, no database.

usage: NEWSDESK_SHARED=/work/shared PYTHONPATH=src python bench/clustercost.py OUT.json WINDOW STREAM [profile] [embed]

WINDOW perturbed copies (bench/archive.perturb) of the BBC and demo texts, about 30 % Dutch, half
of them copies of a text used before (so stories form), spread over 3 days, then STREAM more at
current times; features are computed beforehand (as prepare_article does outside the lock), and
StoryClusterer.assign of the STREAM items is timed with time.thread_time (CPU ms p50/p95/mean).
Every assignment (story, score, matched item, merges, explanation) is written to OUT.json, so two
versions of the clusterer can be compared byte for byte (cmp). Items are cached in /tmp. With
`embed`, items carry their headline's embedding (stories.embedding, as prepare_article gives them),
so the embedding scoring is run and compared too.
"""

from __future__ import annotations

import cProfile
import json
import pickle
import pstats
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from archive import load_texts, perturb  # noqa: E402

from newsdesk.stories.cluster import ClusterConfig, ClusterItem, StoryClusterer, item_features  # noqa: E402
from newsdesk.stories.embedding import HeadlineEncoder  # noqa: E402
from newsdesk.stories.entities import extract_entities  # noqa: E402


def main() -> None:
    out_path, window, stream = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    flags = set(sys.argv[4:])
    profiler = cProfile.Profile() if "profile" in flags else None
    embed = "embed" in flags
    cfg = ClusterConfig()
    cache = Path(f"/tmp/clustercost-items-{window}-{stream}{'-embed' if embed else ''}.pkl")
    if cache.exists():
        items = pickle.loads(cache.read_bytes())  # noqa: S301 - written by this script, just below
    else:
        rng = random.Random(5)
        english, dutch = load_texts()
        now = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
        times = sorted(now - timedelta(seconds=rng.uniform(0, 3 * 86400)) for _ in range(window))
        times += [now + timedelta(seconds=10 * i) for i in range(stream)]
        used: list = []
        items = []
        drafts = []
        for n, at in enumerate(times):
            if used and rng.random() < 0.5:
                base = rng.choice(used[-3000:])
            else:
                base = rng.choice(dutch) if rng.random() < 0.3 else rng.choice(english)
                used.append(base)
            title, sentences = perturb(rng, base)
            text = " ".join(sentences)[:4000]
            ents = tuple(extract_entities(title, text, base.language))
            url = f"https://x.example/{n}/{title[:40].replace(' ', '-')}"
            drafts.append(ClusterItem(n, title, at, text, base.language, str(n % 50), ents, url))
        vectors = HeadlineEncoder().encode([d.title for d in drafts]) if embed else None
        for n, draft in enumerate(drafts):
            item = draft if vectors is None or not vectors[n].any() else replace(draft, embedding=vectors[n])
            items.append((item, item_features(item, cfg)))
        cache.write_bytes(pickle.dumps(items))
    clusterer = StoryClusterer(cfg)
    out = []
    cpu = []
    for n, (item, feats) in enumerate(items):
        timed = n >= window
        if timed and profiler is not None:
            profiler.enable()
        t0 = time.thread_time()
        a = clusterer.assign(item, feats)
        if timed:
            cpu.append(1000 * (time.thread_time() - t0))
            if profiler is not None:
                profiler.disable()
        out.append([a.story_id, a.new_story, a.score, a.matched_item_id, list(a.merged),
                    list(a.shared_entities), list(a.shared_terms)])
    cpu.sort()
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load {load}: assign CPU ms p50 {cpu[len(cpu) // 2]:.3f} p95 {cpu[int(len(cpu) * 0.95)]:.3f} "
          f"mean {statistics.fmean(cpu):.3f} ({len(cpu)} items after a {window}-item window)")
    Path(out_path).write_text(json.dumps(out))
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
