"""The `newsdesk` command. Commands parse arguments, call one use case each, and print.

Every command takes every setting of settings.SETTINGS as an option (`--database`, `--port`, ...),
besides its NEWSDESK_* environment variable, so the settings table is the one place they are defined.
"""

# No `from __future__ import annotations` here: Typer reads the real annotation objects.

import asyncio
import functools
import inspect
import ipaddress
import json
import logging
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import NewsdeskError, NotFoundError
from .ingest.fetch import Fetcher, FetchPolicy
from .ingest.schedule import SchedulePolicy
from .models import FetchOutcome, Source
from .services import sources as source_service
from .services.refresh import PassSummary, RefreshContext, refresh_pass
from .settings import SETTINGS, Settings, load_settings, settings_markdown
from .storage import open_storage
from .storage.base import Storage

__all__ = ["app", "main"]

app = typer.Typer(help="newsdesk: follow news sources, collect every article, read it on the web.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
sources_app = typer.Typer(help="Add, list, import, export, pause and remove sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")

console = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def with_settings(func: F) -> F:
    """Give a command one option per setting and pass it the resolved Settings as `settings`."""
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.name != "settings"]
    for setting in SETTINGS:
        option = typer.Option(None, setting.option, *setting.aliases, show_default=False,
                              help=f"{setting.help} [env: {setting.env}]", rich_help_panel="Settings")
        params.append(inspect.Parameter(f"setting_{setting.name}", inspect.Parameter.KEYWORD_ONLY,
                                        default=option, annotation=Optional[str]))  # noqa: UP045 - Typer

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        overrides = {s.name: kwargs.pop(f"setting_{s.name}", None) for s in SETTINGS}
        try:
            settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
        except NewsdeskError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        try:
            return func(*args, settings=settings, **kwargs)
        except NewsdeskError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _open(settings: Settings) -> Storage:
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return open_storage(url)


def _ago(when: datetime | None, now: datetime) -> str:
    """A time in plain words: '3 min ago', 'in 2 h', 'never'."""
    if when is None:
        return "never"
    seconds = (when - now).total_seconds()
    amount = abs(seconds)
    if amount < 60:
        text = f"{int(amount)} s"
    elif amount < 3600:
        text = f"{int(amount // 60)} min"
    elif amount < 86400 * 2:
        text = f"{amount / 3600:.1f} h"
    else:
        text = f"{int(amount // 86400)} days"
    return f"in {text}" if seconds > 0 else f"{text} ago"


# ---------------------------------------------------------------------------------------------- sources


