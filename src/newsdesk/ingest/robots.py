"""robots.txt, fetched once per site and obeyed (RFC 9309), parsed by protego.

A cache lives as long as its owner (one Fetcher, usually one collection pass), so a site's rules are
fetched at most once per pass. What an unavailable robots.txt means follows RFC 9309 §2.3.1:

- 2xx: the rules apply (a robots.txt over 512 kB is cut, and then treated as allowing everything;
  it is almost always a generated mistake, and its rules could not be read in full anyway);
- 4xx, or too many redirects: "unavailable", so everything is allowed;
- 5xx, timeout, DNS or connection failure: "unreachable", so everything is disallowed for the rest of
  the cache's life; the next pass asks again.
"""

from __future__ import annotations

import asyncio
import typing

import httpx
from protego import Protego

from .. import errors

if typing.TYPE_CHECKING:
    from .fetch import Fetcher

__all__ = ["ROBOTS_MAX_BYTES", "RobotsCache", "product_token"]

#: The part of a robots.txt that is read (Google reads 500 KiB; RFC 9309 asks for at least 500 KiB).
ROBOTS_MAX_BYTES = 512_000

_Rules = Protego | bool  # True: allow all, False: disallow all


def product_token(user_agent: str) -> str:
    """The name robots.txt groups are matched against: "newsdesk" in "newsdesk/0.1 (...)"."""
    first = user_agent.strip().split(maxsplit=1)[0] if user_agent.strip() else ""
    return first.split("/", 1)[0] or user_agent


class RobotsCache:
    """robots.txt rules per scheme + host + port, fetched once each through the given Fetcher."""

    def __init__(self, *, max_bytes: int = ROBOTS_MAX_BYTES, max_sites: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_sites = max_sites
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, fetcher: Fetcher, url: str) -> bool:
        """Whether the fetcher's user agent may fetch `url`. Raises InvalidURLError for a bad URL."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise errors.InvalidURLError(f"not a valid address: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise errors.InvalidURLError("only http and https addresses have a robots.txt")
        key = f"{parsed.scheme}://{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
        rules = self._rules.get(key)
        if rules is None:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:  # concurrent callers for one site wait for the one fetch
                rules = self._rules.get(key)
                if rules is None:
                    robots_url = parsed.copy_with(path="/robots.txt", query=None, fragment=None)
                    rules = await self._fetch(fetcher, str(robots_url))
                    self._remember(key, rules)
            self._locks.pop(key, None)
        if isinstance(rules, bool):
            return rules
        return bool(rules.can_fetch(str(parsed), product_token(fetcher.policy.user_agent)))

    def _remember(self, key: str, rules: _Rules) -> None:
        if len(self._rules) >= self.max_sites:
            del self._rules[next(iter(self._rules))]  # the oldest site; it is fetched again if needed
        self._rules[key] = rules

    async def _fetch(self, fetcher: Fetcher, robots_url: str) -> _Rules:
        try:
            response = await fetcher.get(robots_url, accept="text/plain", max_bytes=self.max_bytes)
        except errors.HTTPStatusError as exc:
            return exc.status < 500  # 4xx: unavailable, allow; 5xx: unreachable, disallow
        except (errors.TooLargeError, errors.TooManyRedirectsError):
            return True
        except (errors.BlockedAddressError, errors.InvalidURLError):
            raise  # not "unreachable": no page there is ever fetched, and the caller should say why
        except errors.FetchError:
            return False  # timeout, DNS, refused, TLS, blocked: unreachable
        if not 200 <= response.status < 300:
            return True  # a redirect without a target, or the like: unavailable
        return Protego.parse(response.content.decode("utf-8", errors="replace"))
