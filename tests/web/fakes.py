"""A test fake of the Storage Protocol: in-memory, only the methods the web reader uses.

It exists so the web tests run before the SQL storage lands; the tests themselves use only the
Protocol, so the same tests run against `open_storage("sqlite:///...")` unchanged. Search here is
plain word matching (no stemming); stemming is the real storage's business.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime

from newsdesk.errors import NotFoundError, SourceExistsError
from newsdesk.models import (
    Article,
    ArticleCursor,
    ArticleListItem,
    FetchState,
    NewArticle,
    NewSource,
    Source,
)
from newsdesk.storage.base import ArticleFilter

_ALL = ArticleFilter()


class FakeStorage:
    url = "fake://"

    def __init__(self) -> None:
        self.sources: dict[int, Source] = {}
        self.articles: dict[int, Article] = {}
        self._next_id = 1

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def migrate(self) -> None:
        pass

    def close(self) -> None:
        pass

    # sources
    def add_source(self, new: NewSource, now: datetime) -> Source:
        if self.find_source(new.url):
            raise SourceExistsError(f"{new.url} is followed already")
        source = Source(self._new_id(), new.url, new.kind, new.title, new.site_url, new.category,
                        False, now)
        self.sources[source.id] = source
        return source

    def get_source(self, source_id: int) -> Source:
        try:
            source = self.sources[source_id]
        except KeyError:
            raise NotFoundError(f"no source {source_id}") from None
        count = sum(1 for a in self.articles.values() if a.source_id == source_id)
        return dataclasses.replace(source, article_count=count)

    def find_source(self, url: str) -> Source | None:
        return next((s for s in self.sources.values() if s.url == url), None)

    def list_sources(self) -> list[Source]:
        return sorted((self.get_source(i) for i in self.sources), key=lambda s: s.display_name.lower())

    def update_fetch_state(self, source_id: int, state: FetchState, title: str | None = None,
                           site_url: str | None = None) -> None:
        source = self.get_source(source_id)
        self.sources[source_id] = dataclasses.replace(source, state=state, title=title or source.title,
                                                      site_url=site_url or source.site_url)

    def set_source_paused(self, source_id: int, paused: bool) -> None:
        self.sources[source_id] = dataclasses.replace(self.get_source(source_id), paused=paused)

    def delete_source(self, source_id: int) -> None:
        self.get_source(source_id)
        del self.sources[source_id]
        self.articles = {k: a for k, a in self.articles.items() if a.source_id != source_id}

    # articles
    def unknown_urls(self, urls: Iterable[str]) -> set[str]:
        known = {a.url for a in self.articles.values()}
        return {u for u in urls if u not in known}

    def add_article(self, new: NewArticle) -> int | None:
        if any(a.url == new.url for a in self.articles.values()):
            return None
        source = self.get_source(new.source_id)
        fields = {f.name: getattr(new, f.name) for f in dataclasses.fields(Article)
                  if hasattr(new, f.name) and f.name != "id"}
        article = Article(id=self._new_id(), source_title=source.display_name,
                          sort_at=new.published_at or new.fetched_at, **fields)
        self.articles[article.id] = article
        return article.id

    def get_article(self, article_id: int) -> Article:
        try:
            return self.articles[article_id]
        except KeyError:
            raise NotFoundError(f"no article {article_id}") from None

    @staticmethod
    def _item(a: Article) -> ArticleListItem:
        return ArticleListItem(a.id, a.source_id, a.source_title, a.url, a.title, a.sort_at, a.language,
                               a.image_url, a.summary)

    def _newest_first(self, filter: ArticleFilter) -> list[Article]:
        chosen = [a for a in self.articles.values()
                  if filter.source_id is None or a.source_id == filter.source_id]
        return sorted(chosen, key=ArticleCursor.of, reverse=True)

    def list_articles(self, filter: ArticleFilter = _ALL, *, before: ArticleCursor | None = None,
                      after: ArticleCursor | None = None, limit: int = 50) -> list[ArticleListItem]:
        rows = self._newest_first(filter)
        if before is not None:
            rows = [a for a in rows if ArticleCursor.of(a) < before][:limit]
        elif after is not None:
            # the `limit` items nearest above the cursor, still newest first
            rows = [a for a in rows if ArticleCursor.of(a) > after][-limit:]
        else:
            rows = rows[:limit]
        return [self._item(a) for a in rows]

    def count_articles(self, filter: ArticleFilter = _ALL) -> int:
        return len(self._newest_first(filter))

    def get_raw_html(self, article_id: int) -> bytes | None:
        return None

    # search
    def _matches(self, query: str) -> list[Article]:
        words = re.findall(r"\w+", query.lower())
        return [a for a in self._newest_first(ArticleFilter())
                if words and all(w in f"{a.title} {a.text}".lower() for w in words)]

    def search_articles(self, query: str, *, limit: int = 50, offset: int = 0) -> list[ArticleListItem]:
        return [self._item(a) for a in self._matches(query)[offset:offset + limit]]

    def count_search(self, query: str) -> int:
        return len(self._matches(query))