@sources_app.command("add")
@with_settings
def sources_add(url: str = typer.Argument(..., help="A feed URL or a site's home page."),
                category: Optional[str] = typer.Option(None, help="Category (folder) for the source."),  # noqa: UP045
                settings: Settings = None) -> None:  # type: ignore[assignment]
    """Follow a feed, or a site: its feed is discovered, else its sitemap, else its home-page links."""
    storage = _open(settings)

    async def add() -> Source:
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            return await source_service.add_source(storage, fetcher, url, category=category)

    try:
        source = asyncio.run(add())
    except source_service.AddSourceErrors as exc:
        err.print(f"[red]cannot follow {url}:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"following [bold]{source.display_name}[/bold] ({source.kind.value}: {source.url}) as #{source.id}")


@sources_app.command("list")
@with_settings
def sources_list(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Every source with its state: last fetch, next fetch, articles, last error in plain words."""
    storage = _open(settings)
    now = datetime.now(UTC)
    table = Table(show_lines=False)
    for column in ("id", "source", "kind", "last fetch", "next fetch", "articles", "state"):
        table.add_column(column, overflow="fold")
    for s in storage.list_sources():
        if s.paused:
            state = "[yellow]paused[/yellow]"
        elif s.state.last_error:
            state = f"[red]{s.state.last_error}[/red] ({s.state.error_count}x)"
        elif s.state.last_success_at:
            state = "[green]ok[/green]"
        else:
            state = "new"
        table.add_row(str(s.id), f"{s.display_name}\n[dim]{s.url}[/dim]", s.kind.value,
                      _ago(s.state.last_fetched_at, now), "paused" if s.paused else _ago(s.state.next_fetch_at, now),
                      str(s.article_count or 0), state)
    console.print(table)


@sources_app.command("import")
@with_settings
def sources_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="An OPML file."),
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Follow every feed of an OPML file (categories are kept)."""
    storage = _open(settings)
    result = source_service.import_opml(storage, file.read_bytes())
    console.print(f"imported {len(result.added)} sources, {len(result.skipped)} followed already")


@sources_app.command("export")
@with_settings
def sources_export(file: Optional[Path] = typer.Argument(None, help="Write here instead of to stdout."),  # noqa: UP045
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Write all sources as OPML 2.0 with categories."""
    opml = source_service.export_opml(_open(settings))
    if file is None:
        sys.stdout.write(opml)
    else:
        file.write_text(opml, encoding="utf-8")
        console.print(f"wrote {file}")


def _source_by_ref(storage: Storage, ref: str) -> Source:
    if ref.isdigit():
        return storage.get_source(int(ref))
    found = storage.find_source(ref)
    if found is None:
        raise NotFoundError(f"no source {ref}")
    return found


@sources_app.command("pause")
@with_settings
def sources_pause(ref: str = typer.Argument(..., help="Source id or URL."),
                  settings: Settings = None) -> None:  # type: ignore[assignment]
    """Stop polling a source (its articles stay)."""
    storage = _open(settings)
    source = source_service.set_paused(storage, _source_by_ref(storage, ref).id, True)
    console.print(f"paused {source.display_name}")


@sources_app.command("resume")
@with_settings
def sources_resume(ref: str = typer.Argument(..., help="Source id or URL."),
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Poll a paused source again."""
    storage = _open(settings)
    source = source_service.set_paused(storage, _source_by_ref(storage, ref).id, False)
    console.print(f"resumed {source.display_name}")


@sources_app.command("remove")
@with_settings
def sources_remove(ref: str = typer.Argument(..., help="Source id or URL."),
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Stop following a source and delete its articles."""
    storage = _open(settings)
    source = _source_by_ref(storage, ref)
    source_service.remove_source(storage, source.id)
    console.print(f"removed {source.display_name}")


# ---------------------------------------------------------------------------------------------- fetching


class RichProgress:
    """ProgressHook for refresh_pass: one bar for feeds, one for article pages."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.feeds = progress.add_task("feeds", total=0)
        self.pages = progress.add_task("article pages", total=0)

    def feeds_started(self, total: int) -> None:
        self.progress.update(self.feeds, total=total)

    def pages_found(self, count: int) -> None:
        task = self.progress.tasks[self.pages]
        self.progress.update(self.pages, total=(task.total or 0) + count)

    def page_done(self) -> None:
        self.progress.advance(self.pages)

    def feed_done(self, outcome: FetchOutcome) -> None:
        self.progress.advance(self.feeds)


def _run_pass(storage: Storage, settings: Settings, *, due_only: bool, quiet: bool = False) -> PassSummary:
    async def go() -> PassSummary:
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            ctx = RefreshContext(storage=storage, fetcher=fetcher, schedule=SchedulePolicy.from_settings(settings),
                                 articles_per_feed=settings.articles_per_feed)
            columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=err, disable=quiet, transient=False) as progress:
                return await refresh_pass(ctx, due_only=due_only, progress=RichProgress(progress))

    return asyncio.run(go())


def _print_summary(summary: PassSummary) -> None:
    console.print(f"{summary.feeds} feeds polled in {summary.seconds:.1f} s: [bold]{summary.new_articles}[/bold] new "
                  f"articles, {summary.not_modified} not modified, {summary.failed_pages} article pages to retry")
    if summary.feed_errors:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in summary.feed_errors.most_common())
        console.print(f"[red]feed errors[/red] ({sum(summary.feed_errors.values())}): {kinds}")
    else:
        console.print("no feed errors")


@app.command()
@with_settings
def fetch(all_sources: bool = typer.Option(False, "--all", help="Poll every unpaused source, due or not."),
          settings: Settings = None) -> None:  # type: ignore[assignment]
    """Run one collection pass: poll due feeds, fetch, extract, store and index their new articles."""
    storage = _open(settings)
    summary = _run_pass(storage, settings, due_only=not all_sources)
    _print_summary(summary)


def _serve(storage: Storage, settings: Settings, *, with_scheduler: bool) -> None:
    import uvicorn

    from .web.app import create_app
    from .worker import start_scheduler_thread

    stop: threading.Event | None = None
    if with_scheduler:
        _, stop = start_scheduler_thread(storage, settings)
    application = create_app(storage, settings, _admin_services(storage, settings))
    console.print(f"newsdesk reader at [bold]http://{settings.host}:{settings.port}/[/bold]")
    try:
        uvicorn.run(application, host=settings.host, port=int(settings.port), log_level="warning")
    finally:
        if stop is not None:
            stop.set()


def _admin_services(storage: Storage, settings: Settings) -> Any:
    from .services.admin import SourceAdmin

    return SourceAdmin(storage, settings)


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
@with_settings
def run(settings: Settings = None) -> None:  # type: ignore[assignment]
    """The main job: the collection scheduler and the web reader in one process."""
    _logging()
    _serve(_open(settings), settings, with_scheduler=True)


@app.command()
@with_settings
def serve(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Only the web reader (collection runs elsewhere, e.g. `newsdesk worker`)."""
    _serve(_open(settings), settings, with_scheduler=False)


@app.command()
@with_settings
def worker(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Only collection: poll due sources forever."""
    from .worker import run_scheduler

    _logging()
    stop = threading.Event()
    try:
        asyncio.run(run_scheduler(_open(settings), settings, stop))
    except KeyboardInterrupt:
        stop.set()


def _free_port(host: str, wanted: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind((host, wanted))
            return wanted
        except OSError:
            sock.bind((host, 0))
            return int(sock.getsockname()[1])


@app.command()
@with_settings
def demo(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Serve a bundled sample news site on 127.0.0.1, collect it, and open the reader. No network needed."""
    from .demo.server import DemoSite

    site = DemoSite()
    base = site.start()
    loopback = ipaddress.ip_network("127.0.0.0/8")
    # The demo site lives on loopback, so the demo (only) allows it explicitly.
    settings = settings.replace(allowed_networks=(*settings.allowed_networks, loopback),
                                port=_free_port(settings.host, int(settings.port)))
    if not settings.database_url:
        # A fresh database each time: the sample site gets a new port, hence new URLs, on every run.
        settings = settings.replace(database_url=f"sqlite:///{tempfile.mkdtemp(prefix='newsdesk-demo-')}/demo.sqlite")
    storage = _open(settings)
    console.print(f"sample news site at {base}/")

    async def follow() -> None:
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            for url in site.homepage_urls():
                try:
                    source = await source_service.add_source(storage, fetcher, url)
                    console.print(f"  following {source.display_name} ({source.kind.value})")
                except source_service.AddSourceErrors as exc:
                    err.print(f"  [red]cannot follow {url}:[/red] {exc}")

    asyncio.run(follow())
    _print_summary(_run_pass(storage, settings, due_only=False))
    try:
        _serve(storage, settings, with_scheduler=True)
    finally:
        site.stop()


# ---------------------------------------------------------------------------------------------- tools


@app.command("settings")
def settings_command(
        markdown: bool = typer.Option(False, "--markdown", help="Print the reference as Markdown."),
) -> None:
    """List every setting with its environment variable, default and meaning."""
    if markdown:
        sys.stdout.write(settings_markdown())
        return
    table = Table()
    for column in ("variable", "option", "default", "meaning"):
        table.add_column(column, overflow="fold")
    for s in SETTINGS:
        table.add_row(s.env, s.option, "(secret)" if s.secret else str(s.default), s.help)
    console.print(table)


@app.command()
def extract(files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Saved HTML pages."),  # noqa: B008
            url: Optional[str] = typer.Option(None, help="The pages' URL, for relative links."),  # noqa: UP045
            ) -> None:
    """Extract the article from saved pages; print one JSON line each (for debugging a site)."""
    from .extract import extract_article

    for file in files:
        try:
            article = extract_article(file.read_bytes(), url)
        except NewsdeskError as exc:
            print(json.dumps({"file": str(file), "error": exc.kind, "message": str(exc)}, ensure_ascii=False))
            continue
        record = {"file": str(file), "title": article.title, "authors": list(article.authors),
                  "published": article.published.isoformat() if article.published else None,
                  "language": article.language, "image_url": article.image_url,
                  "image_caption": article.image_caption, "canonical_url": article.canonical_url,
                  "text": article.text, "html": article.html}
        print(json.dumps(record, ensure_ascii=False))


# ---------------------------------------------------------------------------------------------- stories

stories_app = typer.Typer(help="Story clustering.", no_args_is_help=True)
app.add_typer(stories_app, name="stories")
topics_app = typer.Typer(help="Add, list and remove topics (saved definitions newsletters follow).",
                         no_args_is_help=True)
app.add_typer(topics_app, name="topics")


@stories_app.command("cluster")
def stories_cluster(items: Path = typer.Argument(..., exists=True, dir_okay=False,  # noqa: B008
                                                 help="JSON lines: id, title, text, url, publisher, timestamp, lang.")
                    ) -> None:
    """Cluster JSON lines in the given order through the ingest's own path (a throw-away store);
    print {"id", "story"} per line."""
    from .services import stories as story_service

    def read() -> Iterator[dict[str, object]]:
        with items.open(encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line[:1_000_000])
                except ValueError:
                    err.print(f"line {number}: not JSON, skipped")
                    continue
                if isinstance(value, dict):
                    yield value

    for key, story in story_service.cluster_items(read()):
        print(json.dumps({"id": key, "story": story}, ensure_ascii=False))


@topics_app.command("add")
@with_settings
def topics_add(name: str = typer.Argument(..., help="The topic's name; its slug is made from it."),
               entity: list[str] = typer.Option([], help="An entity key (place:greenland); repeatable."),  # noqa: B008
               keyword: list[str] = typer.Option([], help="A keyword; repeatable."),  # noqa: B008
               source: list[int] = typer.Option([], help="A source id; repeatable."),  # noqa: B008
               query: str = typer.Option("", help="A search query."),
               settings: Settings = None) -> None:  # type: ignore[assignment]
    """Save a topic: articles naming its entities, from its sources, or matching its keywords or query."""
    from .services import stories as story_service

    storage = _open(settings)
    try:
        topic = story_service.add_topic(storage, name, entities=tuple(entity), keywords=tuple(keyword),
                                        source_ids=tuple(source), query=query)
    except NewsdeskError as exc:
        err.print(f"[red]cannot add the topic:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"topic [bold]{topic.name}[/bold] at /topics/{topic.slug}")


@topics_app.command("list")
@with_settings
def topics_list(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Every topic with its definition."""
    storage = _open(settings)
    for topic in storage.list_topics():
        print(json.dumps({"slug": topic.slug, "name": topic.name,
                          "definition": json.loads(topic.definition.to_json())}, ensure_ascii=False))


@topics_app.command("remove")
@with_settings
def topics_remove(slug: str = typer.Argument(..., help="The topic's slug."),
                  settings: Settings = None) -> None:  # type: ignore[assignment]
    """Remove a topic."""
    storage = _open(settings)
    try:
        storage.remove_topic(slug)
    except NewsdeskError as exc:
        err.print(f"[red]cannot remove {slug}:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"removed {slug}")


def main() -> None:
    app()
