"""Schemathesis against the receiver's own OpenAPI document, in process (ASGI).

Every operation gets schema-driven cases (valid and invalid bodies, headers, path values). Half of
the webhook cases carry a valid signature over the exact bytes sent (and a fresh delivery id), so
the generated submissions reach validation and the store instead of stopping at 401. Each answer
must be documented for its operation (status code, content type, body schema where one is given)
and never a 5xx."""

from __future__ import annotations

import json
import uuid
import zlib

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partner_review.webhooks.app import app
from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
from tests.hostile.conftest import SECRET

schema = schemathesis.openapi.from_asgi("/openapi.json", app)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SIGNED = {"/webhooks/submissions", "/webhooks/activity"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_only_documented_answers(case, receiver_client):
    kwargs = case.as_transport_kwargs()
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if isinstance(v, str)}
    content = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"]).encode()
        headers["content-type"] = "application/json"
    if case.path in SIGNED and content is not None:
        headers.setdefault(DELIVERY_HEADER, f"fuzz-{uuid.uuid4()}")
        if zlib.crc32(content) % 2 == 0:
            headers[HEADER] = sign(SECRET, content)
    if case.path.startswith("/submissions/") and zlib.crc32(case.path.encode()) % 2 == 0:
        headers["authorization"] = "Bearer hostile-reader-token"
    response = receiver_client.request(
        case.method, case.formatted_path, params=kwargs.get("params"), headers=headers, content=content
    )
    assert response.status_code < 500, response.text
    case.validate_response(response, checks=CHECKS)
