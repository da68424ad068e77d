"""The account errors, as branches of errors.NewsdeskError's tree:

    NewsdeskError
    ├── StorageError
    │   └── UserExistsError             "user_exists"       the login name is taken
    ├── AuthenticationError             "unauthenticated"   missing, wrong, expired or revoked credentials
    ├── PermissionDeniedError           "forbidden"         logged in, but not allowed (admin only)
    ├── RateLimitedError                "rate_limited"      too many failed logins; carries retry_after
    └── InvalidRequestError             "invalid_request"   a malformed id, stream id or parameter

Kept in their own module while features land in parallel (errors.py is shared); they belong in
errors.py's tree and move there at the next quiet merge. Messages never say which half of a
credential was wrong.
"""

from __future__ import annotations

from .errors import NewsdeskError, StorageError

__all__ = [
    "AuthenticationError",
    "InvalidRequestError",
    "PermissionDeniedError",
    "RateLimitedError",
    "UserExistsError",
]


class UserExistsError(StorageError, ValueError):
    kind = "user_exists"


class AuthenticationError(NewsdeskError):
    kind = "unauthenticated"


class PermissionDeniedError(NewsdeskError):
    kind = "forbidden"


class RateLimitedError(NewsdeskError):
    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        #: seconds until another attempt is counted again
        self.retry_after = retry_after


class InvalidRequestError(NewsdeskError, ValueError):
    kind = "invalid_request"
