"""Several web processes over one database (`newsdesk serve --web-workers N`, or two `serve`s):
what they must agree on is in the database. The login rate limits count every process's failures,
and a listing total cached in one process is not reused after the user changed something through
another. Real `newsdesk serve` processes on loopback ports, one SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from api_fixtures import ADMIN, ADMIN_PASSWORD, READER, READER_PASSWORD, seed

from appserver import free_port
from newsdesk.services.accounts import Accounts
from newsdesk.storage import open_storage

SRC = Path(__file__).resolve().parents[2] / "src"
SECRET = "web-processes-secret"
OPERATOR_PASSWORD = "operator-password-1"


@contextmanager
def serving(url: str, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`newsdesk serve` on a free port until the block ends."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           "NEWSDESK_DATABASE_URL": url, "NEWSDESK_PORT": str(port), "NEWSDESK_SECRET_KEY": SECRET,
           "NEWSDESK_ADMIN_PASSWORD": OPERATOR_PASSWORD, "NEWSDESK_LOGIN_ATTEMPTS": "5",
           "NEWSDESK_LOGIN_WINDOW": "600", "NEWSDESK_WEB_WORKERS": str(workers)}
    process = subprocess.Popen([sys.executable, "-m", "newsdesk", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(base + "/v1/me", timeout=2)
                break
            except httpx.TransportError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not start: {process.stderr.read()[-2000:]!r}") from exc  # type: ignore[union-attr]
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _database(tmp_path: Path) -> tuple[str, str, list[int]]:
    """A seeded database with an admin and a reader; the reader's API key and the article ids."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    storage = open_storage(url)
    try:
        _, article_ids = seed(storage)
        accounts = Accounts(storage, SECRET)
        accounts.create_user(ADMIN, ADMIN_PASSWORD, is_admin=True)
        reader = accounts.create_user(READER, READER_PASSWORD)
        _, key = accounts.create_api_key(reader.id, "tests")
    finally:
        storage.close()
    return url, key, article_ids


def test_two_processes_share_login_limits_and_fresh_totals(tmp_path: Path) -> None:
    url, key, article_ids = _database(tmp_path)
    with serving(url) as (a, _), serving(url) as (b, _), httpx.Client(timeout=30) as http:
        # Password logins: 5 failures allowed per user name and address, counted over both processes.
        statuses = [http.post((a, b)[i % 2] + "/accounts/ClientLogin",
                              data={"Email": ADMIN, "Passwd": f"wrong-{i}"}).status_code for i in range(6)]
        assert statuses == [401] * 5 + [429]
        right = http.post(b + "/accounts/ClientLogin", data={"Email": ADMIN, "Passwd": ADMIN_PASSWORD})
        assert right.status_code == 429 and int(right.headers["Retry-After"]) > 500
        # The operator's admin password: 10 wrong ones over both processes lock the address out.
        wrong = ("admin", "not-the-password")
        assert [http.get((a, b)[i % 2] + "/admin/sources", auth=wrong).status_code for i in range(11)] == \
            [401] * 10 + [429]
        assert http.get(a + "/admin/sources", auth=("admin", OPERATOR_PASSWORD)).status_code == 429

        # A total cached in one process (the listing's next page reuses it for a few seconds)...
        reader = {"X-Auth-Token": key}
        assert http.get(a + "/v1/entries?status=unread&limit=5", headers=reader).json()["total"] == 30
        assert http.get(a + "/v1/entries?status=unread&limit=5&offset=5", headers=reader).json()["total"] == 30
        # ...is not reused once the reader marked entries read through the other one.
        assert http.put(b + "/v1/entries", headers=reader,
                        json={"entry_ids": article_ids[:3], "status": "read"}).status_code == 204
        assert http.get(a + "/v1/entries?status=unread&limit=5", headers=reader).json()["total"] == 27


def test_serve_with_two_web_workers(tmp_path: Path) -> None:
    """`--web-workers 2`: two processes under uvicorn's supervisor answer on one port, and the
    login limit holds whichever of them a connection reaches."""
    url, key, _ = _database(tmp_path)
    with serving(url, workers=2) as (base, process):
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        if children.exists():  # Linux: the supervisor's worker processes (besides multiprocessing's helper)
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children.read_text().split()]
            assert sum(b"spawn_main" in command for command in commands) == 2
        # a fresh connection per request, so the requests spread over both workers
        statuses = []
        for i in range(6):
            with httpx.Client(timeout=30) as http:
                statuses.append(http.post(base + "/accounts/ClientLogin",
                                          data={"Email": READER, "Passwd": f"wrong-{i}"}).status_code)
        assert statuses == [401] * 5 + [429]
        with httpx.Client(timeout=30) as http:
            entries = http.get(base + "/v1/entries?limit=100", headers={"X-Auth-Token": key})
        assert entries.status_code == 200 and entries.json()["total"] == 30
