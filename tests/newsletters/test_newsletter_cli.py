"""`newsdesk newsletters ...` and `newsdesk digest send` against a real SMTP server. One `digest send`
runs as a real process and is killed mid-batch (SIGKILL: no cleanup at all); the next run finishes
the digest with every subscriber mailed exactly once. The other commands run in-process (CliRunner),
since starting the CLI costs seconds of imports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nlhelpers import add_article
from typer.testing import CliRunner, Result

from newsdesk.cli import app
from newsdesk.mail.sink import ReceivedMail, SmtpSink
from newsdesk.models import NewSource
from newsdesk.storage import open_storage

SRC = Path(__file__).resolve().parents[2] / "src"


def cli(db: str, *args: str, smtp_port: int | None = None) -> Result:
    """The command in this process: (exit code, stdout, stderr)."""
    command = [*args, "--database", db, "--secret-key", "cli-test-secret", "--public-url", "http://reader.example"]
    if smtp_port is not None:
        command += ["--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port)]
    result = CliRunner().invoke(app, command, env={"COLUMNS": "200"})
    return result


def newsdesk(db: str, *args: str, smtp_port: int | None = None, check: bool = True,
             wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    command = [sys.executable, "-m", "newsdesk", *args, "--database", db, "--secret-key", "cli-test-secret",
               "--public-url", "http://reader.example"]
    if smtp_port is not None:
        command += ["--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port)]
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "200"}
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def seed_due_digest(db: str, readers: list[str]) -> None:
    """A daily newsletter whose period ended an hour or two ago, with articles and subscribers in it."""
    now = datetime.now(UTC)
    end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    store = open_storage(db)
    try:
        source = store.add_source(NewSource(url="https://www.nrc.nl/rss/", title="NRC", site_url="https://www.nrc.nl/"),
                                  end - timedelta(days=1))
        add_article(store, source, "groenland", "Trump belt met Rutte over Groenland", end - timedelta(minutes=30))
        add_article(store, source, "groenland-2", "Denemarken reageert op Groenland", end - timedelta(minutes=20))
        newsletter = store.list_newsletters()[0]
        for reader in readers:
            store.activate_subscription(newsletter.id, reader, end - timedelta(hours=3))
    finally:
        store.close()
    return None


def test_newsletters_add_list_remove(db: str) -> None:
    added = cli(db, "newsletters", "add", "NRC Amerika", "--tagline", "Volg de VS", "--search", "Trump",
                "--cadence", "weekly", "--weekday", "4", "--hour", "18")
    assert added.exit_code == 0 and "newsletter #1 NRC Amerika on search 'Trump', weekly" in added.stdout
    listed = cli(db, "newsletters", "list").stdout
    assert "NRC Amerika" in listed and "search: Trump" in listed and "0 active" in listed
    bad = cli(db, "newsletters", "add", "X", "--source", "99")
    assert bad.exit_code == 1 and "no source with id 99" in bad.stderr
    assert cli(db, "newsletters", "add", "X", "--source", "1", "--search", "x").exit_code == 2
    zone = cli(db, "newsletters", "add", "X", "--search", "x", "--timezone", "Nowhere/Land")
    assert zone.exit_code == 1 and "unknown time zone" in zone.stderr
    assert "removed newsletter NRC Amerika" in cli(db, "newsletters", "remove", "1").stdout
    assert cli(db, "newsletters", "remove", "1").exit_code == 1


def test_digest_send_killed_mid_batch_then_rerun_mails_everyone_exactly_once(db: str) -> None:
    hour = (datetime.now(UTC).replace(minute=0) - timedelta(hours=2)).hour
    assert cli(db, "newsletters", "add", "De Dagkrant Groenland", "--search", "Groenland", "--hour", str(hour),
               "--timezone", "UTC").exit_code == 0
    readers = [f"lezer{i}@example.org" for i in range(6)]
    seed_due_digest(db, readers)

    received = 0
    release = threading.Event()
    lock = threading.Lock()

    def stall_the_fourth(mail: ReceivedMail) -> str | None:
        nonlocal received
        with lock:
            received += 1
            mine = received
        if mine == 4:
            release.wait(30)  # the sender is killed while it waits for our reply to DATA
            return "451 4.3.0 connection gone"
        return None

    with SmtpSink(refuse_data=stall_the_fourth) as sink:
        dry = cli(db, "digest", "send", "--dry-run", smtp_port=sink.port)
        assert "would_send" in dry.stdout and "6 subscribers" in dry.stdout
        assert sink.messages() == []
        proc = newsdesk(db, "digest", "send", smtp_port=sink.port, wait=False)
        assert isinstance(proc, subprocess.Popen)
        deadline = time.monotonic() + 60
        while received < 4:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the sender never reached the fourth mail"
            time.sleep(0.05)
        proc.kill()
        proc.wait(timeout=10)
        release.set()
        assert len(sink.messages()) == 3

        sink.refuse_data = None
        rerun = cli(db, "digest", "send", smtp_port=sink.port)  # this process: the killed one's lock is taken
        assert rerun.exit_code == 0 and "3 sent, 3 before" in rerun.stdout, rerun.output
        counts = Counter(r for m in sink.messages() for r in m.recipients)
        assert counts == Counter(readers)  # every subscriber exactly once
        again = cli(db, "digest", "send", smtp_port=sink.port)
        assert "not_due" in again.stdout and len(sink.messages()) == 6


def test_digest_send_reports_an_unreachable_server(db: str) -> None:
    cli(db, "newsletters", "add", "Groenland", "--search", "Groenland",
        "--hour", str((datetime.now(UTC).replace(minute=0) - timedelta(hours=2)).hour), "--timezone", "UTC")
    seed_due_digest(db, ["lezer@example.org"])
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli(db, "digest", "send", smtp_port=port)
    assert result.exit_code == 1
    assert "retry" in result.stdout and "connect" in result.stdout
    disabled = cli(db, "digest", "send")
    assert disabled.exit_code == 1 and "mail is disabled" in disabled.stderr
