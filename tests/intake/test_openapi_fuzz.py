"""Schemathesis against a live intake process on the real database and broker: for every
operation of the OpenAPI schema, generated requests never get a 5xx, and every answer
has a documented status code and conforms to the documented schema. Half the cases carry
real tax codes, provinces and weeks, and a member's token where one opens the operation,
so that the accept paths are reached, not only the refusals. The figures are printed and
written under the test's tmp dir."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st

from shared import auth
from shared.provinces import ConfigHolder
from tests.conftest import ServiceProcess, stack_env
from tests.intake.conftest import submission
from tests.schema_fuzz import Figures, fuzz, provinces, recent_weeks, tax_codes, weeks
from thaogo.embedded import free_port

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(600)]

# Operations a member's token opens.
MEMBER_OPERATIONS = frozenset({"/v1/difficulties/import", "/v1/members/me/week",
                               "/v1/member-reports"})
# The permanent deputy's triage (#20 item 3): its token, on a difficulty waiting in triage,
# so that generated corrections and merges reach the rules, not only the 401.
DEPUTY_OPERATIONS = frozenset({"/v1/difficulties/{difficulty_id}/correction",
                               "/v1/difficulties/{difficulty_id}/merge"})
DEPUTY = "binh-duong.to-cong-tac"


def _csv(body: dict[str, Any]) -> str:
    flat = {k: v for k, v in body.items() if k != "contact"}
    flat.update({f"contact.{k}": v for k, v in body["contact"].items()})
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(flat))
    w.writeheader()
    w.writerow(flat)
    return out.getvalue()


def real_values(member_token: str, operator_token: str, difficulty_id: str,
                deputy_token: str = "") -> Any:
    week_labels = weeks(recent_weeks())

    def valid_submission(data: st.DataObject) -> dict[str, Any]:
        return submission(data.draw(st.integers(1, 10_000)), tax_code=data.draw(tax_codes()),
                          province=data.draw(provinces("name")))

    def patch(case: Any, data: st.DataObject) -> None:
        if case.path in MEMBER_OPERATIONS and data.draw(st.booleans()):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {member_token}"}
        if case.path in DEPUTY_OPERATIONS and deputy_token and data.draw(st.booleans()):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {deputy_token}"}
            case.path_parameters = {"difficulty_id": difficulty_id}
        if not data.draw(st.booleans()):
            return  # as generated
        if case.path == "/v1/difficulties/{difficulty_id}" and case.method == "GET":
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {operator_token}"}
            case.path_parameters = {"difficulty_id": difficulty_id}
        if case.path == "/v1/difficulties" and case.method == "POST":
            body = valid_submission(data)
            if isinstance(case.body, dict) and case.body and data.draw(st.booleans()):
                key = data.draw(st.sampled_from(sorted(case.body)))
                body[key] = case.body[key]  # one generated field among real ones
            case.body = body
        elif case.path == "/v1/member-reports":
            case.body = {"received_summary": "Tiếp nhận 3 phản ánh", "solutions": "Đã xử lý",
                         "recommendations": "Không", "week_label": data.draw(week_labels)}
        elif case.path == "/v1/difficulties/import":
            case.body = _csv(valid_submission(data))

    return patch


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
        _, operator = await auth.create(database_url, configs=ConfigHolder().current,
                                        kind=auth.TokenKind.OPERATOR, subject_id="fuzz")
        _, deputy = await auth.create(database_url, configs=ConfigHolder().current,
                                      kind=auth.TokenKind.AGENCY, subject_id=DEPUTY)
        async with httpx.AsyncClient(base_url=proc.url) as client:
            accepted = await client.post("/v1/difficulties", json=submission(1))
        assert accepted.status_code == 202, accepted.text
        figures = await asyncio.to_thread(
            fuzz, proc.url, Figures("intake"), max_examples=50,
            patch=real_values(token, operator, accepted.json()["difficulty_id"], deputy))
    finally:
        proc.stop()
    s = figures.write(tmp_path)
    tested = set(s["requests_per_operation"])
    assert {"POST /v1/difficulties", "POST /v1/difficulties/{difficulty_id}/status",
            "POST /v1/member-reports", "POST /v1/difficulties/import",
            "GET /v1/members/me/week", "GET /v1/difficulties/{difficulty_id}",
            "POST /v1/difficulties/{difficulty_id}/correction",
            "POST /v1/difficulties/{difficulty_id}/merge"} <= tested
    assert (s["server_errors"], s["schema_violations"]) == (0, 0), s["failure_samples"]
    # The real values reached the accept paths, not only the refusals.
    assert s["status_codes"].get("202", 0) >= 20 and s["status_codes"].get("200", 0) >= 20
