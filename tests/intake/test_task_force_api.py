"""The task force's side of intake on the real database and broker: a dissolved task force
refuses new difficulties by every door while existing work goes on, and a member's week."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.intake import main, store
from services.intake.settings import IntakeSettings
from shared.auth import TokenKind
from shared.auth import create as create_token
from shared.calendar import TZ, previous_window, week_window
from shared.events import (
    AgencyLevel,
    AssignmentRole,
    Category,
    DifficultyAssigned,
    Kind,
    Urgency,
    new_envelope,
)
from shared.provinces import ConfigHolder
from tests.conftest import wait_until
from tests.intake.conftest import Intake, dissolved_config, submission
from thaogo.demo import tax_code

pytestmark = [pytest.mark.db, pytest.mark.broker, pytest.mark.timeout(180)]

MEMBER = "binh-duong.m01"
BQL = "binh-duong.bql-kcn"


@asynccontextmanager
async def running(settings: IntakeSettings) -> AsyncIterator[Intake]:
    app = main.build(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
            yield Intake(client, settings.database_url, settings.kafka_bootstrap, app)


async def record(database_url: str, difficulty_id: str, *, agency: str = BQL,
                 member: str | None = None, role: AssignmentRole = AssignmentRole.LEAD,
                 at: datetime | None = None) -> None:
    """An assignment as intake's consumer of difficulty.assigned.v1 records it."""
    a = DifficultyAssigned(
        assignment_id=uuid.uuid4(), difficulty_id=uuid.UUID(difficulty_id),
        tracking_code="TG-TEST-0001", province_code="79", agency_id=agency,
        agency_level=AgencyLevel.PROVINCE, role=role, member_id=member, rule="test",
        reason="test", config_version="test", urgency=Urgency.NORMAL, kind=Kind.DIFFICULTY,
        category=Category.RAW_MATERIALS, assigned_at=at or datetime.now(TZ),
    )
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await store.record_assignments(conn, events=[
                new_envelope(a, source="test/router", event_id=str(a.assignment_id))])
    finally:
        await conn.close()


