"""Exact and near-duplicate detection on the BBC corpus, plus constructed syndication variants.

    PYTHONPATH=src python bench/dedupe.py

Gold (derived as the corpus README describes): exact copies are articles with the same title and
text; near-duplicate pairs are pairs of *different* texts whose word-5-shingle Jaccard similarity is
>= 0.8, computed exactly (candidate pairs from a shingle inverted index, then exact Jaccard).

Measured: content_hash() for exact copies; NearDuplicateIndex (MinHash 128 perms, LSH threshold 0.8,
verified estimate) for near duplicates, each body queried against all earlier ones. Then, on 300
sampled articles, syndication-style variants: headline changed, paragraphs reordered, last paragraph
trimmed, a sentence edited, and URL variants (tracking parameters, AMP path/host, mobile host,
fragment) folded by canonical_url().
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsdesk.stories.fingerprint import NearDuplicateIndex, canonical_url, content_hash, shingles

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSDESK_SHARED") or ROOT / ".." / "shared")
DATA = SHARED / "data" / "corpus" / "bbc-news" / "bbc_news.jsonl"
T0 = datetime(2005, 1, 1, tzinfo=UTC)


def prf(found: set, gold: set) -> str:
    tp = len(found & gold)
    p = tp / len(found) if found else 1.0
    r = tp / len(gold) if gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"P={p:.3f} R={r:.3f} F1={f:.3f} (found {len(found)}, gold {len(gold)}, correct {tp})"


def gold_pairs(rows: list[dict]) -> tuple[set, set]:
    exact: set = set()
    first_of: dict[tuple[str, str], int] = {}
    for i, r in enumerate(rows):
        key = (r["title"], r["text"])
        if key in first_of:
            exact.add((first_of[key], i))
        else:
            first_of[key] = i
    sh = [shingles(r["text"], 5) for r in rows]
    postings: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sh):
        for g in s:
            postings[g].append(i)
    near: set = set()
    for i, s in enumerate(sh):
        overlap: dict[int, int] = defaultdict(int)
        for g in s:
            for j in postings[g]:
                if j < i:
                    overlap[j] += 1
        for j, n in overlap.items():
            union = len(s) + len(sh[j]) - n
            if union and n / union >= 0.8 and rows[i]["text"] != rows[j]["text"]:
                near.add((j, i))
    return exact, near


def corpus(rows: list[dict]) -> None:
    exact_gold, near_gold = gold_pairs(rows)
    copies = defaultdict(int)
    for r in rows:
        copies[r["text"]] += 1
    same_text_pairs = sum(n * (n - 1) // 2 for n in copies.values())
    print(
        f"gold: {len(exact_gold)} exact extra copies (same title and text); "
        f"{len(near_gold)} pairs of different "
        f"texts with word-5-shingle Jaccard >= 0.8 (+{same_text_pairs} pairs of identical texts = "
        f"{len(near_gold) + same_text_pairs} pairs at >= 0.8 in all)"
    )
    start = time.perf_counter()
    seen: dict[str, int] = {}
    exact_found = set()
    for i, r in enumerate(rows):
        h = content_hash(r["title"] + "\n" + r["text"])
        if h in seen:
            exact_found.add((seen[h], i))
        else:
            seen[h] = i
    t_exact = (time.perf_counter() - start) / len(rows) * 1000
    print(
        f"exact copies (content_hash of title+text): {prf(exact_found, exact_gold)}; {t_exact:.3f} ms/article"
    )

    index = NearDuplicateIndex(threshold=0.8, num_perm=128, k=5, window=timedelta(days=365), max_keys=10_000)
    near_found = set()
    start = time.perf_counter()
    for i, r in enumerate(rows):
        for key in index.query(r["text"]):
            j = int(key)
            if rows[j]["text"] != r["text"]:
                near_found.add((j, i))
        index.add(str(i), r["text"], T0 + timedelta(minutes=i))
    t_near = (time.perf_counter() - start) / len(rows) * 1000
    print(
        f"near duplicates (MinHash LSH, different texts, Jaccard >= 0.8): {prf(near_found, near_gold)}; "
        f"{t_near:.2f} ms/article (query + add)"
    )


def drop_last(paras: list[str]) -> list[str]:
    return paras[:-1] if len(paras) > 3 else paras


def reorder(paras: list[str], rng: random.Random) -> list[str]:
    if len(paras) < 4:
        return paras
    i = rng.randrange(1, len(paras) - 1)
    return paras[:i] + paras[i + 1 : i + 2] + paras[i : i + 1] + paras[i + 2 :]


def edit_sentence(paras: list[str], rng: random.Random) -> list[str]:
    out = paras[:]
    i = rng.randrange(len(out))
    out[i] = out[i] + " A spokesperson declined to comment on Monday."
    return out


def variants(rows: list[dict]) -> None:
    rng = random.Random(5)
    sample = rng.sample(range(len(rows)), 300)
    index = NearDuplicateIndex(threshold=0.8, num_perm=128, k=5, window=timedelta(days=365), max_keys=10_000)
    for i, r in enumerate(rows):
        index.add(str(i), r["text"], T0)
    kinds = {
        "headline changed (body as is)": lambda p: p,
        "two paragraphs swapped": lambda p: reorder(p, rng),
        "last paragraph trimmed": drop_last,
        "a sentence added": lambda p: edit_sentence(p, rng),
        "swapped + trimmed + sentence added": lambda p: edit_sentence(drop_last(reorder(p, rng)), rng),
    }
    for name, make in kinds.items():
        hits = above = hits_above = 0
        for i in sample:
            text = "\n".join(make(rows[i]["text"].split("\n")))
            a, b = shingles(text, 5), shingles(rows[i]["text"], 5)
            jac = len(a & b) / len(a | b)
            hit = str(i) in index.query(text)
            hits += hit
            above += jac >= 0.8
            hits_above += hit and jac >= 0.8
        print(
            f"  variant '{name}': found the original for {hits}/{len(sample)} ({hits / len(sample):.1%}); "
            f"true Jaccard >= 0.8 for {above}, of which found {hits_above}"
        )
    url_kinds = {
        "utm_* + fbclid": "https://www.bbc.co.uk/news/{p}?utm_source=twitter&utm_medium=social&fbclid=IwAR0x",
        "ocid/at_*/cmpid": "https://www.bbc.co.uk/news/{p}?ocid=rss&at_medium=custom7&cmpid=feed",
        "AMP path": "https://www.bbc.co.uk/news/{p}/amp",
        "AMP host + ?amp=1": "https://amp.bbc.co.uk/news/{p}?amp=1",
        "mobile host + fragment + trailing slash": "http://m.bbc.co.uk/news/{p}/#comments",
    }
    for name, pattern in url_kinds.items():
        ok = sum(
            canonical_url(pattern.format(p=f"article-{i}"))
            == canonical_url(f"https://www.bbc.co.uk/news/article-{i}")
            for i in sample
        )
        print(f"  URL variant '{name}': folded to the original for {ok}/{len(sample)}")
    distinct = {canonical_url(f"https://www.bbc.co.uk/news/article-{i}") for i in sample}
    print(f"  distinct articles keep distinct canonical URLs: {len(distinct)}/{len(sample)}")


def main() -> int:
    if not DATA.exists():
        print(
            f"skipped: the BBC corpus is not at {DATA} "
            "(shared data folder beside the repo, or NEWSDESK_SHARED)"
        )
        return 0
    with DATA.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    print(f"BBC corpus: {len(rows)} articles")
    corpus(rows)
    print("syndication variants of 300 sampled articles, queried against the whole corpus:")
    variants(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
