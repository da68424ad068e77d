"""The persisted secret key, and the scheduler's digest hook."""

from __future__ import annotations

import asyncio
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nlhelpers import add_article

from newsdesk.mail.sink import SmtpSink
from newsdesk.models import NewSource
from newsdesk.secretkey import KEY_FILE, resolve_secret_key
from newsdesk.services import newsletters as nl
from newsdesk.settings import load_settings
from newsdesk.storage.base import Storage
from newsdesk.worker import send_digests_tick


def test_generated_secret_key_is_kept_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=str(tmp_path / "data"))
    key = resolve_secret_key(settings)
    path = tmp_path / "data" / KEY_FILE
    assert len(key) >= 40 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret_key(settings) == key  # a restart signs with the same key
    assert resolve_secret_key(settings.replace(secret_key="configured")) == "configured"


def test_unwritable_data_dir_falls_back_to_a_process_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = load_settings({}, data_dir=str(blocker / "data"))
    with caplog.at_level(logging.WARNING):
        key = resolve_secret_key(settings)
    assert key and "NEWSDESK_SECRET_KEY" in caplog.text


def test_the_scheduler_tick_sends_due_digests(store: Storage, sink: SmtpSink, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    source = store.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC", site_url="https://www.nrc.nl/"),
                              end - timedelta(days=1))
    add_article(store, source, "groenland", "Groenland", end - timedelta(minutes=10))
    newsletter = nl.define_newsletter(store, name="Groenland", tagline="", topic_kind="search", topic="Groenland",
                                      hour=end.hour, timezone="UTC")
    store.activate_subscription(newsletter.id, "lezer@example.org", end - timedelta(hours=2))
    off = load_settings({}, secret_key="k", data_dir=str(tmp_path))
    asyncio.run(send_digests_tick(store, off))  # mail not configured: nothing happens
    assert store.open_digest_run(newsletter.id) is None and store.list_digest_runs(newsletter.id) == []
    broken = off.replace(smtp_host="127.0.0.1", smtp_port=sink.port, mail_from="not an address")
    asyncio.run(send_digests_tick(store, broken))  # logged, not raised
    assert sink.messages() == []
    on = off.replace(smtp_host="127.0.0.1", smtp_port=sink.port)
    asyncio.run(send_digests_tick(store, on))
    asyncio.run(send_digests_tick(store, on))
    assert [m.recipients for m in sink.messages()] == [("lezer@example.org",)]
