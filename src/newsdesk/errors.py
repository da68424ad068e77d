"""One exception tree for newsdesk.

    NewsdeskError                       kind
    ├── FetchError                      "fetch"
    │   ├── BlockedAddressError         "blocked_address"   private/loopback/link-local, not allowed
    │   ├── DNSError                    "dns"
    │   ├── ConnectError                "connect"           refused, reset, unreachable
    │   ├── TLSError                    "tls"
    │   ├── FetchTimeoutError           "timeout"           the whole-request deadline passed
    │   ├── TooLargeError               "too_large"         body over the cap, counted after decompression
    │   ├── TooManyRedirectsError       "redirects"
    │   ├── HTTPStatusError             "http_status"       4xx/5xx; carries status and Retry-After
    │   ├── RobotsDisallowedError       "robots"
    │   └── InvalidURLError             "invalid_url"
    ├── ParseError                      "parse"
    │   ├── NotAFeedError               "not_a_feed"
    │   └── MalformedFeedError          "malformed"
    ├── ExtractionError                 "extraction"
    │   └── NoArticleError              "no_article"        the page yields no article text
    │       ├── PaywallError            "paywall"           a subscriber wall, at most a teaser
    │       └── CookieWallError         "cookie_wall"       a consent wall instead of the article
    ├── DiscoveryError                  "discovery"         no feed, sitemap or article links found
    ├── StorageError                    "storage"
    │   ├── DatabaseUnavailableError    "database_unavailable" server away, connection dropped, disk full
    │   ├── SourceExistsError           "exists"
    │   └── NotFoundError               "not_found"
    ├── LeaseLapsedError                "lease_lapsed"      a worker's leases may have run out: it stops polling
    ├── SettingsError                   "settings"
    ├── InvalidAddressError             "invalid_address"   an e-mail address newsdesk will not mail
    ├── InvalidTokenError               "invalid_token"     forged, expired or wrong-purpose link token
    ├── RateLimitedError                "rate_limited"      too many sign-ups from one client or for one address
    ├── InvalidNewsletterError          "invalid_newsletter" a newsletter definition that cannot work
    └── MailError                       "mail"
        ├── MailConnectionError         "mail_connection"   cannot connect, or the server hung up
        ├── MailTimeoutError            "mail_timeout"      the server stalled past the timeout
        ├── MailTemporaryError          "mail_temporary"    4xx still after every retry
        ├── MailRejectedError           "mail_rejected"     5xx: permanent, per recipient; not retried
        └── MailHeaderError             "mail_header"       a header value that would inject headers

Every error's message is plain words a user can act on; `kind` is the stable key that sources
record and summaries count.
"""

from __future__ import annotations

__all__ = [
    "BlockedAddressError",
    "ConnectError",
    "CookieWallError",
    "DNSError",
    "DatabaseUnavailableError",
    "DiscoveryError",
    "ExtractionError",
    "FetchError",
    "FetchTimeoutError",
    "InvalidAddressError",
    "InvalidTokenError",
    "InvalidNewsletterError",
    "RateLimitedError",
    "MailConnectionError",
    "MailError",
    "MailHeaderError",
    "MailRejectedError",
    "MailTemporaryError",
    "MailTimeoutError",
    "HTTPStatusError",
    "InvalidURLError",
    "LeaseLapsedError",
    "MalformedFeedError",
    "NewsdeskError",
    "NoArticleError",
    "NotAFeedError",
    "NotFoundError",
    "PaywallError",
    "ParseError",
    "RobotsDisallowedError",
    "SettingsError",
    "SourceExistsError",
    "StorageError",
    "TLSError",
    "TooLargeError",
    "TooManyRedirectsError",
]


class NewsdeskError(Exception):
    kind = "error"


class FetchError(NewsdeskError):
    kind = "fetch"


class BlockedAddressError(FetchError):
    kind = "blocked_address"


class DNSError(FetchError):
    kind = "dns"


class ConnectError(FetchError):
    kind = "connect"


class TLSError(FetchError):
    kind = "tls"


class FetchTimeoutError(FetchError):
    kind = "timeout"


class TooLargeError(FetchError):
    kind = "too_large"


class TooManyRedirectsError(FetchError):
    kind = "redirects"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        #: seconds the server asked us to wait (Retry-After), if it did
        self.retry_after = retry_after


class RobotsDisallowedError(FetchError):
    kind = "robots"


class InvalidURLError(FetchError, ValueError):
    kind = "invalid_url"


class ParseError(NewsdeskError):
    kind = "parse"


class NotAFeedError(ParseError):
    kind = "not_a_feed"


class MalformedFeedError(ParseError):
    kind = "malformed"


class ExtractionError(NewsdeskError):
    kind = "extraction"


class NoArticleError(ExtractionError):
    kind = "no_article"


class DiscoveryError(NewsdeskError):
    kind = "discovery"


class StorageError(NewsdeskError):
    kind = "storage"


class DatabaseUnavailableError(StorageError):
    """The database could not do its work, whatever was asked: the server restarted or is away, the
    connection was dropped, the disk is full. Not a fault of the data; retrying later may succeed."""

    kind = "database_unavailable"


class SourceExistsError(StorageError, ValueError):
    kind = "exists"


class NotFoundError(StorageError, LookupError):
    kind = "not_found"


class LeaseLapsedError(NewsdeskError):
    """A collection worker could not renew its leases in time (its database was slow or away), so
    another worker may now hold its sources and their hosts. It starts no further request for them:
    two workers polling one host at once would break per-host politeness."""

    kind = "lease_lapsed"


class SettingsError(NewsdeskError, ValueError):
    kind = "settings"


class InvalidAddressError(NewsdeskError, ValueError):
    kind = "invalid_address"


class InvalidTokenError(NewsdeskError, ValueError):
    kind = "invalid_token"


class RateLimitedError(NewsdeskError):
    """Too many attempts; `retry_after` says in how many seconds another may succeed."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidNewsletterError(NewsdeskError, ValueError):
    kind = "invalid_newsletter"


class MailError(NewsdeskError):
    """Sending mail failed. `code` is the SMTP reply code when the server gave one."""

    kind = "mail"

    def __init__(self, message: str, code: int | None = None, recipient: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.recipient = recipient


class MailConnectionError(MailError):
    kind = "mail_connection"


class MailTimeoutError(MailError):
    kind = "mail_timeout"


class MailTemporaryError(MailError):
    kind = "mail_temporary"


class MailRejectedError(MailError):
    kind = "mail_rejected"


class MailHeaderError(MailError, ValueError):
    kind = "mail_header"


class PaywallError(NoArticleError):
    kind = "paywall"

    def __init__(self, message: str, teaser: str = "") -> None:
        super().__init__(message)
        #: the text shown above the wall (may be empty): a teaser, not the article
        self.teaser = teaser


class CookieWallError(NoArticleError):
    kind = "cookie_wall"
