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
import signal
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
    from .worker import in_collection_thread

    storage = _open(settings)
    # at a lower CPU priority, so that a reader served from the same machine stays responsive
    summary = in_collection_thread(lambda: _run_pass(storage, settings, due_only=not all_sources))
    _print_summary(summary)


def _serve(storage: Storage, settings: Settings, *, with_scheduler: bool, mail_sink: Any = None) -> None:
    from .web.app import create_app
    from .web.server import serve_app, serve_workers
    from .worker import start_scheduler_thread

    # The demo's SMTP sink lives in this process, so its app (which shows it at /admin/mails) does too.
    workers = 1 if mail_sink is not None else max(1, int(settings.web_workers))
    stop: threading.Event | None = None
    if with_scheduler:
        _, stop = start_scheduler_thread(storage, settings)
    console.print(f"newsdesk reader at [bold]http://{settings.host}:{settings.port}/[/bold]"
                  + (f" ({workers} web worker processes)" if workers > 1 else ""))
    try:
        if workers > 1:
            serve_workers(settings, workers)
        else:
            application = create_app(storage, settings, _admin_services(storage, settings))
            application.state.mail_sink = mail_sink  # the demo's SMTP sink, shown at /admin/mails
            serve_app(application, settings)
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
    from .worker import in_collection_thread, run_scheduler

    _logging()
    stop = threading.Event()
    storage = _open(settings)

    def request_stop(signum: int, frame: object) -> None:
        if stop.is_set():  # asked twice: stop now, leaving the story queue to the next start's sweep
            raise KeyboardInterrupt
        stop.set()

    # SIGTERM (systemd, docker stop, kill) and Ctrl-C are a clean stop: the pass under way ends, and
    # the articles it stored still get their stories before the process exits.
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    in_collection_thread(lambda: asyncio.run(run_scheduler(storage, settings, stop)))


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
    sink, settings = _demo_newsletter(storage, settings)
    try:
        _serve(storage, settings, with_scheduler=True, mail_sink=sink)
    finally:
        sink.stop()
        site.stop()


# ---------------------------------------------------------------------------------------------- newsletters

newsletters_app = typer.Typer(help="Define, list and remove topic newsletters.", no_args_is_help=True)
app.add_typer(newsletters_app, name="newsletters")
digest_app = typer.Typer(help="Send newsletter digests.", no_args_is_help=True)
app.add_typer(digest_app, name="digest")


@newsletters_app.command("add")
@with_settings
def newsletters_add(
        name: str = typer.Argument(..., help="The newsletter's name, e.g. 'NRC Amerika'."),
        tagline: str = typer.Option("", help="One line under the name in the sign-up box and the mails."),
        source: Optional[str] = typer.Option(None, help="Follow this source (id or URL)."),  # noqa: UP045
        search: Optional[str] = typer.Option(None, help="Follow the articles matching this search."),  # noqa: UP045
        lang: str = typer.Option("nl", help="Language of the mails: nl or en."),
        cadence: str = typer.Option("daily", help="immediate, daily or weekly."),
        hour: int = typer.Option(7, help="Local hour (0-23) of daily and weekly digests."),
        weekday: int = typer.Option(0, help="Day of weekly digests: 0 = Monday ... 6 = Sunday."),
        timezone: str = typer.Option("Europe/Amsterdam", help="IANA time zone of the hour and weekday."),
        settings: Settings = None) -> None:  # type: ignore[assignment]
    """Define a newsletter on a topic (for now a source or a saved search)."""
    from .models import TopicKind
    from .services import newsletters as newsletter_service

    if (source is None) == (search is None):
        err.print("[red]error:[/red] give exactly one of --source and --search")
        raise typer.Exit(2)
    storage = _open(settings)
    if source is not None:
        kind, topic = TopicKind.SOURCE, str(_source_by_ref(storage, source).id)
    else:
        kind, topic = TopicKind.SEARCH, search or ""
    newsletter = newsletter_service.define_newsletter(
        storage, name=name, tagline=tagline, topic_kind=kind, topic=topic, language=lang, cadence=cadence,
        hour=hour, weekday=weekday, timezone=timezone)
    console.print(f"newsletter #{newsletter.id} [bold]{newsletter.name}[/bold] on {kind.value} {topic!r}, "
                  f"{newsletter.cadence.value}")


