"""The clusterer's inverted index (feature -> its most recent members), in numpy arrays.

Candidate generation sums, for every window member, the products of the item's and the member's
weights over the features they share. In pure Python that is one dict read and store per posting
entry, up to 100 entries per feature and a few hundred features per item: most of the serialised
cost of an assignment (docs/benchmarks.md, "Stories: in the product"). Here the entries of all the
item's features are concatenated and summed per member by one `numpy.bincount`.

Same floats as the Python loop, to the last bit: each product is the same IEEE multiplication, and
`bincount` adds its weights in input order, starting from 0.0; the input is in the item's feature
order, so every member's dot is summed in the order the loop summed it.

Members get slots: `seq & (size - 1)`. Live members' seqs are contiguous (members expire in arrival
order), so while the window holds fewer than `size` members no two share a slot; the arrays double
when it would hold more. Per slot the arrays keep what the candidate loop reads of a member (its
story, norm, the document count of its norm, its seq), mirrored from the _Member by the clusterer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["Postings"]

_FIRST = 4  # entries a new feature's arrays hold before they grow


class _List:
    """One feature's entries: `arr[0, start:end]` the members' seqs (exact as float64 below 2**53),
    `arr[1, start:end]` their weights for the feature, oldest first."""

    __slots__ = ("arr", "start", "end")

    def __init__(self) -> None:
        self.arr = np.empty((2, _FIRST))
        self.start = 0
        self.end = 0


class Postings:
    def __init__(self, cap: int, size: int = 1024) -> None:
        #: entries kept per feature (the oldest goes when a member is added past it)
        self.cap = cap
        self._lists: dict[str, _List] = {}
        self._size = size
        self.story = np.zeros(size, dtype=np.int64)
        self.norm = np.ones(size)
        self.norm_n = np.zeros(size, dtype=np.int64)
        self.seq = np.zeros(size, dtype=np.int64)
        self.members: list[Any] = [None] * size
        #: live seqs are oldest..newest
        self._oldest: int | None = None
        self._newest = 0

    def __len__(self) -> int:
        return len(self._lists)

    def __contains__(self, feature: str) -> bool:
        return feature in self._lists

    def entries(self, feature: str) -> Iterator[tuple[int, float]]:
        """(seq, weight) of a feature's entries, oldest first (tests, state checks)."""
        p = self._lists.get(feature)
        if p is not None:
            for seq, w in zip(p.arr[0, p.start:p.end].tolist(), p.arr[1, p.start:p.end].tolist(), strict=True):
                yield int(seq), w

    # -- members ------------------------------------------------------------------------------

    def add_member(self, member: Any) -> None:
        """Give a member (seq, story_id, norm, norm_n, weights) its slot and its entries; members come
        in seq order."""
        seq = member.seq
        if self._oldest is None:
            self._oldest = seq
        self._newest = seq
        if seq - self._oldest >= self._size:
            self._grow(seq - self._oldest + 1)
        slot = seq & (self._size - 1)
        self.members[slot] = member
        self.seq[slot] = seq
        self.story[slot] = member.story_id
        self.norm[slot] = member.norm
        self.norm_n[slot] = member.norm_n
        cap, lists = self.cap, self._lists
        for f, w in member.weights.items():
            p = lists.get(f)
            if p is None:
                p = lists[f] = _List()
            arr, end = p.arr, p.end
            if end == arr.shape[1]:
                n = end - p.start
                grown = np.empty((2, min(max(_FIRST, 2 * n), 2 * cap)))
                grown[:, :n] = arr[:, p.start:end]
                p.arr = arr = grown
                p.start, end = 0, n
            arr[0, end] = seq
            arr[1, end] = w
            p.end = end = end + 1
            if end - p.start > cap:
                p.start += 1

    def forget_member(self, member: Any) -> None:
        """A member leaves the window (the oldest live one): its entries go where they are still the
        oldest of their feature (an entry pushed out by the cap went already)."""
        seq = member.seq
        lists = self._lists
        for f in member.weights:
            p = lists.get(f)
            if p is not None and p.end > p.start and p.arr[0, p.start] == seq:
                p.start += 1
                if p.start == p.end:
                    del lists[f]
        slot = seq & (self._size - 1)
        if self.members[slot] is member:
            self.members[slot] = None
        self._oldest = seq + 1

    def set_story(self, member: Any) -> None:
        slot = member.seq & (self._size - 1)
        if self.members[slot] is member:
            self.story[slot] = member.story_id

    def set_norm(self, member: Any) -> None:
        slot = member.seq & (self._size - 1)
        if self.members[slot] is member:
            self.norm[slot] = member.norm
            self.norm_n[slot] = member.norm_n

    def _grow(self, live: int) -> None:
        size = self._size
        while size < live:
            size *= 2
        assert self._oldest is not None
        seqs = np.arange(self._oldest, self._newest, dtype=np.int64)  # the live ones before the new
        old, new = seqs & (self._size - 1), seqs & (size - 1)
        for name in ("story", "norm", "norm_n", "seq"):
            src = getattr(self, name)
            dst = np.zeros(size, dtype=src.dtype) if name != "norm" else np.ones(size)
            dst[new] = src[old]
            setattr(self, name, dst)
        members: list[Any] = [None] * size
        for o, n in zip(old.tolist(), new.tolist(), strict=True):
            members[n] = self.members[o]
        self.members = members
        self._size = size

    # -- candidates ---------------------------------------------------------------------------

    def dots(self, features: Sequence[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """For (feature, item weight) pairs, in the order to sum them: the slots of every member
        met and each one's dot product with the item (its summed weight products)."""
        lists = self._lists
        parts = []
        lengths = []
        weights = []
        for f, wi in features:
            p = lists.get(f)
            if p is None:
                continue
            parts.append(p.arr[:, p.start:p.end])
            lengths.append(p.end - p.start)
            weights.append(wi)
        if not parts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        entries = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        products = entries[1] * np.repeat(np.array(weights), lengths)
        slots = entries[0].astype(np.int64) & (self._size - 1)
        summed = np.bincount(slots, weights=products, minlength=self._size)
        met = np.flatnonzero(summed)
        return met, summed[met]
