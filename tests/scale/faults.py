"""Fault injection for the scale tests: a private, throwaway PostgreSQL cluster that a test may
restart (the machine's shared server is never touched), a small tmpfs to fill, and a shifted clock
for a worker process."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: the machine's shared server (tests/scale/conftest.py), used here only to drop a worker's connections
PG_URL = os.environ.get("NEWSDESK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def private_postgres_unavailable() -> str | None:
    """Why a private cluster cannot be started here, or None."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} is not installed"
    if os.geteuid() != 0:
        return "starting a cluster as user postgres needs root"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user"
    if shutil.which("runuser") is None:
        return "runuser is not installed"
    return None


class PrivateCluster:
    """initdb + pg_ctl in a temporary directory, on a free port, run as user postgres."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="newsdesk-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = _free_port()
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / tool), *args], check=True,
                       capture_output=True, timeout=timeout, cwd=self.dir)

    def _options(self) -> str:
        return (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c full_page_writes=off -c max_connections=40")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.log), "-w", "start")

    def restart(self, mode: str = "fast", down_seconds: float = 2.0) -> None:
        """Stop (`-m mode`: every connection is cut), stay down `down_seconds`, start again; the
        server is back when this returns. The pause makes sure the workers meet the outage: a
        restart that fits between two statements is bridged by the pool's pre-ping unnoticed."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.data),
                        "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60, check=False)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def terminate_backends(admin_url: str, application_name: str) -> int:
    """pg_terminate_backend for every connection of one application; the number cut."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                            (application_name,)).fetchall()
    return len(rows)


@contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (needs root); raises OSError when it cannot be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        raise OSError(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        for _ in range(10):
            if subprocess.run(["umount", str(where)], capture_output=True).returncode == 0:
                break
            time.sleep(0.5)
        else:  # still busy: detach it now, the kernel frees it once the last file is closed
            subprocess.run(["umount", "--lazy", str(where)], capture_output=True, check=False)


def fill_disk(folder: Path, leave: int) -> Path:
    """Fill the file system of `folder` up to `leave` free bytes with one file, and return it."""
    filler = folder / "filler"
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("wb") as out:
        remaining = max(0, free - leave)
        chunk = b"\0" * 65536
        while remaining > 0:
            try:
                remaining -= out.write(chunk[: min(len(chunk), remaining)])
            except OSError:
                break
    return filler


SITECUSTOMIZE = '''"""Test only: this process's clock runs NEWSDESK_TEST_CLOCK_OFFSET seconds off the real one."""
import datetime as _datetime
import os as _os
import time as _time

_offset = float(_os.environ.get("NEWSDESK_TEST_CLOCK_OFFSET", "0"))
_real_time = _time.time
_real_datetime = _datetime.datetime


def _shifted_time():
    return _real_time() + _offset


class _AnyDatetime(type):
    # datetimes made elsewhere (the database driver's) are still datetimes to isinstance()
    def __instancecheck__(cls, obj):
        return isinstance(obj, _real_datetime)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _real_datetime)


class _ShiftedDatetime(_real_datetime, metaclass=_AnyDatetime):
    @classmethod
    def now(cls, tz=None):
        return _real_datetime.now(tz) + _datetime.timedelta(seconds=_offset)

    @classmethod
    def utcnow(cls):
        return _real_datetime.utcnow() + _datetime.timedelta(seconds=_offset)


if _offset:
    _time.time = _shifted_time
    _datetime.datetime = _ShiftedDatetime
'''


def shifted_clock_env(folder: Path, offset_seconds: float) -> dict[str, str]:
    """Environment for a worker whose clock (time.time, datetime.now) is off by `offset_seconds`: a
    sitecustomize.py on its PYTHONPATH, which Python imports before anything else."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    root = Path(__file__).resolve().parents[2]
    return {"PYTHONPATH": f"{folder}{os.pathsep}{root / 'src'}", "NEWSDESK_TEST_CLOCK_OFFSET": str(offset_seconds)}
