"""The OpenAPI schema (SPEC §5): it generates without a warning, validates, is public (the
fuzzing suite reads it anonymously), and describes every path, request and response body of
the core and activities resources."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

ROOT = Path(settings.BASE_DIR)

# path → the methods it must document, with the status of its success response.
ENDPOINTS = {
    "/api/v1/auth/token/": {"post": "200"},
    "/api/v1/auth/logout/": {"post": "204"},
    "/api/v1/me/": {"get": "200"},
    "/api/v1/organization/": {"get": "200", "put": "200", "patch": "200"},
    "/api/v1/members/": {"get": "200"},
    "/api/v1/members/{id}/": {"get": "200"},
    "/api/v1/teams/": {"get": "200"},
    "/api/v1/teams/{id}/": {"get": "200"},
    "/api/v1/activity-types/": {"get": "200", "post": "201"},
    "/api/v1/activity-types/{id}/": {"get": "200", "put": "200", "patch": "200"},
    "/api/v1/expectations/": {"get": "200", "post": "201"},
    "/api/v1/expectations/{id}/": {"get": "200", "patch": "200"},
    "/api/v1/integration-keys/": {"get": "200", "post": "201"},
    "/api/v1/integration-keys/{id}/": {"get": "200", "patch": "200"},
    "/api/v1/integration-keys/{id}/rotate/": {"post": "200"},
    "/api/v1/activities/": {"get": "200", "post": "201"},
    "/api/v1/activities/{id}/": {"get": "200", "put": "200", "patch": "200", "delete": "204"},
    "/api/v1/activities/{id}/verify/": {"post": "200"},
    "/api/v1/activities/{id}/reject/": {"post": "200"},
}
NO_REQUEST_BODY = {
    ("/api/v1/auth/logout/", "post"),
    ("/api/v1/integration-keys/{id}/rotate/", "post"),
    ("/api/v1/activities/{id}/verify/", "post"),
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_generates_without_warnings_and_validates():
    """The same command CI and developers run; a warning (a vague body, a guessed type) fails it."""
    env = {**os.environ, "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "accountability.settings"}
    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_schema_validates_in_process(schema):
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_is_described(schema, path):
    assert path in schema["paths"], sorted(schema["paths"])
    operations = schema["paths"][path]
    for method, success in ENDPOINTS[path].items():
        operation = operations.get(method)
        assert operation is not None, f"{method.upper()} {path} is missing"
        assert operation.get("summary"), f"{method.upper()} {path} has no summary"
        assert success in operation["responses"], (path, method, operation["responses"].keys())
        if success != "204":
            body = operation["responses"][success]["content"]["application/json"]["schema"]
            assert body.get("$ref") or body.get("type"), (path, method)
        if method in ("post", "put", "patch") and (path, method) not in NO_REQUEST_BODY:
            request_body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert request_body.get("$ref"), (path, method)
        # Errors are described too (the fuzzing suite checks every status against the schema).
        assert "400" in operation["responses"], (path, method)


def test_wrong_methods_are_not_documented(schema):
    for path, methods in ENDPOINTS.items():
        documented = {m for m in schema["paths"][path] if m in ("get", "post", "put", "patch", "delete")}
        assert documented == set(methods), path


def test_error_responses_of_authenticated_endpoints(schema):
    activity = schema["paths"]["/api/v1/activities/{id}/"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(activity)
    assert activity["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert set(token["responses"]) == {"200", "400", "429"}
    assert token.get("security") in (None, [])  # no credentials needed to log in


def test_token_security_scheme_and_bodies(schema):
    components = schema["components"]
    assert components["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert set(components["schemas"]["LoginRequest"]["required"]) == {"email", "password"}
    assert set(components["schemas"]["Token"]["properties"]) == {"token", "expires_at"}
    # The secret of an integration key is only in the create / rotate responses.
    assert "secret" in components["schemas"]["IntegrationKeySecret"]["properties"]
    assert "secret" not in components["schemas"]["IntegrationKey"]["properties"]
    keys = schema["paths"]["/api/v1/integration-keys/"]
    assert keys["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/IntegrationKeySecret"
    )
    assert keys["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedIntegrationKeyList"
    )


def test_activity_filters_are_documented_as_parameters(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/activities/"]["get"]["parameters"]}
    assert {"producer", "activity_type", "team", "status", "needs_review", "from", "to", "page", "page_size"} <= set(
        parameters
    )
    assert parameters["from"]["schema"] == {"type": "string", "format": "date"}
    assert "time zone" in parameters["from"]["description"]
    assert parameters["producer"]["schema"]["type"] == "integer"
    assert parameters["status"]["schema"]["enum"] == ["logged", "rejected", "verified"]
    expectations = {p["name"] for p in schema["paths"]["/api/v1/expectations/"]["get"]["parameters"]}
    assert {"team", "activity_type", "active_on"} <= expectations


def test_list_responses_are_paginated(schema):
    page = schema["components"]["schemas"]["PaginatedActivityList"]
    assert {"count", "next", "previous", "results"} <= set(page["properties"])


@pytest.mark.django_db
def test_schema_and_docs_are_public():
    """Public on purpose: the schema holds no data, and the fuzzing suite reads it anonymously."""
    client = APIClient()
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert "/api/v1/activities/" in yaml.safe_load(response.content)["paths"]
    assert client.get("/api/docs/").status_code == 200
