"""The source-management use cases as the web admin calls them: synchronous, one call per action.

Web handlers run in worker threads; the async use cases get an event loop of their own per call.
"""

from __future__ import annotations

import asyncio

from ..ingest.fetch import Fetcher, FetchPolicy
from ..models import FetchOutcome, Source
from ..settings import Settings
from ..storage.base import Storage
from . import sources
from .refresh import RefreshContext, refresh_source

__all__ = ["SourceAdmin"]


class SourceAdmin:
    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings

    def add_source(self, url: str, category: str | None = None) -> Source:
        async def add() -> Source:
            async with Fetcher(FetchPolicy.from_settings(self.settings)) as fetcher:
                return await sources.add_source(self.storage, fetcher, url, category=category or None)

        return asyncio.run(add())

    def pause(self, source_id: int) -> Source:
        return sources.set_paused(self.storage, source_id, True)

    def resume(self, source_id: int) -> Source:
        return sources.set_paused(self.storage, source_id, False)

    def remove(self, source_id: int) -> None:
        sources.remove_source(self.storage, source_id)

    def refresh(self, source_id: int) -> FetchOutcome:
        async def poll() -> FetchOutcome:
            async with Fetcher(FetchPolicy.from_settings(self.settings)) as fetcher:
                ctx = RefreshContext(storage=self.storage, fetcher=fetcher,
                                     articles_per_feed=self.settings.articles_per_feed)
                outcome = await refresh_source(ctx, self.storage.get_source(source_id))
                if ctx.stories is not None:
                    await asyncio.to_thread(ctx.stories.wait)
                return outcome

        return asyncio.run(poll())
