"""One declarative table of settings, read from NEWSDESK_* environment variables.

Each setting also becomes a command-line option of the same name (`--database-url`, with a few short
aliases such as `--database`), so every entry point reads the same table. `docs/settings.md` is
generated from it (`newsdesk settings --markdown`) and a test keeps the two equal.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SettingsError

__all__ = ["SETTINGS", "Setting", "Settings", "default_data_dir", "load_settings", "settings_markdown"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_data_dir() -> Path:
    """The user's data directory (XDG on Linux), where the default SQLite database lives."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "newsdesk"


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_networks(raw: str) -> tuple[Network, ...]:
    nets = []
    for part in raw.split(","):
        part = part.strip()
        if part:
            nets.append(ipaddress.ip_network(part, strict=False))
    return tuple(nets)


@dataclass(frozen=True)
class Setting:
    name: str  #: attribute name; env var is NEWSDESK_<NAME>, option --<name-with-dashes>
    type: str  #: "str", "int", "float", "bool", "networks"
    default: Any
    help: str
    secret: bool = False
    #: extra option spellings, e.g. ("--database",)
    aliases: tuple[str, ...] = ()

    @property
    def env(self) -> str:
        return "NEWSDESK_" + self.name.upper()

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, raw: str) -> Any:
        parsers: dict[str, Callable[[str], Any]] = {
            "str": str,
            "int": int,
            "float": float,
            "bool": _parse_bool,
            "networks": _parse_networks,
        }
        try:
            return parsers[self.type](raw)
        except ValueError as exc:
            shown = "(secret)" if self.secret else repr(raw)
            raise SettingsError(f"{self.env}: cannot read {shown}: {exc}") from exc


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "str", "",
            "Database URL. Empty means SQLite in the data directory; postgresql://user@host/db for PostgreSQL.",
            aliases=("--database",)),
    Setting("data_dir", "str", "", "Directory for the default SQLite database. Empty means the user's "
            "data directory (~/.local/share/newsdesk)."),
    Setting("allowed_networks", "networks", "",
            "Comma-separated CIDR ranges that may be fetched although they are private, loopback or "
            "link-local (for example 127.0.0.0/8 for a local test site). Everything else non-public is refused."),
    Setting("host", "str", "127.0.0.1", "Address the web server listens on."),
    Setting("port", "int", 8000, "Port the web server listens on."),
    Setting("web_workers", "int", 1, "Web server processes of `serve` and `run`. One process uses at most one "
            "core; with many app clients and more cores, up to one per core (docs/scaling.md, "
            "'Several web processes')."),
    Setting("web_threads", "int", 1, "Requests one web process works on at once (its thread pool). 1 "
            "serialises each process's Python work, which does not run in parallel anyway: with 2 processes on 2 "
            "cores it gave the feed-reader APIs 1.6-3 times the throughput of 40 threads under 8 connections "
            "(docs/benchmarks.md). Requests that wait on another server (adding or discovering a source, "
            "a newsletter sign-up's mail) or hash a password run on 8 threads of their own, so they never hold "
            "it up. 0 means the server's default (40)."),
    Setting("language", "str", "en", "Default interface language of the web reader: en or nl."),
    Setting("secret_key", "str", "", "Key that signs CSRF tokens and links. Empty means one is generated "
            "and kept in the data directory.", secret=True),
    Setting("admin_password", "str", "", "Password for the sources admin (HTTP Basic, user 'admin'). "
            "Empty means the admin pages answer only to clients on this machine (loopback).", secret=True),
    Setting("fetch_concurrency", "int", 64, "Requests in flight at once during a collection pass."),
    Setting("per_host_connections", "int", 2, "Connections at once to one host."),
    Setting("fetch_timeout", "float", 20.0, "Whole-request deadline in seconds: connect, redirects and "
            "body together, so a server that trickles bytes is cut."),
    Setting("max_response_bytes", "int", 10_000_000, "Largest response body accepted, counted after "
            "decompression."),
    Setting("max_redirects", "int", 5, "Redirects followed before a fetch fails."),
    Setting("user_agent", "str", "newsdesk/0.1 (self-hosted news aggregator)", "User-Agent sent with "
            "every request and matched against robots.txt."),
    Setting("min_interval", "int", 600, "Shortest polling interval of a feed, in seconds."),
    Setting("max_interval", "int", 86_400, "Longest polling interval of a feed (also the backoff cap), in seconds."),
    Setting("scheduler_tick", "int", 30, "How often `newsdesk run` looks for due feeds, in seconds."),
    Setting("articles_per_feed", "int", 100, "Most new article pages fetched from one feed in one poll."),
    Setting("smtp_host", "str", "", "SMTP server that newsletters are sent through. Empty means mail is "
            "disabled."),
    Setting("smtp_port", "int", 25, "Port of the SMTP server (587 for STARTTLS, 465 for TLS)."),
    Setting("smtp_security", "str", "none", "How to secure the SMTP connection: none, starttls or tls."),
    Setting("smtp_username", "str", "", "SMTP login name. Empty means no login."),
    Setting("smtp_password", "str", "", "SMTP password.", secret=True),
    Setting("mail_from", "str", "newsdesk@localhost", "Sender address of newsletter mails (From and "
            "envelope sender)."),
    Setting("public_url", "str", "http://127.0.0.1:8000", "The reader's public base URL, used for the "
            "links in mails (reader, confirm, unsubscribe)."),
    # -- accounts and APIs (users, sessions, feed-reader apps) --
    Setting("login_attempts", "int", 10, "Failed logins allowed per client address and per user name within "
            "`login_window` before further attempts are refused (web, Google Reader and Miniflux APIs)."),
    Setting("login_window", "int", 900, "The window, in seconds, that failed logins are counted in."),
    Setting("session_days", "int", 30, "How long a web login and a Google Reader API token stay valid, in days."),
    # -- scale: several workers, archive upkeep (docs/scaling.md)
    Setting("lease_seconds", "int", 120, "How long a worker holds the sources it polls before another worker "
            "may take them over; renewed every third of it while the worker lives (a dead or frozen "
            "worker's feeds wait at most this long)."),
    Setting("lease_batch", "int", 50, "Sources one worker leases at a time; smaller spreads a pass more "
            "evenly over many workers."),
    Setting("raw_html_days", "int", 0, "Keep the raw HTML of article pages (for re-extraction) this many "
            "days; 0 keeps it forever. Applied by `newsdesk prune` and by the worker once a day."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings: defaults, then the environment, then explicit options."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name in values:
            return values[name]
        if name in _BY_NAME:
            return _BY_NAME[name].default
        raise AttributeError(name)

    def replace(self, **changes: Any) -> Settings:
        unknown = set(changes) - set(_BY_NAME)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        return Settings({**self.values, **changes})

    @property
    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir) if self.data_dir else default_data_dir()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return str(self.database_url)
        return f"sqlite:///{self.resolved_data_dir / 'newsdesk.sqlite'}"


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, overridden by NEWSDESK_* variables, overridden by explicit (non-None) options."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default if setting.type != "networks" else ()
        if setting.env in env:
            value = setting.parse(env[setting.env])
        override = overrides.pop(setting.name, None)
        if override is not None:
            value = setting.parse(override) if isinstance(override, str) else override
        values[setting.name] = value
    if overrides:
        raise SettingsError(f"unknown settings: {', '.join(sorted(overrides))}")
    return Settings(values)


def settings_markdown() -> str:
    """The settings reference, as committed in docs/settings.md."""
    lines = [
        "# Settings",
        "",
        "Generated by `newsdesk settings --markdown` from `src/newsdesk/settings.py`; a test keeps it complete.",
        "Each setting is read from its environment variable and can be given as a command-line option.",
        "",
        "| variable | option | type | default | secret | meaning |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        options = ", ".join(f"`{o}`" for o in (s.option, *s.aliases))
        default = f"`{s.default}`" if s.default not in ("", ()) else "(empty)"
        lines.append(f"| `{s.env}` | {options} | {s.type} | {default} | {'yes' if s.secret else 'no'} | {s.help} |")
    return "\n".join(lines) + "\n"
