"""The OpenAPI schema validates and documents every error status; its readers work offline under the CSP."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 specification


def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=io.StringIO())
    assert "openapi: 3" in out.read_text()


def test_every_operation_documents_its_error_statuses(schema):
    missing = []
    for path, method, operation in _operations(schema):
        want = {"401", "403", "404", "429"}
        if method in {"post", "put", "patch"}:
            want |= {"400", "409", "415"}
        if method in {"put", "patch", "delete"}:
            want |= {"412"}
        if method == "post":
            want |= {"422"}
        lacking = want - set(operation["responses"])
        if lacking:
            missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
    assert not missing, missing


def test_job_requests_document_the_broker_outage(schema):
    responses = schema["paths"]["/api/v1/jobs/"]["post"]["responses"]
    assert {"202", "409", "503"} <= set(responses)


def test_writes_document_their_headers(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/accounts/{id}/"]["patch"]["parameters"] if p["in"] == "header"}
    assert "If-Match" in params
    params = {p["name"] for p in schema["paths"]["/api/v1/accounts/"]["post"]["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in params
    assert "ETag" in schema["paths"]["/api/v1/accounts/{id}/"]["get"]["responses"]["200"]["headers"]


def test_read_only_fields_are_marked_in_the_schema(schema):
    account = schema["components"]["schemas"]["Account"]["properties"]
    for name in ("id", "tier", "value_score", "health_score", "health_band", "version"):
        assert account[name].get("readOnly"), name
    assert "tier" not in schema["components"]["schemas"]["AccountRequest"]["properties"]


def test_the_contract_paths_are_served(schema):
    for path in [
        "accounts", "contacts", "contracts", "invoices", "survey-responses", "service-requests", "projects", "meetings",
        "exchange-rates", "jobs",
    ]:  # fmt: skip
        assert f"/api/v1/{path}/" in schema["paths"], path
    assert "/api/v1/contracts/{id}/renew/" in schema["paths"]


def test_the_schema_endpoint_needs_authentication(client, manager_api):
    assert client.get("/api/schema/").status_code in {401, 403}
    response = manager_api.get("/api/schema/?format=json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_need_login(client, page):
    response = client.get(page)
    assert response.status_code == 302 and "/login/" in response.url


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_work_offline_under_the_csp(client, account_manager, page):
    client.force_login(account_manager)
    response = client.get(page)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = response.content.decode()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts
    for attributes in scripts:
        # Each script is either a file of ours or carries this response's nonce (inline code does).
        src = re.search(r'src="([^"]+)"', attributes)
        has_nonce = f'nonce="{nonce}"' in attributes
        assert has_nonce or (src and src.group(1).startswith("/static/")), attributes
        if not src:
            assert has_nonce, attributes
    for attributes in re.findall(r"<style\b([^>]*)>", html):
        assert f'nonce="{nonce}"' in attributes
    # Offline: no file from another origin.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for url in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(url), f"static file {url} is missing"


def test_swagger_ui_gets_the_csrf_token_for_session_writes(client, account_manager):
    client.force_login(account_manager)
    html = client.get("/api/docs/").content.decode()
    assert '"X-CSRFTOKEN"' in html.upper() or "X-CSRFToken" in html


def test_verbs_on_an_object_document_if_match_and_412(schema):
    renew = schema["paths"]["/api/v1/contracts/{id}/renew/"]["post"]
    assert "If-Match" in {p["name"] for p in renew["parameters"]}
    assert "412" in renew["responses"]