@newsletters_app.command("list")
@with_settings
def newsletters_list(settings: Settings = None) -> None:  # type: ignore[assignment]
    """Every newsletter with its topic, cadence, subscribers and last digest."""
    storage = _open(settings)
    now = datetime.now(UTC)
    table = Table()
    for column in ("id", "newsletter", "topic", "cadence", "subscribers", "last digest"):
        table.add_column(column, overflow="fold")
    for n in storage.list_newsletters():
        counts = storage.count_subscriptions(n.id)
        when = {"immediate": "immediate", "daily": f"daily {n.hour:02d}:00",
                "weekly": f"weekly day {n.weekday} {n.hour:02d}:00"}[n.cadence.value]
        runs = storage.list_digest_runs(n.id, limit=1)
        last = "never"
        if runs:
            run = runs[0]
            last = f"{run.period.key} ({run.state}, {_ago(run.finished_at or run.started_at, now)})"
            if run.last_error:
                last += f"\n[red]{run.last_error}[/red]"
        table.add_row(str(n.id), f"{n.name}\n[dim]{n.tagline}[/dim]", f"{n.topic_kind.value}: {n.topic}",
                      f"{when} {n.timezone}", f"{counts.get('active', 0)} active, {counts.get('pending', 0)} pending",
                      last)
    console.print(table)


@newsletters_app.command("remove")
@with_settings
def newsletters_remove(newsletter_id: int = typer.Argument(..., help="Newsletter id."),
                       settings: Settings = None) -> None:  # type: ignore[assignment]
    """Delete a newsletter with its subscriptions and digest records."""
    from .services import newsletters as newsletter_service

    storage = _open(settings)
    name = storage.get_newsletter(newsletter_id).name
    newsletter_service.remove_newsletter(storage, newsletter_id)
    console.print(f"removed newsletter {name}")


@digest_app.command("send")
@with_settings
def digest_send(dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing."),
                settings: Settings = None) -> None:  # type: ignore[assignment]
    """Send every due digest, once per subscriber and period; resume an interrupted send."""
    from .services import newsletters as newsletter_service

    _logging()
    storage = _open(settings)
    ctx = newsletter_service.NewsletterContext.from_settings(storage, settings)
    report = newsletter_service.send_due_digests(ctx, dry_run=dry_run)
    for r in report.newsletters:
        line = f"#{r.newsletter_id} {r.name}: {r.status}"
        if r.period_key:
            line += f" {r.period_key}"
        if r.status in ("sent", "retry", "gave_up", "would_send"):
            line += (f" ({r.entries} stories, {r.recipients} subscribers: {r.sent} sent, {r.already} before, "
                     f"{r.failed} failed, {r.rejected} refused)")
        if r.retry_at:
            line += f", retry at {r.retry_at.isoformat(timespec='seconds')}"
        if r.error:
            line += f" [red]{r.error}[/red]"
        console.print(line)
    if report.problems:
        raise typer.Exit(1)


def _demo_newsletter(storage: Storage, settings: Settings) -> tuple[Any, Settings]:
    """The demo's mail: a local SMTP sink, a sample newsletter with one confirmed reader, one digest."""
    from .mail.sink import SmtpSink
    from .mail.tokens import make_token
    from .services import newsletters as newsletter_service

    sink = SmtpSink(keep=200).start()
    settings = settings.replace(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none",
                                smtp_username="", smtp_password="",
                                public_url=f"http://{settings.host}:{settings.port}")
    ctx = newsletter_service.NewsletterContext.from_settings(storage, settings)
    newsletter = newsletter_service.define_newsletter(
        storage, name="De Dagkrant Groenland", tagline="Volg de laatste ontwikkelingen rond Groenland op de voet",
        topic_kind="search", topic="Groenland", language="nl", cadence="daily", hour=7,
        timezone="Europe/Amsterdam")
    signed_up = newsletter_service.sign_up(ctx, newsletter.id, "lezer@example.org", "demo")
    subscription = storage.find_subscription(newsletter.id, signed_up.address)
    assert subscription is not None
    newsletter_service.confirm(ctx, make_token(ctx.secret, "confirm", subscription.id, subscription.address,
                                               subscription.token_version))
    newsletter_service.send_sample_digest(ctx, newsletter.id, subscription.address)
    console.print(f"newsletter [bold]{newsletter.name}[/bold]: mail goes to a local SMTP sink on 127.0.0.1:"
                  f"{sink.port}; see the mails at {settings.public_url}/admin/mails")
    return sink, settings


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


def _saved_page_url(html: bytes, file: Path) -> str:
    """Where a saved page came from: the canonical URL it declares, else its file URI."""
    import lxml.html
    from lxml import etree

    from .extract import decode_html
    from .extract.metadata import read_metadata

    try:
        tree = lxml.html.document_fromstring(decode_html(html[:5_000_000]) or "<html></html>")
    except (etree.ParserError, ValueError):
        return file.resolve().as_uri()
    canonical = read_metadata(tree, None).canonical_url
    return canonical if canonical and canonical.startswith(("http://", "https://")) else file.resolve().as_uri()


