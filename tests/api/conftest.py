"""Fixtures of the API tests live in api_fixtures.py (tests import its constants and types too)."""

from api_fixtures import http, server  # noqa: F401 - pytest finds fixtures by name here
