"""schemathesis against the own API's served OpenAPI document: generated requests (valid and
not) never get a 5xx, and every response matches the document."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from api_fixtures import Server
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from schemathesis.specs.openapi.schemas import OpenApiSchema


@pytest.fixture
def api_schema(server: Server) -> Iterator[OpenApiSchema]:
    yield schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_own_api_conforms(case: schemathesis.Case, server: Server) -> None:
    # Every check but one: a cursor is opaque (a pattern describes its shape, not whether the time
    # in it exists), so a schema-valid but made-up cursor is rightly a 400.
    case.call_and_validate(headers={"Authorization": f"Bearer {server.reader_key}"},
                           excluded_checks=[positive_data_acceptance])


def test_openapi_document_is_served(server: Server) -> None:
    doc = httpx.get(f"{server.url}/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = {"/api/v1/articles", "/api/v1/articles/{article_id}", "/api/v1/sources", "/api/v1/search",
             "/api/v1/stories", "/api/v1/stories/{story_id}", "/api/v1/entities", "/api/v1/entities/{entity_id}",
             "/api/v1/entities/{entity_id}/stories", "/api/v1/entities/{entity_id}/articles", "/api/v1/topics",
             "/api/v1/topics/{slug}", "/api/v1/topics/{slug}/articles"}
    assert paths <= set(doc["paths"])
