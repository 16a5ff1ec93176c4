"""The front door on the real database and broker: idempotency, refusals in the request's
language, size limit, rate limit, vocabulary, member reports and request metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from shared.calendar import TZ, previous_window, week_window
from tests.intake.conftest import Intake, submission

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(120)]


async def count(intake: Intake, sql: str) -> int:
    conn = await asyncpg.connect(intake.database_url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_idempotency_key_replays_or_conflicts(intake: Intake) -> None:
    key = {"Idempotency-Key": "form-42"}
    first = await intake.client.post("/v1/difficulties", json=submission(), headers=key)
    again = await intake.client.post("/v1/difficulties", json=submission(), headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    other = await intake.client.post("/v1/difficulties", json=submission(title="Khác"),
                                     headers={**key, "Accept-Language": "en"})
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await count(intake, "SELECT count(*) FROM intake.difficulties") == 1
    assert await count(intake, "SELECT count(*) FROM intake.outbox") == 1


async def test_refusals_name_the_field_in_the_request_language(intake: Intake) -> None:
    r = await intake.client.post("/v1/difficulties", json=submission(tax_code="0100233489"))
    assert r.status_code == 422
    assert r.json() == {"errors": [{"field": "tax_code", "reason":
                        "Mã số thuế có chữ số kiểm tra không khớp: có thể đã bị nhập sai"}]}
    r = await intake.client.post("/v1/difficulties", json=submission(province="Gotham"),
                                 headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "province"
    assert "unknown province" in r.json()["errors"][0]["reason"]
    body = submission(category="weather")
    del body["title"]
    r = await intake.client.post("/v1/difficulties", json=body)
    fields = {e["field"]: e["reason"] for e in r.json()["errors"]}
    assert r.status_code == 422 and set(fields) == {"category", "title"}
    assert fields["title"].startswith("bắt buộc")
    r = await intake.client.post("/v1/difficulties", content=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["errors"][0]["reason"]
    r = await intake.client.get("/v1/nothing-here", headers={"Accept-Language": "en"})
    assert r.status_code == 404
    assert r.json() == {"errors": [{"field": "path", "reason": "no such resource"}]}
    r = await intake.client.get("/v1/difficulties")
    assert r.status_code == 405 and r.json()["errors"][0]["field"] == "method"
    assert await count(intake, "SELECT count(*) FROM intake.difficulties") == 0
    metrics = (await intake.client.get("/metrics")).text
    assert 'thaogo_intake_refusals_total{field="tax_code",reason="invalid"} 1.0' in metrics


async def test_unknown_keys_from_a_client_make_no_new_metric_series(intake: Intake) -> None:
    def refusal_series(text: str) -> set[str]:
        return {line.rsplit(" ", 1)[0] for line in text.splitlines()
                if line.startswith("thaogo_intake_refusals_total{")}

    before = refusal_series((await intake.client.get("/metrics")).text)
    body = {**submission(), **{f"k{i}_{'x' * 30}": i for i in range(300)}}
    r = await intake.client.post("/v1/difficulties", json=body)
    assert r.status_code == 422 and len(r.json()["errors"]) == 300
    after = refusal_series((await intake.client.get("/metrics")).text)
    assert after - before <= {
        'thaogo_intake_refusals_total{field="unknown_field",reason="extra_forbidden"}'}
    assert 'thaogo_intake_refusals_total{field="unknown_field",reason="extra_forbidden"} 300.0' \
        in (await intake.client.get("/metrics")).text


async def test_an_oversized_body_is_refused_with_413(intake: Intake) -> None:
    huge = submission(description="x" * 300_000)
    r = await intake.client.post("/v1/difficulties", json=huge,
                                 headers={"Accept-Language": "en"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "body"
    assert "262144 bytes" in r.json()["errors"][0]["reason"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(100):
            yield b" " * 4096

    r = await intake.client.post("/v1/difficulties", content=chunks(),
                                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "quá lớn" in r.json()["errors"][0]["reason"]
    assert await count(intake, "SELECT count(*) FROM intake.difficulties") == 0


@pytest.mark.parametrize("intake", [{"rate_limit_per_minute": 6, "rate_limit_burst": 3}],
                         indirect=True)
async def test_a_client_over_its_rate_gets_429_with_retry_after(intake: Intake) -> None:
    codes = [(await intake.client.get("/v1/vocabulary")).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = await intake.client.get("/v1/vocabulary", headers={"Accept-Language": "en"})
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 10
    assert r.json()["errors"][0]["field"] == "client"
    # Probes and scrapes are never limited.
    assert (await intake.client.get("/healthz")).status_code == 200
    metrics = (await intake.client.get("/metrics")).text
    assert ('thaogo_intake_request_duration_seconds_count{method="GET",route="/v1/vocabulary",'
            'status_class="4xx"} 1.0') in metrics


@pytest.mark.parametrize("intake", [{"rate_limit_per_minute": 6, "rate_limit_burst": 2,
                                     "trusted_proxies": "203.0.113.0/24"}], indirect=True)
async def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(intake: Intake) -> None:
    """Behind the ingress (the test client's address is in the trusted network), every
    client used to share the proxy's bucket, or, trusting the header, could pick its own
    by writing a left-most X-Forwarded-For entry."""
    def get(forwarded: str) -> Any:
        return intake.client.get("/v1/vocabulary", headers={"X-Forwarded-For": forwarded})

    assert [(await get("198.51.100.1")).status_code for _ in range(2)] == [200, 200]
    assert (await get("198.51.100.1")).status_code == 429
    assert (await get("9.9.9.9, 198.51.100.1")).status_code == 429
    assert (await get("198.51.100.2")).status_code == 200


@pytest.mark.parametrize("week", ["0001-W01", "1900-W01", "2019-W52"])
async def test_member_reports_for_weeks_out_of_range_are_refused(intake: Intake,
                                                                 week: str) -> None:
    """0001-W01 was an OverflowError (a 500); 1900-W01 was accepted as a late report."""
    token = await intake.token(member="binh-duong.m01")
    r = await intake.client.post(
        "/v1/member-reports", json={"received_summary": "s", "solutions": "s",
                                    "recommendations": "r", "week_label": week},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert r.status_code == 422
    assert r.json() == {"errors": [{"field": "week_label",
                                    "reason": "the year must be between 2020 and 2099"}]}
    assert await count(intake, "SELECT count(*) FROM intake.outbox") == 0


async def test_vocabulary_lists_closed_lists_with_labels(intake: Intake) -> None:
    r = await intake.client.get("/v1/vocabulary")
    assert r.status_code == 200
    v = r.json()
    assert {"code": "KCN", "vi": "Khu công nghiệp", "en": "Industrial park"} in v["zone_types"]
    assert len(v["categories"]) == 13
    assert "resolved" in {s["code"] for s in v["statuses"]}


async def test_request_duration_is_labelled_by_route_template(intake: Intake) -> None:
    did = (await intake.submit())["difficulty_id"]
    r = await intake.client.post(f"/v1/difficulties/{did}/status",
                                 json={"status": "acknowledged"})
    assert r.status_code == 401
    metrics = (await intake.client.get("/metrics")).text
    assert ('route="/v1/difficulties/{difficulty_id}/status",status_class="4xx"} 1.0'
            in metrics)
    assert did not in metrics
    assert ('thaogo_intake_submissions_total{category="raw_materials",outcome="accepted",'
            'province="79",zone_type="KCN"} 1.0') in metrics


async def test_member_weekly_report_on_time_replaced_and_late(intake: Intake) -> None:
    token = await intake.token(member="binh-duong.m01")
    auth = {"Authorization": f"Bearer {token}"}
    report = {"received_summary": "Tiếp nhận 3 phản ánh", "solutions": "Đã tháo gỡ 2",
              "recommendations": "Đề nghị gia hạn", "figures": {"received": 3, "resolved": 2}}
    now = datetime.now(TZ)
    current = week_window(now).label

    r = await intake.client.post("/v1/member-reports", json=report, headers=auth)
    assert r.status_code == 202, r.text
    first = r.json()
    assert (first["week_label"], first["late"], first["revision"]) == (current, False, 1)
    r = await intake.client.post("/v1/member-reports", json={**report, "solutions": "Đã 3"},
                                 headers=auth)
    assert r.status_code == 202
    assert r.json()["revision"] == 2 and r.json()["report_id"] == first["report_id"]

    past = previous_window(week_window(now)).label
    r = await intake.client.post("/v1/member-reports", json={**report, "week_label": past},
                                 headers=auth)
    assert r.status_code == 202 and r.json()["late"] is True

    r = await intake.client.post("/v1/member-reports", json={**report, "week_label": "2999-W01"},
                                 headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "week_label"
    agency = await intake.token(agency="binh-duong.bql-kcn")
    r = await intake.client.post("/v1/member-reports", json=report,
                                 headers={"Authorization": f"Bearer {agency}"})
    assert r.status_code == 403
    assert (await intake.client.post("/v1/member-reports", json=report)).status_code == 401

    # Three events on member.report.v1, the replacement with a new event id, same key.
    conn = await asyncpg.connect(intake.database_url)
    try:
        rows = await conn.fetch("SELECT event_id, key, body FROM intake.outbox"
                                " WHERE topic = 'member.report.v1' ORDER BY seq")
    finally:
        await conn.close()
    assert len(rows) == 3 and len({r["event_id"] for r in rows}) == 3
    assert rows[0]["key"] == rows[1]["key"] == f"79:{current}".encode()
    assert b'"late":true' in rows[2]["body"]
