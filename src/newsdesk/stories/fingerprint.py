"""Dedupe fingerprints, pure: canonical URLs, exact content hashes and a MinHash near-duplicate index.

Three layers, cheapest first, so the ingest can stop at the first hit:

1. `canonical_url` folds the many spellings of one article URL (tracking parameters, AMP and mobile
   hosts, fragments, trailing slashes) into one string;
2. `content_hash` catches the same text re-published byte-for-byte modulo whitespace, case and
   punctuation;
3. `NearDuplicateIndex` catches syndicated copies with a changed headline, a trimmed or reordered
   paragraph (MinHash over word shingles, LSH for sub-linear lookup).

The index is bounded by a time window and a hard key cap, not by the archive: syndication happens
within hours, and an index that grows with the archive would be a slow memory leak.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from datasketch import MinHash, MinHashLSH

__all__ = [
    "NearDuplicateIndex",
    "canonical_url",
    "content_hash",
    "normalize_text",
    "shingles",
    "words",
]

# Query parameters that only say where a click came from. Prefix rules end in "_" (utm_source ...).
_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "vero_", "_hs", "mc_", "oly_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "ocid",
        "cmpid",
        "cmp",
        "icid",
        "ito",
        "xtor",
        "ncid",
        "ns_campaign",
        "ns_mchannel",
        "ns_source",
        "ns_linkname",
        "ns_fee",
        "sr_share",
        "smid",
        "smtyp",
        "ref",
        "ref_src",
        "referrer",
        "s_cid",
        "wt.mc_id",
        "wt_mc_id",
        "mkt_tok",
        "_ga",
        "_gl",
        "spm",
        "amp",
        "outputtype",
        "int_source",
        "int_medium",
        "int_campaign",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "ftag",
        "tpcc",
        "trk",
        "trkcampaign",
    }
)
# Hosts that serve the same article under another name.
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.", "www2.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL = 8192


def canonical_url(url: str) -> str:
    """The one spelling of an article URL, for "have we stored this article already?".

    Folds http into https, lowercases the host, drops www./m./amp. host prefixes, default ports, user info,
    fragments, AMP path suffixes (/amp, /amp.html, ?amp=1), tracking parameters and trailing
    slashes, and sorts what remains of the query. Anything that does not parse is returned
    stripped, so the function never raises on hostile input.
    """
    url = (url or "").strip()[:_MAX_URL]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return url
    changed = True
    while changed:
        changed = False
        for prefix in _HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix) :]
                changed = True
    # Scheme does not identify an article; https and http copies are the same page.
    scheme = "https" if scheme in ("http", "https") else scheme
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        netloc = f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    path = re.sub(r"(?:/amp(?:\.html?)?|\.amp(?:\.html?)?|/amp/?)$", "", path, flags=re.IGNORECASE) or "/"
    path = re.sub(r"/(?:index\.html?)$", "/", path)
    path = path.rstrip("/") or ""
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        low = key.lower()
        if low in _TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES):
            continue
        query.append((key, value))
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Case-folded, accent-kept, punctuation-free words joined by single spaces (NFKC first, so
    typographic variants of one character compare equal)."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_WORD.findall(text))


def words(text: str) -> list[str]:
    return normalize_text(text).split()


def content_hash(text: str) -> str:
    """A hex SHA-256 of the normalised text: equal for copies that differ only in whitespace, case
    or punctuation. Empty text hashes to the empty-string digest; callers should skip it."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = 5) -> set[str]:
    """Word k-shingles of the normalised text. A text shorter than k words is one shingle, so short
    texts still compare (exactly) instead of vanishing."""
    if k < 1:
        raise ValueError("k must be at least 1")
    toks = words(text)
    if not toks:
        return set()
    if len(toks) < k:
        return {" ".join(toks)}
    return {" ".join(toks[i : i + k]) for i in range(len(toks) - k + 1)}


