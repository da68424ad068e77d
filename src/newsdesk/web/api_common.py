"""What the API modules share: the app-wide account objects, credential parsing, the client
address, bounded parameter parsing, and the one error -> API response map.

API paths answer errors in their protocol's shape (plain text for Google Reader, Miniflux's
`{"error_message"}`, the own API's `{"error", "message"}`), never an HTML page and never a trace; a
401 says only "unauthorized", whichever half of a credential was wrong.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import NewsdeskError, NotFoundError, SourceExistsError, StorageError
from ..errors_accounts import AuthenticationError, InvalidRequestError, PermissionDeniedError, RateLimitedError
from ..services.accounts import Accounts
from ..services.feedreader import SourceDirectory, TotalsCache
from ..storage.base import Storage
from .security import SECURITY_HEADERS
from .slowpool import SlowPool


def _fast_dumps() -> Callable[[Any], bytes] | None:
    """orjson's encoder: pinned in pyproject; without it (an older environment) the stdlib's."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:  # pragma: no cover - the pinned install has it
        return None
    dumps: Callable[[Any], bytes] = module.dumps
    return dumps


_FAST_DUMPS = _fast_dumps()


def _fast_dumps_utc() -> Callable[[Any], bytes] | None:
    """orjson's encoder writing aware UTC datetimes itself, ending in "Z" (see json_bytes_utc)."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:  # pragma: no cover - the pinned install has it
        return None
    dumps: Callable[..., bytes] = module.dumps
    option = module.OPT_UTC_Z

    def dumps_utc(body: Any) -> bytes:
        return dumps(body, option=option)

    return dumps_utc


_FAST_DUMPS_UTC = _fast_dumps_utc()

__all__ = [
    "API_PREFIXES",
    "ApiContext",
    "FastJSONResponse",
    "UtcJSONResponse",
    "api_error_response",
    "basic_credentials",
    "client_address",
    "int_param",
    "is_api_path",
    "iso_utc",
    "json_bytes",
    "json_bytes_utc",
    "read_form",
    "timestamp",
    "urlencoded_pairs",
]

log = logging.getLogger(__name__)

GREADER_PREFIXES = ("/accounts/", "/reader/api/", "/api/greader")
MINIFLUX_PREFIX = "/v1/"
OWN_PREFIX = "/api/v1/"
API_PREFIXES = (*GREADER_PREFIXES, MINIFLUX_PREFIX, "/v1", OWN_PREFIX)

#: the largest integer any query parameter may hold; beyond it a value is refused, not wrapped
MAX_INT_PARAM = 2**53


@dataclass
class ApiContext:
    """Built once in create_app and shared by the API routers and the login pages."""

    storage: Storage
    accounts: Accounts
    directory: SourceDirectory
    public_url: str
    #: listing totals, shared by every API and the account pages (which forget a user's on change)
    totals: TotalsCache = field(default_factory=TotalsCache)
    #: the threads of requests that fetch a remote site or hash a password (web/slowpool.py)
    slow: SlowPool = field(default_factory=SlowPool)


def json_bytes(body: Any) -> bytes:
    """Compact UTF-8 JSON. orjson encodes 1,000 entries with their bodies in 0.4 ms where the
    stdlib takes 17.5 (bench/api.py: the encoder was the largest single cost of a full page)."""
    if _FAST_DUMPS is not None:
        return _FAST_DUMPS(body)
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def iso_utc(when: datetime) -> str:
    """An aware time as ISO 8601 in UTC with a "Z" (microseconds only when there are any): the text
    json_bytes_utc writes for a datetime."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_bytes_utc(body: Any) -> bytes:
    """json_bytes, with aware datetimes in the body written as iso_utc() text. orjson writes them in C:
    for a Miniflux page of 100 entries (300 times) 0.03 ms, where formatting each in Python took 0.33
    (2026-11-27, apiconc). Storage hands out aware UTC times only (storage.schema.UTCDateTime)."""
    if _FAST_DUMPS_UTC is not None:
        return _FAST_DUMPS_UTC(body)

    def default(value: Any) -> str:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return iso_utc(value)
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                      default=default).encode("utf-8")


