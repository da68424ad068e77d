"""Account use cases: users, passwords, API keys, signed tokens, and login rate limiting.

Every entry point (web login, Google Reader ClientLogin, Miniflux Basic auth and X-Auth-Token,
the own API's keys, the CLI) authenticates through Accounts, so the rules live in one place:

- passwords are argon2id hashes (argon2-cffi); checking an unknown user still runs one hash, so the
  answer takes as long whether or not the name exists;
- API keys are random strings shown once; only their SHA-256 is stored, compared by index lookup
  (the key space is too large to probe) and revocable;
- tokens (web sessions, GReader auth) are signed with the secret key and carry a fingerprint of the
  password hash, so a password change logs every session and app out;
- failed logins are counted per client address and per user name, in the database (shared by every
  web process); past the limit, even a correct password is refused until the window passes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..errors import NotFoundError
from ..errors_accounts import AuthenticationError, InvalidRequestError, RateLimitedError
from ..models_accounts import ApiKey, User
from ..storage.base import Storage

__all__ = [
    "API_KEY_PREFIX",
    "Accounts",
    "LoginLimiter",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "hash_password",
    "retry_after",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8
#: argon2 hashes any length, but a megabyte "password" is only load
MAX_PASSWORD_LENGTH = 1024
MAX_KEY_LENGTH = 200
#: every key starts with this, so a leaked one is recognisable (secret scanners, logs)
API_KEY_PREFIX = "nd_"
#: last_used_at is written at most this often per key, not on every request
_TOUCH_EVERY = timedelta(minutes=10)
#: Basic-auth clients send the password with every request; a verified one is remembered this long
_BASIC_CACHE_SECONDS = 300.0
_BASIC_CACHE_SIZE = 1024

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")

# OWASP's argon2id baseline (19 MiB, 2 passes): about 20-40 ms here, a real cost for a guesser.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked against when a user name is unknown, so that case costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _fingerprint(user: User) -> str:
    # Changes when the password does: tokens signed before a password change stop working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def retry_after(failures: Sequence[datetime], now: datetime, attempts: int, window: float) -> float:
    """Seconds until a key with these failures (oldest first, all within the window) may try again;
    0 while it has fewer than `attempts`. Pure: the limiter reads the failures and decides here."""
    if len(failures) < attempts:
        return 0.0
    # Allowed again once all but attempts - 1 of them have left the window.
    gate = failures[len(failures) - attempts]
    return max(1.0, window - (now - gate).total_seconds())


class LoginLimiter:
    """Counts failed logins per key (an address, a user name) in a sliding window, in the database
    (storage/logins.py): every web process counts the same failures, and a restart forgets none."""

    def __init__(self, storage: Storage, attempts: int, window: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage = storage
        self.attempts = max(1, attempts)
        self.window = max(1.0, window)
        self._clock = clock

    def check(self, keys: Sequence[str]) -> set[str]:
        """Raises RateLimitedError if any key is over the limit; else the keys with failures in the
        window (a success need only clear those)."""
        now = self._clock()
        found = self.storage.login_failures(keys, now - timedelta(seconds=self.window))
        wait = max((retry_after(times, now, self.attempts, self.window) for times in found.values()), default=0.0)
        if wait:
            raise RateLimitedError("too many failed logins; try again later", retry_after=wait)
        return set(found)

    def failed(self, keys: Sequence[str]) -> None:
        now = self._clock()
        self.storage.add_login_failures(keys, now, forget_before=now - timedelta(seconds=self.window))

    def succeeded(self, key: str) -> None:
        self.storage.clear_login_failures(key)


class Accounts:
    """The account use cases over storage; one per app (holds the limiter and the token signer)."""

    def __init__(self, storage: Storage, secret_key: str, *, login_attempts: int = 10, login_window: float = 900,
                 session_days: int = 30, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.storage = storage
        self.clock = clock
        self.session_max_age = max(1, session_days) * 86400
        self.limiter = LoginLimiter(storage, login_attempts, login_window, clock=clock)
        self._signer = URLSafeTimedSerializer(secret_key, salt="newsdesk-account-token")
        self._basic_key = hashlib.sha256(b"basic-cache:" + secret_key.encode()).digest()
        self._basic_cache: OrderedDict[str, tuple[float, int, str]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- users --------------------------------------------------------------------------------

    @staticmethod
    def check_name(name: str) -> str:
        if not _NAME.fullmatch(name):
            raise InvalidRequestError("a user name is 1-64 letters, digits and . _ @ + -, starting with a letter "
                                      "or digit")
        return name

    @staticmethod
    def check_password(password: str) -> str:
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise InvalidRequestError(f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
        return password

    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User:
        """Raises InvalidRequestError for a bad name or password, UserExistsError if taken."""
        self.check_name(name)
        self.check_password(password)
        return self.storage.add_user(name, hash_password(password), is_admin, self.clock())

    def change_password(self, user_id: int, password: str) -> None:
        self.check_password(password)
        self.storage.set_password_hash(user_id, hash_password(password))
        with self._cache_lock:
            self._basic_cache.clear()

    # -- passwords ----------------------------------------------------------------------------

    def login(self, name: str, password: str, client: str | None) -> User:
        """Check a user name and password. Raises RateLimitedError past the limit (even for the right
        password), AuthenticationError otherwise; neither says which half was wrong."""
        name = name[:100]
        keys = [f"user:{name}"] + ([f"addr:{client}"] if client else [])
        failing = self.limiter.check(keys)
        user = self.storage.find_user(name) if _NAME.fullmatch(name) else None
        if len(password) > MAX_PASSWORD_LENGTH:
            password = ""
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok:
            self.limiter.failed(keys)
            raise AuthenticationError("wrong user name or password")
        if f"user:{name}" in failing:  # a write only when there is something to forget
            self.limiter.succeeded(f"user:{name}")
        return user

    def login_basic(self, name: str, password: str, client: str | None) -> User:
        """login() for clients that send the password with every request (Miniflux Basic auth): a
        success is remembered for a few minutes under an HMAC of the credentials, so that argon2 runs
        once per client, not per request. The password hash is re-read and must still match."""
        digest = self._basic_digest(name, password)
        now = time.monotonic()
        with self._cache_lock:
            cached = self._basic_cache.get(digest)
        if cached is not None and now - cached[0] < _BASIC_CACHE_SECONDS:
            try:
                user = self.storage.get_user(cached[1])
            except NotFoundError:
                user = None
            if user is not None and hmac.compare_digest(_fingerprint(user), cached[2]):
                return user
        user = self.login(name, password, client)
        with self._cache_lock:
            self._basic_cache[digest] = (now, user.id, _fingerprint(user))
            while len(self._basic_cache) > _BASIC_CACHE_SIZE:
                self._basic_cache.popitem(last=False)
        return user

    def remembers_basic(self, name: str, password: str) -> bool:
        """Whether login_basic() would find these credentials remembered (a look in memory, no
        database, no hash): if not, it runs argon2, which the web does on its slow threads."""
        digest = self._basic_digest(name, password)
        with self._cache_lock:
            cached = self._basic_cache.get(digest)
        return cached is not None and time.monotonic() - cached[0] < _BASIC_CACHE_SECONDS

    def _basic_digest(self, name: str, password: str) -> str:
        return hmac.new(self._basic_key, f"{name}\x00{password}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()

    # -- API keys -----------------------------------------------------------------------------

    def create_api_key(self, user_id: int, name: str) -> tuple[ApiKey, str]:
        """A new key for the user: the stored record and the key itself, which is shown once."""
        name = " ".join(name.split())[:64] or "API key"
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        return self.storage.add_api_key(user_id, name, _key_hash(key), key[:10], self.clock()), key

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKey]:
        return self.storage.list_api_keys(user_id)

    def revoke_api_key(self, key_id: int, user_id: int | None = None) -> None:
        self.storage.revoke_api_key(key_id, self.clock(), user_id)

    def authenticate_key(self, key: str) -> User:
        """The owner of an active key. Raises AuthenticationError for an unknown or revoked key."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise AuthenticationError("invalid API key")
        found = self.storage.find_api_key(_key_hash(key))
        if found is None or not found[0].active:
            raise AuthenticationError("invalid API key")
        api_key, user = found
        now = self.clock()
        if api_key.last_used_at is None or now - api_key.last_used_at > _TOUCH_EVERY:
            self.storage.touch_api_key(api_key.id, now)
        return user

    # -- signed tokens ------------------------------------------------------------------------

    def issue_token(self, user: User, purpose: str) -> str:
        return self._signer.dumps([purpose, user.id, _fingerprint(user)])

    def check_token(self, token: str, purpose: str, max_age: int | None = None) -> User:
        """The user a token was issued to. Raises AuthenticationError if it is forged, expired, for
        another purpose, or older than the user's last password change."""
        if not token or len(token) > 1000:
            raise AuthenticationError("invalid token")
        try:
            value = self._signer.loads(token, max_age=max_age or self.session_max_age)
        except BadSignature as exc:
            raise AuthenticationError("invalid token") from exc
        if not (isinstance(value, list) and len(value) == 3 and value[0] == purpose and isinstance(value[1], int)):
            raise AuthenticationError("invalid token")
        try:
            user = self.storage.get_user(value[1])
        except NotFoundError as exc:
            raise AuthenticationError("invalid token") from exc
        if not hmac.compare_digest(_fingerprint(user), str(value[2])):
            raise AuthenticationError("invalid token")
        return user
