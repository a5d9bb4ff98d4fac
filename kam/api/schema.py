"""OpenAPI details drf-spectacular cannot infer: our headers and every error status we answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag you read. The change is refused with 412 if the object changed since (no lost updates).",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "A unique key per logical request (e.g. a UUID). A repeat with the same key and body returns the first "
        "answer and creates nothing; the same key with another body is a 422. Keys expire after 24 hours."
    ),
)


class AutoSchema(openapi.AutoSchema):
    def _object_list(self) -> bool:
        # A viewset whose ``list`` answers one object (a summary holding its rows, as
        # portfolio-matrix/ does) says so with ``list_is_object``; drf-spectacular would describe an array.
        return bool(getattr(self.view, "list_is_object", False)) and getattr(self.view, "action", None) == "list"

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False if self._object_list() else super()._is_list_view(serializer)

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        return operation_id.removesuffix("_retrieve") + "_list" if self._object_list() else operation_id

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        method = self.method.upper()
        if method in {"PUT", "PATCH", "DELETE"} or (method == "POST" and "{id}" in self.path):
            parameters.append(IF_MATCH)  # verbs on an object (contracts/{id}/renew/) honour it too
        if method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "kam.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token kam_…`: create one on the API tokens page or with `manage.py create_api_token`.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "kam.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


ERROR_COMPONENTS = {
    "Error": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "StaleError": {
        "type": "object",
        "properties": {"detail": {"type": "string"}, "current_version": {"type": "integer"}},
        "required": ["detail"],
    },
    "FieldErrors": {
        "type": "object",
        "description": 'Messages per field: `{"field": ["message"]}`; errors about the whole object under `non_field_errors`.',
        "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
    },
}

_REF = {name: {"$ref": f"#/components/schemas/{name}"} for name in ERROR_COMPONENTS}
_DETAIL = "Error"
# status: (description, schema, which methods)
ERRORS: dict[str, tuple[str, str, set[str]]] = {
    "400": ("Invalid input: messages per field.", "FieldErrors", {"post", "put", "patch", "get"}),
    "401": (
        "Not authenticated: send `Authorization: Token <key>` or log in.",
        _DETAIL,
        {"get", "post", "put", "patch", "delete"},
    ),
    "403": (
        "Not allowed: the role or a read-only token does not permit this.",
        _DETAIL,
        {"get", "post", "put", "patch", "delete"},
    ),
    "404": ("Not found, or not visible to you (or an invalid cursor).", _DETAIL, {"get", "post", "put", "patch", "delete"}),
    "405": ("Method not allowed on this resource.", _DETAIL, {"get", "post", "put", "patch", "delete"}),
    "406": ("The Accept header asks for a format other than JSON.", _DETAIL, {"get", "post", "put", "patch", "delete"}),
    "409": (
        "Conflicts with existing data (a duplicate unique value, a row still referenced, a second renewal).",
        "FieldErrors",
        {"post", "put", "patch", "delete"},
    ),
    "412": ("If-Match is stale: the object changed since it was read.", "StaleError", {"put", "patch", "delete"}),
    "415": ("The body is not JSON.", _DETAIL, {"post", "put", "patch"}),
    "422": ("The Idempotency-Key was already used for a different request.", _DETAIL, {"post"}),
    "429": (
        "Too many requests: retry after the number of seconds in Retry-After.",
        _DETAIL,
        {"get", "post", "put", "patch", "delete"},
    ),
}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: add the error answers (and the ETag header) to every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ERROR_COMPONENTS)
    etag_header = {"ETag": {"schema": {"type": "string"}, "description": "The object's version; send it back in If-Match."}}
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema, methods) in ERRORS.items():
                on_object_verb = code == "412" and method == "post" and "{id}" in path
                if (method in methods or on_object_verb) and code not in responses:
                    responses[code] = {"description": description, "content": {"application/json": {"schema": _REF[schema]}}}
            for code, response in responses.items():
                if code >= "400" and not response.get("content"):
                    response["content"] = {"application/json": {"schema": _REF[_DETAIL]}}
            for code in ("200", "201"):
                response = responses.get(code)
                schema_ref = ((response or {}).get("content", {}).get("application/json", {}).get("schema") or {}).get("$ref", "")
                if response is not None and schema_ref and not schema_ref.startswith("#/components/schemas/Paginated"):
                    response.setdefault("headers", {}).update(etag_header)
    return result
