"""Per-site learning in the running product: which template blocks of a site to strip before
extraction, learned from the pages newsdesk already stored for it (extract/sitelearn.py).

A site is learned once it has LEARN_AFTER stored pages, from its newest LEARN_FROM pages; a page of
another layout (sitelearn.is_stale) triggers relearning, at most once per RELEARN_AFTER. The
operator's override (texts to keep, texts and selectors to remove) is stored apart from the learned
profile and applied on top of it, so relearning never undoes it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..extract.decode import decode_html
from ..extract.sitelearn import SiteProfile, is_stale, learn_site_profile, site_key
from ..storage.base import Storage
from ..storage.profiles import StoredProfile

__all__ = ["SiteOverride", "SiteProfiles", "learned_profile", "set_override"]

#: stored pages of a site before its template is learned
LEARN_AFTER = 6
#: newest pages a profile is learned from
LEARN_FROM = 30
#: a site without a profile is tried again after this many more pages
RETRY_EVERY = 5
#: a layout change relearns at most this often
RELEARN_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class SiteOverride:
    keep_texts: tuple[str, ...] = ()
    remove_texts: tuple[str, ...] = ()
    remove_selectors: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str | None) -> SiteOverride:
        data = json.loads(text) if text else {}
        return cls(tuple(data.get("keep_texts", ())), tuple(data.get("remove_texts", ())),
                   tuple(data.get("remove_selectors", ())))

    def to_json(self) -> str:
        return json.dumps({"keep_texts": list(self.keep_texts), "remove_texts": list(self.remove_texts),
                           "remove_selectors": list(self.remove_selectors)}, ensure_ascii=False)

    def is_empty(self) -> bool:
        return not (self.keep_texts or self.remove_texts or self.remove_selectors)


def learned_profile(stored: StoredProfile | None) -> SiteProfile | None:
    """The profile to extract with: the learned one with the operator's override on top."""
    if stored is None:
        return None
    override = SiteOverride.from_json(stored.override_json)
    if stored.profile_json:
        profile = SiteProfile.from_json(stored.profile_json)
    elif override.is_empty():
        return None
    else:
        profile = SiteProfile(host=stored.host, pages_seen=0)
    return profile.with_override(keep_texts=override.keep_texts, remove_texts=override.remove_texts,
                                 remove_selectors=override.remove_selectors)


def set_override(storage: Storage, host: str, override: SiteOverride) -> None:
    """Store the operator's override for a site (checked: a bad CSS selector is refused here)."""
    SiteProfile(host=host, pages_seen=0).with_override(remove_selectors=override.remove_selectors)
    storage.set_site_override(host, None if override.is_empty() else override.to_json())


class SiteProfiles:
    """The profiles one process extracts with: loaded once, learned and relearned as pages arrive.

    Called from extraction threads, hence the lock around the cache.
    """

    def __init__(self, storage: Storage, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage = storage
        self.clock = clock
        self._lock = threading.Lock()
        self._profiles: dict[str, tuple[SiteProfile | None, datetime | None]] = {}
        self._pages_without: dict[str, int] = {}

    def for_page(self, source_id: int, url: str, html: str | bytes) -> SiteProfile | None:
        host = site_key(url)
        if not host:
            return None
        with self._lock:
            if host not in self._profiles:
                stored = self.storage.get_site_profile(host)
                self._profiles[host] = (learned_profile(stored), stored.learned_at if stored else None)
            profile, learned_at = self._profiles[host]
        if profile is None or not profile.blocks:
            return self._maybe_learn(source_id, host, profile)
        text = decode_html(html) if isinstance(html, bytes) else html
        recent = learned_at is not None and self.clock() - learned_at < RELEARN_AFTER
        if not recent and is_stale(text, profile):
            return self._learn(source_id, host) or profile
        return profile

    def _maybe_learn(self, source_id: int, host: str, current: SiteProfile | None) -> SiteProfile | None:
        with self._lock:
            seen = self._pages_without.get(host, 0)
            self._pages_without[host] = seen + 1
        if seen % RETRY_EVERY:
            return current
        return self._learn(source_id, host) or current

    def _learn(self, source_id: int, host: str) -> SiteProfile | None:
        pages = self.storage.recent_pages(source_id, host, LEARN_FROM)
        if len(pages) < LEARN_AFTER:
            return None
        learned = learn_site_profile(list(_decoded(pages)))
        now = self.clock()
        self.storage.save_site_profile(host, learned.to_json(), now)
        profile = learned_profile(self.storage.get_site_profile(host))
        with self._lock:
            self._profiles[host] = (profile, now)
        return profile


def _decoded(pages: Iterable[tuple[str, bytes]]) -> Iterable[tuple[str, str]]:
    for url, raw in pages:
        yield url, decode_html(raw)
