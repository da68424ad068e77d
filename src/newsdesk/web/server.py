"""Serving the app: one web process, or several (`web_workers`, NEWSDESK_WEB_WORKERS).

One process serves every request in turn on one core; on a machine with more cores, several
processes serve several requests at once (each has its own database connections; SQLite readers
never block each other or the writer, and PostgreSQL is made for it). uvicorn's supervisor starts
the processes, restarts one that dies, and stops them all on SIGTERM/Ctrl-C; they share the
listening socket, and each accepts on it in turn with the others (web/balance.py), so that
connections spread over them instead of piling up in the first process to wake.

Each worker process builds its own app through app_from_environment(): what the parent resolved
(options and environment) reaches the workers as NEWSDESK_* variables. What the processes must
agree on is in the database, not in memory: the login rate limits (storage/logins.py) and each
user's state version, which keys the cached listing totals (services.feedreader.TotalsCache).
What each process still keeps to itself, and why that is fine, is in docs/scaling.md ("Several web
processes").
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from ..settings import SETTINGS, Settings, load_settings
from ..storage import open_storage
from .app import create_app, freeze_startup_objects

__all__ = ["app_from_environment", "serve_app", "serve_workers", "settings_environment"]

#: what uvicorn imports in each worker process
FACTORY = "newsdesk.web.server:app_from_environment"
#: the event loop of each worker process: asyncio's, accepting so that connections spread (web/balance.py)
WORKER_LOOP = "newsdesk.web.balance:BalancingEventLoop"


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as NEWSDESK_* variables that load_settings() reads back to the same values."""
    env = {}
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        if setting.type == "networks":
            text = ",".join(str(net) for net in value)
        elif setting.type == "bool":
            text = "true" if value else "false"
        else:
            text = str(value)
        env[setting.env] = text
    return env


def app_from_environment() -> FastAPI:
    """The app of one web worker process, from the NEWSDESK_* environment (uvicorn --factory)."""
    from ..services.admin import SourceAdmin

    settings = load_settings()
    # The parent migrated already; migrating again is a no-op that every worker would wait its turn for.
    storage = open_storage(settings.resolved_database_url, migrate=False)
    app = create_app(storage, settings, SourceAdmin(storage, settings))
    freeze_startup_objects()
    return app


def serve_app(app: FastAPI, settings: Settings) -> None:
    """Serve `app` in this process until stopped (web_workers 1; the app may carry in-process
    extras, as the demo's mail sink)."""
    import uvicorn

    freeze_startup_objects()
    uvicorn.run(app, host=settings.host, port=int(settings.port), log_level="warning")


def serve_workers(settings: Settings, workers: int) -> None:
    """Serve with `workers` processes, each building its own app, until stopped."""
    import uvicorn

    os.environ.update(settings_environment(settings))
    uvicorn.run(FACTORY, factory=True, workers=max(1, workers), host=settings.host, port=int(settings.port),
                loop=WORKER_LOOP, log_level="warning")