@app.command()
def extract(files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Saved HTML pages."),  # noqa: B008
            url: Optional[str] = typer.Option(None, help="The pages' URL, for relative links."),  # noqa: UP045
            no_learn: bool = typer.Option(False, "--no-learn",
                                          help="Extract each page on its own, without learning the site's "
                                               "template from the other pages given."),
            ) -> None:
    """Extract the article from saved pages; print one JSON line each (for debugging a site).

    Several pages of one site are extracted as the service does: the site's repeated blocks are
    learned from all of them first and left out of every article (unless --no-learn). A page's URL is
    --url, else the canonical URL it declares, else its file URI."""
    from .extract import decode_html, extract_article, extract_articles, learn_site_profile, site_key

    pages = []
    for file in files:
        html = file.read_bytes()
        pages.append((url or _saved_page_url(html, file), html))
    results: list[Any] = []
    if len(pages) > 1 and not no_learn:
        # Pages known only by their file URI have no site to group them by: taken together as one.
        hostless = [(page_url, decode_html(html[:5_000_000])) for page_url, html in pages
                    if not site_key(page_url)]
        profiles = {"": learn_site_profile(hostless)} if len(hostless) > 1 else None
        results = list(extract_articles(pages, learn_sites=True, profiles=profiles))
    else:
        for page_url, html in pages:
            try:
                results.append(extract_article(html, page_url))
            except NewsdeskError as exc:
                results.append(exc)
    for file, (page_url, _), article in zip(files, pages, results, strict=True):
        if isinstance(article, NewsdeskError):
            print(json.dumps({"file": str(file), "url": page_url, "error": article.kind, "message": str(article)},
                             ensure_ascii=False))
            continue
        record = {"file": str(file), "url": page_url, "title": article.title, "authors": list(article.authors),
                  "published": article.published.isoformat() if article.published else None,
                  "updated": article.updated.isoformat() if article.updated else None,
                  "section": article.section, "language": article.language, "image_url": article.image_url,
                  "image_caption": article.image_caption, "image_credit": article.image_credit,
                  "canonical_url": article.canonical_url, "text": article.text, "html": article.html}
        print(json.dumps(record, ensure_ascii=False))


# -- users and API keys (services/accounts.py) ----------------------------------------------------

users_app = typer.Typer(help="Add and list users, change passwords.", no_args_is_help=True)
app.add_typer(users_app, name="users")
apikeys_app = typer.Typer(help="Create, list and revoke API keys for apps and scripts.", no_args_is_help=True)
app.add_typer(apikeys_app, name="apikeys")


def _accounts(storage: Storage, settings: Settings) -> Any:
    from .services.accounts import Accounts

    # The CLI issues no tokens, so an empty secret key is fine here.
    return Accounts(storage, str(settings.secret_key or "") or "cli")


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user_by_name(storage: Storage, name: str) -> Any:
    user = storage.find_user(name)
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


@users_app.command("add")
@with_settings
def users_add(name: str = typer.Argument(..., help="The login name."),
              admin: bool = typer.Option(False, "--admin", help="May manage sources (the operator)."),
              password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
              settings: Settings = None) -> None:  # type: ignore[assignment]
    """Add a user; the password is prompted for (or read from stdin)."""
    storage = _open(settings)
    try:
        user = _accounts(storage, settings).create_user(name, _new_password(password_stdin), is_admin=admin)
    finally:
        storage.close()
    console.print(f"added {'admin ' if user.is_admin else ''}user {user.name} (id {user.id})")


@users_app.command("list")
@with_settings
def users_list(settings: Settings = None) -> None:  # type: ignore[assignment]
    """List users."""
    storage = _open(settings)
    try:
        users = storage.list_users()
    finally:
        storage.close()
    table = Table()
    for column in ("id", "name", "role", "created"):
        table.add_column(column)
    for user in users:
        table.add_row(str(user.id), user.name, "admin" if user.is_admin else "reader", user.created_at.isoformat())
    console.print(table)


@users_app.command("passwd")
@with_settings
def users_passwd(name: str = typer.Argument(..., help="The login name."),
                 password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
                 settings: Settings = None) -> None:  # type: ignore[assignment]
    """Change a user's password; their sessions and app logins end."""
    storage = _open(settings)
    try:
        user = _user_by_name(storage, name)
        _accounts(storage, settings).change_password(user.id, _new_password(password_stdin))
    finally:
        storage.close()
    console.print(f"password of {name} changed")


