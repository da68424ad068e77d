"""The numpy inverted index of the clusterer against the plain-Python loop it replaced: the same
members met, the same dot products to the last bit, through slot growth, the per-feature cap and
expiry."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from newsdesk.stories.postings import Postings


@dataclass
class _M:
    seq: int
    story_id: int
    weights: dict[str, float]
    norm: float = 1.0
    norm_n: int = 0


def _reference_dots(lists: dict[str, deque[tuple[int, float]]], features: list[tuple[str, float]]) -> dict[int, float]:
    # the loop of StoryClusterer._candidates before the numpy index, verbatim in its arithmetic
    dots: dict[int, float] = {}
    for f, wi in features:
        for seq, mw in lists.get(f, ()):
            d = dots.get(seq)
            dots[seq] = wi * mw if d is None else d + wi * mw
    return dots


def test_dots_equal_the_python_loop_through_growth_cap_and_expiry() -> None:
    rng = random.Random(3)
    cap = 7
    vocab = [f"w{i}" for i in range(60)]
    post = Postings(cap, size=16)  # small, so the slot arrays double several times
    ref: dict[str, deque[tuple[int, float]]] = {}
    live: deque[_M] = deque()
    for seq in range(1, 1500):
        m = _M(seq, seq // 3, {f: rng.uniform(0.05, 3.0) for f in rng.sample(vocab, rng.randint(1, 12))})
        post.add_member(m)
        for f, w in m.weights.items():
            ref.setdefault(f, deque(maxlen=cap)).append((seq, w))
        live.append(m)
        # the window: members leave oldest first, between 20 and 200 of them live
        while len(live) > 20 and (len(live) > 200 or rng.random() < 0.4):
            old = live.popleft()
            post.forget_member(old)
            for f in old.weights:
                plist = ref.get(f)
                if plist and plist[0][0] == old.seq:
                    plist.popleft()
                    if not plist:
                        del ref[f]
        if seq % 25 == 0:
            features = [(f, rng.uniform(0.1, 4.0)) for f in rng.sample(vocab, 15)]
            slots, dots = post.dots(features)
            got = dict(zip(post.seq[slots].tolist(), dots.tolist(), strict=True))
            assert got == _reference_dots(ref, features)  # exact, not approximately
            # what the clusterer reads per member is the member's
            for slot, s in zip(slots.tolist(), post.seq[slots].tolist(), strict=True):
                member = post.members[slot]
                assert member.seq == s and post.story[slot] == member.story_id
    assert {f: [(s, w) for s, w in post.entries(f)] for f in vocab if f in post} == \
        {f: list(entries) for f, entries in ref.items()}
    assert all(len(list(post.entries(f))) <= cap for f in vocab)


def test_story_and_norm_changes_reach_the_arrays() -> None:
    post = Postings(5)
    a, b = _M(1, 10, {"x": 1.0}), _M(2, 11, {"x": 2.0, "y": 1.0})
    post.add_member(a)
    post.add_member(b)
    a.story_id, a.norm, a.norm_n = 11, 4.0, 9
    post.set_story(a)
    post.set_norm(a)
    slots, dots = post.dots([("x", 0.5)])
    assert sorted(zip(post.story[slots].tolist(), post.norm[slots].tolist(), dots.tolist(), strict=True)) == [
        (11, 1.0, 1.0), (11, 4.0, 0.5)]
    assert post.dots([("unknown", 1.0)])[0].size == 0
