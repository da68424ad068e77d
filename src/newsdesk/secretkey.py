"""The site's secret key: settings.secret_key, or one generated once and kept in the data directory.

Links in mails (confirm, unsubscribe, manage) are signed with it and must keep working after a
restart, so an empty NEWSDESK_SECRET_KEY cannot mean a fresh random key per process. The generated
key is written to `<data_dir>/secret_key` with mode 0600, created exclusively (O_EXCL) so two
processes starting at once agree on one key. If the directory cannot be written, a per-process key
is used and a warning says that links will not survive a restart.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from .settings import Settings

__all__ = ["KEY_FILE", "resolve_secret_key"]

log = logging.getLogger(__name__)

KEY_FILE = "secret_key"
#: a key file longer than this is not ours
_MAX_KEY_BYTES = 1024


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        return None
    key = data.decode("ascii", "replace").strip()
    if not key or len(data) > _MAX_KEY_BYTES:
        return None
    return key


def resolve_secret_key(settings: Settings) -> str:
    """The configured secret key, else the persisted generated one (created on first use)."""
    configured = str(settings.secret_key or "")
    if configured:
        return configured
    path = settings.resolved_data_dir / KEY_FILE
    try:
        existing = _read(path)
        if existing:
            return existing
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            # another process won the race (or left an empty file); use what is there
            existing = _read(path)
            if existing:
                return existing
            raise
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        return key
    except OSError as exc:
        log.warning("cannot keep a secret key in %s (%s); using a per-process key, so signed links in "
                    "mails stop working after a restart. Set NEWSDESK_SECRET_KEY.", path, exc)
        return secrets.token_urlsafe(48)