class NearDuplicateIndex:
    """Near-duplicate lookup over recent texts: MinHash signatures of word shingles in an LSH index.

    `add(key, text, at)` stores a text; `query(text)` returns the keys whose estimated Jaccard
    similarity is at least `threshold`. Keys older than `window` (relative to the newest `at`
    seen) are evicted, and at most `max_keys` are kept, so memory is bounded by the window, not by
    the archive. Texts are cut at `max_words` words (the opening of an article identifies it).

    Candidates from LSH are verified against the stored signatures, so `query` does not return the
    LSH's false positives below the threshold.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        k: int = 5,
        window: timedelta = timedelta(days=3),
        max_keys: int = 200_000,
        max_words: int = 2_000,
        seed: int = 1,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.num_perm = num_perm
        self.k = k
        self.window = window
        self.max_keys = max_keys
        self.max_words = max_words
        self.seed = seed
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        # key -> (time, signature); insertion order is time order for a forward-moving clock
        self._entries: OrderedDict[str, tuple[datetime | None, MinHash]] = OrderedDict()
        self._newest: datetime | None = None
        # a permutation set shared by every signature (building it is the costly part of MinHash())
        self._template = MinHash(num_perm=num_perm, seed=seed)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def signature(self, text: str) -> MinHash | None:
        toks = words(text)[: self.max_words]
        if not toks:
            return None
        k = self.k
        grams: Iterable[str] = (
            [" ".join(toks)] if len(toks) < k else {" ".join(toks[i : i + k]) for i in range(len(toks) - k + 1)}
        )
        m = MinHash(
            num_perm=self.num_perm,
            seed=self.seed,
            permutations=self._template.permutations,
            scheme=self._template.scheme,
        )
        m.update_batch([g.encode("utf-8") for g in grams])
        return m

    def add(self, key: str, text: str, at: datetime | None = None) -> bool:
        """Index `text` under `key`. Returns False (and stores nothing) for empty text or a key that
        is already present."""
        if key in self._entries:
            return False
        return self.add_signature(key, self.signature(text), at)

    def add_signature(self, key: str, sig: MinHash | None, at: datetime | None = None) -> bool:
        """add() with a signature computed beforehand (signature(), by an index of the same
        num_perm, seed, k and max_words): the costly part can run outside a lock."""
        if sig is None or key in self._entries:
            return False
        if at is not None and (self._newest is None or at > self._newest):
            self._newest = at
        self._lsh.insert(key, sig)
        self._entries[key] = (at, sig)
        self._evict()
        return True

    def query(self, text: str) -> list[str]:
        """Keys of indexed texts whose estimated Jaccard similarity to `text` is at least the
        threshold, most similar first (ties by key, so the answer is deterministic)."""
        sig = self.signature(text)
        if sig is None:
            return []
        return [key for key, _ in self.query_scored_signature(sig)]

    def query_scored(self, text: str) -> list[tuple[str, float]]:
        sig = self.signature(text)
        return [] if sig is None else self.query_scored_signature(sig)

    def query_scored_signature(self, sig: MinHash) -> list[tuple[str, float]]:
        hits = []
        for key in self._lsh.query(sig):
            entry = self._entries.get(key)
            if entry is None:
                continue
            sim = float(sig.jaccard(entry[1]))
            if sim >= self.threshold:
                hits.append((key, sim))
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits

    def remove(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._lsh.remove(key)

    def expire(self, now: datetime) -> int:
        """Evict keys older than `now - window`; returns how many went."""
        if self._newest is None or now > self._newest:
            self._newest = now
        return self._evict()

    def _evict(self) -> int:
        gone = 0
        cutoff = self._newest - self.window if self._newest is not None else None
        while self._entries:
            key, (at, _) = next(iter(self._entries.items()))
            too_many = len(self._entries) > self.max_keys
            too_old = cutoff is not None and at is not None and at < cutoff
            if not (too_many or too_old):
                break
            self.remove(key)
            gone += 1
        return gone