class FastJSONResponse(JSONResponse):
    """JSONResponse with json_bytes: the same bytes shape (compact, UTF-8), encoded faster."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class UtcJSONResponse(JSONResponse):
    """FastJSONResponse for bodies holding aware datetimes (json_bytes_utc)."""

    def render(self, content: Any) -> bytes:
        return json_bytes_utc(content)


def is_api_path(path: str) -> bool:
    return path == "/v1" or path.startswith(API_PREFIXES)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an HTTP Basic Authorization header, or None."""
    if not header or len(header) > 4096:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def int_param(raw: str | None, name: str, *, default: int | None = None, minimum: int = 0,
              maximum: int = MAX_INT_PARAM) -> int | None:
    """A query/form integer: None or empty gives the default; a non-integer is a 400; a value past
    `maximum` is capped (a giant `n` asks for "everything", which is at most `maximum`)."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if len(text) > 24 or not text.lstrip("-").isdigit():
        raise InvalidRequestError(f"{name} must be an integer")
    value = int(text)
    if value < minimum:
        raise InvalidRequestError(f"{name} must be at least {minimum}")
    return min(value, maximum)


def urlencoded_pairs(body: bytes, *, max_fields: int, max_field_bytes: int) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as (name, value) pairs, as Starlette's form
    parser reads it (split on `&`, empty pieces skipped, a piece without `=` is a name with an
    empty value, `+` and %-escapes decoded as UTF-8), with C string methods where the parser walks
    the bytes in Python: that was a sixth of a 1,000-id contents call (bench/api.py). Raises
    InvalidRequestError past `max_fields` or for a field over `max_field_bytes`."""
    pieces = [piece for piece in body.split(b"&") if piece]
    if len(pieces) > max_fields:
        raise InvalidRequestError("too many parameters")
    if any(len(piece) > max_field_bytes for piece in pieces):
        raise InvalidRequestError("a parameter is too long")
    upper = body.upper()
    if b"%26" not in upper and b"%3D" not in upper:
        # No escaped `&` or `=`: decoding the whole body first splits it the same way, in one
        # call instead of two per field (escapes never span a `&`, so UTF-8 runs stay per field).
        decoded = unquote_plus(body.decode("latin-1"))
        return [(name, value) for name, _, value in (piece.partition("=") for piece in decoded.split("&") if piece)]
    pairs = []
    for piece in pieces:
        name, _, value = piece.partition(b"=")
        pairs.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return pairs


async def read_form(request: Request, *, max_fields: int, max_field_bytes: int,
                    max_bytes: int) -> list[tuple[str, str]]:
    """The text fields of a POST form: urlencoded bodies through urlencoded_pairs (at most
    `max_bytes`), others (multipart) through Starlette's parser; files are refused."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        form = await request.form(max_files=0, max_fields=max_fields, max_part_size=max_field_bytes)
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidRequestError("request body too large")
        chunks.append(chunk)
    return urlencoded_pairs(b"".join(chunks), max_fields=max_fields, max_field_bytes=max_field_bytes)


def timestamp(seconds: int) -> datetime:
    """Epoch seconds as an aware datetime, clamped to what datetime holds."""
    seconds = max(0, min(seconds, 253_402_300_799))  # 9999-12-31T23:59:59Z
    return datetime.fromtimestamp(seconds, UTC)


def _status(exc: Exception) -> int:
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, RateLimitedError):
        return 429
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, SourceExistsError):
        return 409
    if isinstance(exc, (InvalidRequestError, RequestValidationError, ValueError)):
        return 400
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, NewsdeskError):
        return 400
    return 500


def _message(exc: Exception, status: int) -> str:
    if status == 401:
        return "unauthorized"
    if status >= 500:
        return "server error" if status == 500 else "temporarily unavailable"
    if isinstance(exc, StarletteHTTPException):
        return str(exc.detail)[:300]
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path"))
        return f"invalid parameter {where}: {first.get('msg', 'invalid')}"[:300]
    return str(exc)[:300] or "bad request"


def api_error_response(request: Request, exc: Exception) -> Response:
    """The one error -> API response map, in the shape of the API the path belongs to."""
    status = _status(exc)
    if status >= 500:
        log.error("error serving %s %s", request.method, request.url.path, exc_info=exc)
    message = _message(exc, status)
    headers = dict(SECURITY_HEADERS)
    headers["Cache-Control"] = "no-store"
    if isinstance(exc, StarletteHTTPException) and exc.headers:
        headers.update(exc.headers)  # e.g. Allow on a 405
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(int(exc.retry_after) + 1)
    path = request.url.path
    if path.startswith(GREADER_PREFIXES):
        if status == 401:
            headers["Google-Bad-Token"] = "true"
        return PlainTextResponse(message, status_code=status, headers=headers)
    if path.startswith(OWN_PREFIX):
        kind = getattr(exc, "kind", None) or ("not_found" if status == 404 else "error")
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="newsdesk"'
            kind = "unauthenticated"
        return JSONResponse({"error": kind, "message": message}, status_code=status, headers=headers)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="newsdesk", charset="UTF-8"'
    return JSONResponse({"error_message": message}, status_code=status, headers=headers)