@apikeys_app.command("create")
@with_settings
def apikeys_create(user: str = typer.Argument(..., help="The user the key acts as."),
                   name: str = typer.Option("API key", "--name", help="What the key is for (\"phone\")."),
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Create an API key and print it once; only its hash is stored."""
    storage = _open(settings)
    try:
        owner = _user_by_name(storage, user)
        key, secret = _accounts(storage, settings).create_api_key(owner.id, name)
    finally:
        storage.close()
    err.print(f"API key {key.id} ({key.name}) for {owner.name}; it is shown only now:")
    print(secret)


@apikeys_app.command("list")
@with_settings
def apikeys_list(user: Optional[str] = typer.Option(None, "--user", help="Only this user's keys."),  # noqa: UP045
                 settings: Settings = None) -> None:  # type: ignore[assignment]
    """List API keys (never the keys themselves)."""
    storage = _open(settings)
    try:
        owner_id = _user_by_name(storage, user).id if user else None
        keys = storage.list_api_keys(owner_id)
        names = {u.id: u.name for u in storage.list_users()}
    finally:
        storage.close()
    table = Table()
    for column in ("id", "user", "name", "key", "created", "last used", "state"):
        table.add_column(column)
    for key in keys:
        table.add_row(str(key.id), names.get(key.user_id, "?"), key.name, key.prefix + "…", key.created_at.isoformat(),
                      key.last_used_at.isoformat() if key.last_used_at else "never",
                      "active" if key.active else "revoked")
    console.print(table)


@apikeys_app.command("revoke")
@with_settings
def apikeys_revoke(key_id: int = typer.Argument(..., help="The key's id (see `newsdesk apikeys list`)."),
                   settings: Settings = None) -> None:  # type: ignore[assignment]
    """Revoke an API key: apps using it are refused from now on."""
    storage = _open(settings)
    try:
        _accounts(storage, settings).revoke_api_key(key_id)
    finally:
        storage.close()
    console.print(f"API key {key_id} revoked")


# ---------------------------------------------------------------------------------------------- scale: upkeep
# backup / restore / reextract / prune (services/maintenance.py, docs/scaling.md)


def _bytes_bar(description: str) -> tuple[Progress, Callable[[int, int], None]]:
    progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err)
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


@app.command()
@with_settings
def backup(file: Path = typer.Argument(..., dir_okay=False, help="Where to write the copy."),
           force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
           settings: Settings = None) -> None:  # type: ignore[assignment]
    """Copy the SQLite database, consistently, while newsdesk keeps running (PostgreSQL: use pg_dump)."""
    from .services.maintenance import backup_sqlite

    progress, update = _bytes_bar("pages")
    with progress:
        result = backup_sqlite(settings.resolved_database_url, file, force=force, progress=update)
    console.print(f"backed up to {result.path} ({result.bytes / 1e6:.1f} MB), integrity {result.integrity}")


@app.command()
@with_settings
def restore(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A file made by `newsdesk backup`."),
            force: bool = typer.Option(False, "--force", help="Replace an existing database."),
            settings: Settings = None) -> None:  # type: ignore[assignment]
    """Replace the SQLite database with a backup (stop workers and the web first). PostgreSQL: pg_restore."""
    from .services.maintenance import restore_sqlite

    progress, update = _bytes_bar("pages")
    with progress:
        result = restore_sqlite(settings.resolved_database_url, file, force=force, progress=update)
    _open(settings).close()  # a backup from an older newsdesk is migrated now, not at first use
    console.print(f"restored {result.path} ({result.bytes / 1e6:.1f} MB), integrity {result.integrity}")


@app.command()
@with_settings
def reextract(restart: bool = typer.Option(False, "--restart", help="Start over instead of resuming."),
              limit: Optional[int] = typer.Option(None, min=1, help="Stop after this many pages (resume later)."),  # noqa: UP045
              settings: Settings = None) -> None:  # type: ignore[assignment]
    """Re-run extraction over every stored raw page, after an extractor improvement. Resumable."""
    from .services import maintenance

    storage = _open(settings)
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("pages", total=None)
        summary = maintenance.reextract(storage, restart=restart, limit=limit,
                                        on_total=lambda n: progress.update(task, total=n),
                                        on_page=lambda: progress.advance(task))
    where = f" (resumed after article {summary.resumed_after})" if summary.resumed_after else ""
    console.print(f"re-extracted {summary.done} pages{where}: {summary.updated} updated, "
                  f"{summary.no_article} without an article (kept as they were)")
    if not summary.finished:
        console.print("not finished: run `newsdesk reextract` again to resume")


@app.command()
@with_settings
def prune(days: Optional[int] = typer.Option(None, min=1, help="Override raw_html_days for this run."),  # noqa: UP045
          settings: Settings = None) -> None:  # type: ignore[assignment]
    """Drop raw HTML older than raw_html_days (articles stay; only their re-extraction goes)."""
    from .services.maintenance import prune_raw_html

    keep = days if days is not None else int(settings.raw_html_days)
    if keep <= 0:
        err.print("raw_html_days is 0 (keep forever): give --days N or set NEWSDESK_RAW_HTML_DAYS")
        raise typer.Exit(2)
    dropped = prune_raw_html(_open(settings), keep, datetime.now(UTC))
    console.print(f"dropped the raw HTML of {dropped} articles older than {keep} days")


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
