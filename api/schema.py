"""The error responses in the OpenAPI schema, so that it says what the API can answer (API.md, Conventions).

Views declare their successes (and any error they want to describe); this drf-spectacular postprocessing hook adds
to every operation the errors that the shared machinery can give it, each with the error body schema:

- 400 everywhere: a NUL or lone surrogate in the path, query or cookies (config/middleware/unstorable_text.py),
  a bad body, a bad filter;
- 401 unless the operation takes no credentials at all (a wrong token is refused even where anonymous is fine);
- 403 where a signed-in user is needed (roles; CSRF for browser sessions);
- 404 with a path parameter (an object you cannot see) or a ``cursor`` (a cursor that is not ours);
- 409 for writes (the state changed under the request);
- 413 and 415 with a request body (config/middleware/body_limit.py; a media type the operation does not take).
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "A slug, e.g. invalid, not_found, too_large."},
                "message": {"type": "string", "description": "What went wrong and what to fix."},
                "details": {"description": "Per-field messages for invalid input; otherwise null or an object."},
            },
        }
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
DESCRIPTIONS = {
    "400": "The request is invalid; the message says what to fix.",
    "401": "No valid credentials: send `Authorization: Token <key>` (or sign in).",
    "403": "Your role does not allow this (or, for a browser session, the CSRF token is missing).",
    "404": "No such object, or you cannot see it; or an invalid cursor.",
    "409": "The request conflicts with the current state.",
    "413": "The request body is larger than the limit for this request.",
    "415": "The request body's media type is not one this operation takes.",
}
WRITES = frozenset({"post", "put", "patch", "delete"})


def error_statuses(method: str, operation: dict[str, Any]) -> list[str]:
    security = operation.get("security") or []  # the document sets no default: none means no credentials
    takes_credentials = bool(security)
    anonymous_allowed = not security or {} in security
    parameters = operation.get("parameters", [])
    statuses = ["400"]
    if takes_credentials:
        statuses.append("401")
    if not anonymous_allowed:
        statuses.append("403")
    if any(p["in"] == "path" or p["name"] == "cursor" for p in parameters):
        statuses.append("404")
    if method in WRITES and not anonymous_allowed:
        statuses.append("409")
    if "requestBody" in operation:
        statuses += ["413", "415"]
    return statuses


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, operation):
                responses.setdefault(status, {"description": DESCRIPTIONS[status]})
            for status, response in responses.items():
                # Errors a view declared with a description only still answer with the error body.
                if status.startswith(("4", "5")) and "content" not in response:
                    response["content"] = ERROR_CONTENT
    return result
