"""Schemathesis against a live intake process on the real database and broker: for every
operation of the OpenAPI schema, generated requests never get a 5xx, and every answer
has a documented status code and conforms to the documented schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.embedded import free_port
from shared import auth
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, stack_env

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(600)]


def _sendable(value: str) -> bool:
    return value.isascii() and value.isprintable()


# Operations a member's token opens: fuzzed half the time with a valid one, so that the
# generated bodies reach the CSV reader and the member's week, not only the 401.
MEMBER_OPERATIONS = frozenset({"/v1/difficulties/import", "/v1/members/me/week",
                               "/v1/member-reports"})


def fuzz(url: str, member_token: str) -> list[str]:
    import schemathesis
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    # FastAPI writes OpenAPI 3.1, which schemathesis 3 supports behind this switch.
    schemathesis.experimental.OPEN_API_3_1.enable()

    # The CSV import takes text/csv, which schemathesis does not know how to send.
    @schemathesis.serializer("text/csv")
    class CSVSerializer:
        def as_requests(self, context: object, value: object) -> dict[str, object]:
            return {"data": str(value).encode()}

        def as_werkzeug(self, context: object, value: object) -> dict[str, object]:
            return {"data": str(value).encode()}

    from hypothesis import strategies as st
    from schemathesis import GenerationConfig
    from schemathesis.generation import HeaderConfig

    # Header values a client can actually send: the HTTP server itself (h11) answers 400
    # to control characters before the application sees the request.
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
    schema = schemathesis.from_uri(
        url + "/openapi.json", base_url=url,
        generation_config=GenerationConfig(allow_x00=False,
                                           headers=HeaderConfig(strategy=printable)),
    )
    checks = (not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance)
    tested: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()

        @settings(max_examples=50, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])
        @given(case=op.as_strategy(), as_member=st.booleans())
        def check(case: schemathesis.Case, as_member: bool) -> None:
            # Generated bearer tokens are not covered by the header strategy above.
            assume(all(_sendable(v) for v in (case.headers or {}).values()))
            if as_member and case.path in MEMBER_OPERATIONS:
                case.headers = {**(case.headers or {}),
                                "Authorization": f"Bearer {member_token}"}
            response = case.call(timeout=30)
            case.validate_response(response, checks=checks)

        check()
        tested.append(op.verbose_name)
    return tested


async def test_the_schema_holds_under_generated_input(
    topics_ready: str, database_url: str, tmp_path: Path
) -> None:
    env = stack_env(topics_ready, database_url, THAOGO_INTAKE_RATE_LIMIT_PER_MINUTE="1000000",
                    THAOGO_INTAKE_RATE_LIMIT_BURST="1000000")
    proc = ServiceProcess("intake", free_port(), env, tmp_path / "intake.log")
    proc.start()
    try:
        await proc.wait_ready()
        _, token = await auth.create(database_url, configs=ConfigHolder().current,
                                     kind=auth.TokenKind.MEMBER, subject_id="binh-duong.m01")
        tested = await asyncio.to_thread(fuzz, proc.url, token)
    finally:
        proc.stop()
    assert "POST /v1/difficulties" in tested
    assert "POST /v1/difficulties/{difficulty_id}/status" in tested
    assert "POST /v1/member-reports" in tested
    assert "POST /v1/difficulties/import" in tested
    assert "GET /v1/members/me/week" in tested
