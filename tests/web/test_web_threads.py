"""web_threads: how many requests one web process works on at once (its thread pool)."""

from __future__ import annotations

import threading

import anyio
import anyio.to_thread
from fastapi.testclient import TestClient

from newsdesk.settings import Settings
from newsdesk.storage.base import Storage
from newsdesk.web.app import create_app


def _tokens_while_serving(storage: Storage, settings: Settings) -> float:
    app = create_app(storage, settings)

    async def serve_a_while() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    return anyio.run(serve_a_while)


def test_web_threads_sets_the_thread_pool_of_the_process(storage: Storage, settings: Settings) -> None:
    assert _tokens_while_serving(storage, settings.replace(web_threads=1)) == 1
    assert _tokens_while_serving(storage, settings.replace(web_threads=3)) == 3


def test_zero_keeps_the_servers_default(storage: Storage, settings: Settings) -> None:
    async def default() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert _tokens_while_serving(storage, settings.replace(web_threads=0)) == anyio.run(default)


def test_one_thread_still_answers_concurrent_requests(storage: Storage, settings: Settings) -> None:
    # requests queue for the one thread instead of failing
    app = create_app(storage, settings.replace(web_threads=1))
    statuses: list[int] = []
    with TestClient(app) as client:
        def get() -> None:
            statuses.append(client.get("/").status_code)

        threads = [threading.Thread(target=get) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * 6
