"""Several web processes over one database (`newsdesk serve --web-workers N`, or two `serve`s):
what they must agree on is in the database. The login rate limits count every process's failures,
and a listing total cached in one process is not reused after the user changed something through
another. And connections spread over `--web-workers` processes (web/balance.py) instead of piling up
in one. Real `newsdesk serve` processes on loopback ports, one SQLite file."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
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


#: the tests of how connections spread find each connection's process in /proc
needs_proc = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")


def _workers(process: subprocess.Popen[bytes]) -> list[int]:
    """The pids of the supervisor's worker processes (besides multiprocessing's helper)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _server_sockets(port: int) -> dict[int, int]:
    """The server side of each connection to `port`: its client's port → the socket's inode."""
    sockets = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
        if local_port == port and fields[3] in ("01", "08"):  # ESTABLISHED, CLOSE_WAIT (not closed yet)
            sockets[remote_port] = int(fields[9])
    return sockets


def _owners(base: str, workers: list[int], connections: list[http.client.HTTPConnection]) -> list[int]:
    """The worker process that holds the server side of each (answered, so accepted) connection."""
    inodes = _server_sockets(int(base.rsplit(":", 1)[1]))
    held = {}
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                held[os.readlink(fd)] = pid
            except FileNotFoundError:  # closed meanwhile
                continue
    return [held[f"socket:[{inodes[conn.sock.getsockname()[1]]}]"] for conn in connections]


def _open_together(base: str, count: int) -> list[http.client.HTTPConnection]:
    """`count` keep-alive connections, all connected before any sends, each answered once."""
    host, port = base.removeprefix("http://").split(":")
    connections = [http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(count)]
    for conn in connections:
        conn.connect()  # the kernel completes these at once; the workers accept them from its queue
    for conn in connections:
        conn.request("GET", "/login")
    for conn in connections:
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
    return connections


def _close(base: str, connections: list[http.client.HTTPConnection]) -> None:
    """Close the connections and wait until the server closed its side too, so that the next
    round starts with workers that hold nothing."""
    for conn in connections:
        conn.close()
    deadline = time.monotonic() + 10
    while _server_sockets(int(base.rsplit(":", 1)[1])) and time.monotonic() < deadline:
        time.sleep(0.02)


def _both_workers_serving(base: str, workers: list[int]) -> None:
    """Wait until each worker has answered a connection: startup answers as soon as one does."""
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while seen != set(workers):
        assert time.monotonic() < deadline, f"only {seen} of {workers} answered"
        connections = _open_together(base, 1)
        seen.update(_owners(base, workers, connections))
        _close(base, connections)


@needs_proc
def test_keep_alive_connections_spread_over_the_web_workers(tmp_path: Path) -> None:
    """Two keep-alive connections that arrive together are served by two processes, not one (with
    asyncio's own accept loop, the first worker to wake took both). Five rounds, so that a lucky
    race does not pass."""
    with serving(f"sqlite:///{tmp_path / 'balance.sqlite'}", workers=2) as (base, process):
        workers = _workers(process)
        assert len(workers) == 2
        _both_workers_serving(base, workers)
        for _ in range(5):
            connections = _open_together(base, 2)
            owners = _owners(base, workers, connections)
            _close(base, connections)
            assert len(set(owners)) == 2, owners


@needs_proc
def test_more_connections_than_web_workers_are_all_served_evenly(tmp_path: Path) -> None:
    """Six connections at once to two workers: a worker that holds connections waits its turn but
    never refuses one; every connection is answered, twice (keep-alive), and each worker holds 2-4."""
    with serving(f"sqlite:///{tmp_path / 'balance.sqlite'}", workers=2) as (base, process):
        workers = _workers(process)
        _both_workers_serving(base, workers)
        for _ in range(3):
            connections = _open_together(base, 6)
            for conn in connections:  # the same connection again: it stayed open in its worker
                conn.request("GET", "/login")
                response = conn.getresponse()
                response.read()
                assert response.status == 200
            owners = _owners(base, workers, connections)
            _close(base, connections)
            assert sorted(owners.count(pid) for pid in workers) in ([3, 3], [2, 4]), owners


def test_small_answers_of_web_workers_are_not_held_back(tmp_path: Path) -> None:
    """With `--web-workers 2`, a small page over a keep-alive connection comes back in about a
    millisecond, not after the client's delayed ACK: every answer took 40 ms more before the workers'
    connections got TCP_NODELAY (web/balance.py). The median of 20 in a row, so one slow answer on a
    busy machine does not decide it."""
    with (serving(f"sqlite:///{tmp_path / 'nodelay.sqlite'}", workers=2) as (base, _),
          httpx.Client(base_url=base, timeout=30) as http):
        assert http.get("/login").status_code == 200
        seconds = []
        for _ in range(20):
            started = time.perf_counter()
            assert http.get("/login").status_code == 200
            seconds.append(time.perf_counter() - started)
    assert sorted(seconds)[10] < 0.030, seconds