async def test_after_dissolution_new_input_is_refused_and_existing_work_goes_on(
    intake_settings: Callable[..., IntakeSettings], tmp_path: Path,
) -> None:
    today = datetime.now(TZ).date()
    config_dir = dissolved_config(tmp_path, "binh-duong", today + timedelta(days=365))
    s = intake_settings(config_dir=config_dir, config_reload_interval_s=0.2)
    async with running(s) as intake:
        did = (await intake.submit())["difficulty_id"]
        await record(s.database_url, did, member=MEMBER, role=AssignmentRole.MEMBER)
        member = await intake.token(member=MEMBER)

        # The task force is dissolved as of today: the running intake reloads it.
        dissolved_config(tmp_path / "next", "binh-duong", today)
        (config_dir / "binh-duong.yaml").write_bytes(
            (tmp_path / "next" / "provinces" / "binh-duong.yaml").read_bytes())

        probes: list[int] = []

        async def refused() -> bool:
            r = await intake.client.post("/v1/difficulties", json=submission(n=2))
            probes.append(r.status_code)
            return r.status_code == 422

        await wait_until(refused, timeout=20)
        accepted_before_reload = probes.count(202)
        r = await intake.client.post("/v1/difficulties", json=submission(n=3))
        assert r.json()["errors"][0]["field"] == "province"
        assert f"{today:%d/%m/%Y}" in r.json()["errors"][0]["reason"]
        assert "Cổng dịch vụ công" in r.json()["errors"][0]["reason"]
        r = await intake.client.post("/v1/difficulties", json=submission(n=3),
                                     headers={"Accept-Language": "en"})
        assert "public service portal" in r.json()["errors"][0]["reason"]
        # A business elsewhere in today's Ho Chi Minh City (same code 79) still gets in;
        # one in a park of former Bình Dương belongs to its (dissolved) task force.
        assert (await intake.client.post("/v1/difficulties", json=submission(
            n=4, province="Thành phố Hồ Chí Minh", zone_type="NONE", zone_name=None,
            ward="Phường Sài Gòn"))).status_code == 202
        assert (await intake.client.post("/v1/difficulties", json=submission(
            n=7, province="Thành phố Hồ Chí Minh"))).status_code == 422

        csv = ("tax_code,enterprise_name,province,category,title,description,contact.name\n"
               f"{tax_code(5)},A,Bình Dương,tax,T,D,An\n"
               f"{tax_code(6)},B,TP HCM,tax,T,D,An\n").encode()
        # An operator's import (a member imports only their own province's rows).
        operator = (await create_token(intake.database_url, configs=ConfigHolder().current,
                                       kind=TokenKind.OPERATOR, subject_id="ops-desk"))[1]
        r = await intake.client.post("/v1/difficulties/import", content=csv, headers={
            "Authorization": f"Bearer {operator}", "Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        assert [row["accepted"] for row in rows] == [False, True]
        assert rows[0]["errors"][0]["field"] == "province"

        form = {k: v for k, v in submission(n=7).items() if k != "contact"}
        form.update({"contact.name": "An", "lang": "en"})
        r = await intake.client.post("/", data=form)
        assert r.status_code == 422
        assert 'data-error-for="province"' in r.text and "public service portal" in r.text

        # Existing work goes on: the member follows their item and reports their week.
        auth = {"Authorization": f"Bearer {member}"}
        r = await intake.client.post(f"/v1/difficulties/{did}/status", headers=auth,
                                     json={"status": "in_progress", "note": "Đang xử lý"})
        assert r.status_code == 202, r.text
        r = await intake.client.post("/v1/member-reports", headers=auth, json={
            "received_summary": "x", "solutions": "y", "recommendations": "z"})
        assert r.status_code == 202, r.text

        conn = await asyncpg.connect(s.database_url)
        try:
            # the first one, probes before the reload, Ho Chi Minh City's and the import's
            assert await conn.fetchval("SELECT count(*) FROM intake.difficulties") == (
                1 + accepted_before_reload + 1 + 1)
        finally:
            await conn.close()
        metrics = (await intake.client.get("/metrics")).text
        assert ('thaogo_intake_refusals_total{field="province",reason="task_force_dissolved"} '
                '6.0') in metrics


async def test_a_member_sees_their_week_and_a_prefilled_report(intake: Intake) -> None:
    now = datetime.now(TZ)
    ids = [(await intake.submit(n=n))["difficulty_id"] for n in range(4)]
    fresh, late, resolved, not_mine = ids
    for did in (fresh, late, resolved):
        await record(intake.database_url, did, member=MEMBER, role=AssignmentRole.MEMBER)
    await record(intake.database_url, fresh)
    await record(intake.database_url, late, at=now - timedelta(days=40))
    await record(intake.database_url, resolved)
    await record(intake.database_url, not_mine, member="binh-duong.m02",
                 role=AssignmentRole.MEMBER)
    token = await intake.token(member=MEMBER)
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    # The member follows the case; the lead agency closes it.
    lead = {"Authorization": f"Bearer {await intake.token(agency=BQL)}"}
    r = await intake.client.post(f"/v1/difficulties/{resolved}/status", headers=lead,
                                 json={"status": "resolved", "note": "Đã cấp phép"})
    assert r.status_code == 202, r.text

    r = await intake.client.get("/v1/members/me/week", headers=auth)
    assert r.status_code == 200, r.text
    week = r.json()
    current = week_window(now)
    assert (week["member_id"], week["week_label"]) == (MEMBER, current.label)
    assert [i["difficulty_id"] for i in week["open"]] == [fresh, late]
    assert [i["difficulty_id"] for i in week["overdue"]] == [late]
    assert [i["difficulty_id"] for i in week["resolved_this_week"]] == [resolved]
    assert week["open"][0]["resolve_due_at"] is not None and not week["open"][0]["overdue"]
    assert week["figures"] == {"received": 3, "resolved": 1, "open": 2, "overdue": 1}
    due = {d["week_label"]: d for d in week["reports_due"]}
    assert due[current.label]["reported"] is False
    assert due[current.label]["late_if_submitted_now"] is False
    assert due[previous_window(current).label]["late_if_submitted_now"] is True

    draft = week["draft"]
    assert draft["figures"] == week["figures"]
    assert "received 3" in draft["received_summary"]
    draft.update(solutions="Đang làm việc với Sở Công Thương",
                 recommendations="Đề nghị gia hạn")
    r = await intake.client.post("/v1/member-reports", headers=auth, json=draft)
    assert r.status_code == 202, r.text
    week = (await intake.client.get("/v1/members/me/week", headers=auth)).json()
    due = {d["week_label"]: d for d in week["reports_due"]}
    assert due[current.label]["reported"] is True and due[current.label]["revision"] == 1

    assert (await intake.client.get("/v1/members/me/week")).status_code == 401
    agency = await intake.token(agency=BQL)
    r = await intake.client.get("/v1/members/me/week",
                                headers={"Authorization": f"Bearer {agency}"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "Authorization"
    other = await intake.token(member="binh-duong.m03")
    r = await intake.client.get("/v1/members/me/week",
                                headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 200
    assert r.json()["open"] == [] and r.json()["figures"]["received"] == 0
