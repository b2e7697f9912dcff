"""Red team, HTTP by property (issue 14, item 7): schemathesis generates inputs that break the
OpenAPI document's own schemas (negative mode: wrong types, out-of-range numbers, missing and
unknown fields, bad path ids, odd headers) for every operation; half are sent with a valid
token so validation is reached, not only authentication. Every answer is below 500; every 4xx
has the one error shape naming its field and writes no row; the server is healthy after.
Generation is derandomized, so a run is reproducible."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.integration.api_support import bearer, cast_of, running_api
from tests.integration.redteam import Tally, clear_http_error
from tests.integration.test_redteam_http import counts

EXAMPLES = 4


def generated(openapi: dict[str, Any]) -> list[tuple[str, Any]]:
    """(operation label, schemathesis Case) for every operation, negative mode."""
    schema = schemathesis.openapi.from_dict(openapi)
    out: list[tuple[str, Any]] = []
    for result in schema.get_all_operations():
        op = result.ok()
        out.extend((op.label, c) for c in _negative(op))
    return out


def _negative(op: Any) -> list[Any]:
    cases: list[Any] = []

    @settings(max_examples=EXAMPLES, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # nothing to break (no parameters, no body)
        return []
    return cases


def request_of(case: Any, auth: dict[str, str] | None) -> dict[str, Any] | None:
    headers = {str(k): str(v) for k, v in (case.headers or {}).items()}
    if auth is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"} | auth
    kw: dict[str, Any] = {"params": case.query or None, "headers": headers}
    body = case.body
    if isinstance(body, bytes):
        kw["content"] = body
        headers.setdefault("Content-Type", case.media_type or "application/json")
    elif type(body).__name__ != "NotSet":
        kw["json"] = body
    try:
        httpx.Request(case.method, "http://x" + case.formatted_path, **kw)
    except (ValueError, TypeError, UnicodeError):
        return None  # a header or query httpx itself refuses to send
    return kw


async def test_generated_cases_are_refused_clearly(db_url: str) -> None:
    tally = Tally("http-property")
    async with running_api(db_url, MEDIUM_RATE_BURST=1000) as api:
        cast = await cast_of(api.st)
        cases = generated(api.app.openapi())
        assert len({label for label, _ in cases}) >= 40  # every operation with an input
        unsent = 0
        for i, (label, case) in enumerate(cases):
            kw = request_of(case, bearer(cast.gm) if i % 2 else None)
            if kw is None:
                unsent += 1
                continue
            before = await counts(api)
            r = await api.client.request(case.method, case.formatted_path, **kw)
            assert r.status_code < 500, (label, r.status_code, r.text[:300], kw)
            if r.status_code < 400:
                tally.accepted += 1  # the generator could not break this one
                continue
            error = clear_http_error(r)
            assert await counts(api) == before, (label, error)
            tally.refused(f"{r.status_code} {error['code']}")
        assert (await api.client.get("/health")).json() == {"status": "ok", "database": "ok"}
    doc = tally.save(generated=len(cases), unsent=unsent)
    assert doc["refused"] >= 150, doc
