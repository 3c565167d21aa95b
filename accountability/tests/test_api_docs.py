"""The OpenAPI schema and the interactive docs are served, and offline (no CDN)."""

import re

import pytest
import yaml
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3(client, producer):
    client.force_login(producer)
    response = client.get(reverse("api-schema"))
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Accountability API"


def test_docs_load_swagger_ui_from_our_own_static_files(client, producer):
    client.force_login(producer)
    html = client.get(reverse("api-docs")).content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+swagger-ui[^"]*)"', html)
    assert assets, "the Swagger UI bundle must be referenced"
    assert all(a.startswith("/static/") for a in assets), assets


def test_layout_loads_nothing_from_the_internet(client, producer):
    client.force_login(producer)
    html = client.get(reverse("home")).content.decode()
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
