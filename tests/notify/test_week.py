"""Two notify instances, sharing one database and one consumer group on the real broker,
run through a simulated week (a ManualClock moved by hand, not slept through). Every
message is counted at the real SMTP and HTTP servers that received it: exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from services.notify.main import build
from services.notify.settings import NotifySettings
from services.reporting import usecases
from services.reporting.access import LinkSigner
from shared.calendar import TZ, ManualClock, week_window
from shared.events import (
    ActorKind,
    AgencyLevel,
    AssignmentRole,
    BreakdownRow,
    Category,
    DifficultyAssigned,
    DifficultyStatusChanged,
    EventData,
    Kind,
    MemberReport,
    Status,
    Urgency,
    WeeklyReport,
    encode_body,
    encode_headers,
    new_envelope,
)
from shared.provinces import default_config_dir, load_dir
from shared.service import Runtime
from tests.conftest import wait_until
from tests.notify.receivers import http_server, smtp_server
from tests.reporting.conftest import received

pytestmark = [pytest.mark.e2e, pytest.mark.broker, pytest.mark.db, pytest.mark.timeout(240)]

SLUG = "thu-nghiem"
CODE = "96"  # a code no other test's events carry: their messages cannot reach our servers
BQL = f"{SLUG}.bql-kcn"
HEAD = f"{SLUG}.to-truong"
DEPUTY = f"{SLUG}.to-pho-thuong-truc"
MEMBERS = [f"{SLUG}.m01", f"{SLUG}.m02", f"{SLUG}.m03"]


def write_config(directory: Path, hook_base: str) -> None:
    """The shipped Bình Dương file, renamed, trimmed to three members, with contacts
    pointing at the test's own servers and nobody else reachable."""
    text = (default_config_dir() / "binh-duong.yaml").read_text(encoding="utf-8")
    cfg: dict[str, Any] = yaml.safe_load(text.replace("binh-duong", SLUG))
    cfg["province"].update(slug=SLUG, province_code=CODE, former_province=False)
    cfg["province"].pop("former_province_code", None)
    cfg["province"].pop("merged_into_vi", None)
    for a in cfg["agencies"]:
        a["contacts"] = []
    bql = next(a for a in cfg["agencies"] if a["id"] == BQL)
    bql["contacts"] = [
        {"channel": "email", "address": "bql@kcn.example.vn"},
        {"channel": "webhook", "address": f"{hook_base}/hook/bql",
         "secret_env": "THAOGO_TEST_BQL_SECRET"},
    ]
    tf = cfg["task_force"]
    tf["head"]["contacts"] = [{"channel": "email", "address": "head@example.vn"},
                              {"channel": "zalo", "address": "zl-head"}]
    tf["permanent_deputy"]["contacts"] = [
        {"channel": "email", "address": "deputy@example.vn"},
        {"channel": "webhook", "address": f"{hook_base}/hook/deputy"},
    ]
    for d in tf["deputies"]:
        d["contacts"] = []
    tf["members"] = tf["members"][:3]
    for i, m in enumerate(tf["members"], 1):
        m["contacts"] = [{"channel": "email", "address": f"m0{i}@example.vn"}]
        m.pop("replaced_by", None)
    (directory / f"{SLUG}.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True),
                                             encoding="utf-8")
    load_dir(directory)  # refuse a broken fixture here rather than inside the service


async def publish_with(producer: AIOKafkaProducer, data: EventData) -> None:
    """`data` on its topic as its service would publish it."""
    env = new_envelope(data, source="test")
    await producer.send_and_wait(
        data.topic, encode_body(data), key=data.key().encode(),
        headers=[(k, v.encode()) for k, v in encode_headers(env).items()])


def fast_settings(bootstrap: str, database_url: str, config_dir: Path, smtp_port: int,
                  base: str, **more: Any) -> NotifySettings:
    """Notify against the test's mail and web receivers, sweeping and dispatching often."""
    return NotifySettings(
        kafka_bootstrap=bootstrap, database_url=database_url, config_dir=config_dir,
        group_id=f"test-notify-{uuid.uuid4().hex[:8]}", smtp_host="127.0.0.1",
        smtp_port=smtp_port, smtp_starttls=False, webhook_secret="global-secret",
        zalo_api_url=f"{base}/zalo", zalo_access_token="zalo-token",
        dispatch_interval_s=0.02, sweep_interval_s=0.05, **more)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Day 0 = Monday 9 March 2026 (no holiday that week), local time."""
    return datetime(2026, 3, 9 + day, hh, mm, tzinfo=TZ)


def assigned(aid: uuid.UUID, when: datetime, urgency: Urgency) -> DifficultyAssigned:
    return DifficultyAssigned(
        assignment_id=aid, difficulty_id=uuid.uuid4(), tracking_code=f"TG-{aid.hex[:6].upper()}",
        province_code=CODE, agency_id=BQL, agency_level=AgencyLevel.PROVINCE,
        role=AssignmentRole.LEAD, rule="zone_type:KCN->lead", reason="Khu công nghiệp → Ban QL",
        config_version="test", urgency=urgency, kind=Kind.DIFFICULTY,
        category=Category.RAW_MATERIALS, assigned_at=when,
    )


def status(a: DifficultyAssigned, s: Status, when: datetime) -> DifficultyStatusChanged:
    return DifficultyStatusChanged(
        status_id=uuid.uuid4(), difficulty_id=a.difficulty_id, province_code=CODE, status=s,
        actor_kind=ActorKind.AGENCY, actor_id=BQL, assignment_id=a.assignment_id,
        changed_at=when,
    )


def report(member: str, when: datetime) -> MemberReport:
    return MemberReport(report_id=uuid.uuid4(), member_id=member, province_code=CODE,
                        week_label="2026-W11", received_summary="…", solutions="…",
                        recommendations="…", submitted_at=when)


async def test_two_notifiers_through_a_week_send_every_message_exactly_once(
    private_topics: str, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THAOGO_TEST_BQL_SECRET", "bql-secret")
    clock = ManualClock(at(0, 8))
    async with smtp_server() as (mail, smtp_port), http_server() as (web, base):
        write_config(tmp_path, base)
        # The deputy's receiver is down for the first delivery: retried, still once.
        web.fail_first = {"/hook/deputy": [503]}
        settings = fast_settings(private_topics, database_url, tmp_path, smtp_port, base,
                                 report_base_url="https://thaogo.example.vn",
                                 retry_base_s=600, lease_s=30)
        runtimes: list[Runtime] = [build(settings, clock=clock).state.runtime for _ in range(2)]
        await asyncio.gather(*(rt.start() for rt in runtimes))
        producer = AIOKafkaProducer(bootstrap_servers=private_topics, enable_idempotence=False)
        await producer.start()
        conn = await asyncpg.connect(database_url)
        try:
            def publish(data: EventData) -> Awaitable[Any]:
                return publish_with(producer, data)

            async def settle() -> None:
                # Each instance's scheduler runs on its own too; running it here as well
                # makes the step deterministic, and shows a double run is harmless.
                for rt in runtimes:
                    await wait_until(lambda rt=rt: _has(rt, "scheduler"), timeout=10)
                    await rt.state["scheduler"].tick()

                async def drained() -> bool:
                    n: int = await conn.fetchval(
                        "SELECT count(*) FROM notify.messages WHERE state IN"
                        " ('pending', 'sending') AND due_at <= $1", clock.now())
                    return n == 0

                await wait_until(drained, timeout=20, interval=0.02)

            async def advance_to(t: datetime) -> None:
                while clock.now() < t:
                    clock.advance(min(timedelta(minutes=30), t - clock.now()))
                    await settle()

            async def rows_for(aid: uuid.UUID, n: int) -> None:
                async def ok() -> bool:
                    c = await conn.fetchval(
                        "SELECT count(*) FROM notify.messages WHERE payload->>'assignment_id'"
                        " = $1", str(aid))
                    return bool(c >= n)
                await wait_until(ok, timeout=30)

            # Monday 09:00: a normal and an urgent assignment.
            await advance_to(at(0, 9))
            a1 = assigned(uuid.uuid4(), clock.now(), Urgency.NORMAL)
            a2 = assigned(uuid.uuid4(), clock.now(), Urgency.URGENT)
            await publish(a1)
            await publish(a2)
            await publish(a1)  # a replay changes nothing
            await rows_for(a1.assignment_id, 2)
            await rows_for(a2.assignment_id, 6)
            await settle()
            assert len(mail.messages) == 4  # a1, a2 to the agency; a2 urgent to head, deputy

            # Monday 10:00: the urgent one is acknowledged and resolved.
            await advance_to(at(0, 10))
            await publish(status(a2, Status.ACKNOWLEDGED, clock.now()))
            await publish(status(a2, Status.RESOLVED, clock.now()))
            await wait_until(lambda: conn.fetchval(
                "SELECT closed_at IS NOT NULL FROM notify.assignments WHERE assignment_id = $1",
                a2.assignment_id), timeout=30)

            # Monday 22:00: a normal assignment in quiet hours is held until 07:00.
            await advance_to(at(0, 22))
            a3 = assigned(uuid.uuid4(), clock.now(), Urgency.NORMAL)
            await publish(a3)
            await rows_for(a3.assignment_id, 2)
            due = await conn.fetch(
                "SELECT DISTINCT due_at FROM notify.messages WHERE payload->>'assignment_id'"
                " = $1", str(a3.assignment_id))
            assert [r["due_at"] for r in due] == [at(1, 7)]
            await advance_to(at(1, 6, 30))
            assert not _mail_about(mail, a3.tracking_code)
            await advance_to(at(1, 7))
            assert len(_mail_about(mail, a3.tracking_code)) == 1

            await advance_to(at(1, 9))
            await publish(status(a3, Status.ACKNOWLEDGED, clock.now()))
            await wait_until(lambda: conn.fetchval(
                "SELECT acknowledged_at IS NOT NULL FROM notify.assignments"
                " WHERE assignment_id = $1", a3.assignment_id), timeout=30)

            # Wednesday: m01 reports; Thursday 17:00, after the reminder: m02.
            await advance_to(at(2, 10))
            await publish(report(MEMBERS[0], clock.now()))
            await wait_until(lambda: conn.fetchval(
                "SELECT count(*) FROM notify.member_reports"), timeout=30)
            await advance_to(at(3, 17))
            await publish(report(MEMBERS[1], clock.now()))
            await wait_until(lambda: _count_reports(conn, 2), timeout=30)

            # Friday: reminders at 09:00, the missing list at 12:00, the rollup at 12:30.
            await advance_to(at(4, 12, 30))
            await publish(WeeklyReport(
                report_id=uuid.uuid4(), province_code=CODE, week_label="2026-W11",
                window_start=at(-3, 12), window_end=at(4, 12), generated_at=clock.now(),
                rows=[], urgent_items=[], recommendations=[], members_reported=MEMBERS[:2],
                members_missing=MEMBERS[2:],
            ))
            await wait_until(lambda: conn.fetchval(
                "SELECT count(*) FROM notify.messages WHERE kind = 'weekly_report'"), timeout=30)
            await advance_to(at(4, 14))
            # Run the whole week's schedule again: nothing more is owed.
            await settle()

            # --- what arrived -----------------------------------------------------
            mail_keys = Counter(str(m["X-Thaogo-Key"]).strip() for m in mail.messages)
            hook_keys = Counter(r.headers.get("idempotency-key") for r in web.requests
                                if r.path.startswith("/hook"))
            assert max(mail_keys.values()) == 1, mail_keys
            assert max(hook_keys.values()) == 1, hook_keys
            kinds = Counter(k.split(":", 1)[0] for k in mail_keys)
            assert kinds == {
                "assignment": 3, "urgent_difficulty": 2, "reminder_ack": 2,
                "escalation_ack": 1, "weekly_reminder": 3, "weekly_missing": 1,
                "weekly_report": 2,
            }, kinds
            by_rcpt = Counter(rcpt for _, rcpts in mail.envelopes for rcpt in rcpts)
            assert by_rcpt["bql@kcn.example.vn"] == 5  # 3 notices, 2 reminders
            assert by_rcpt["deputy@example.vn"] == 4  # urgent, escalation, missing, rollup
            assert by_rcpt["m01@example.vn"] == 0  # reported on Wednesday
            assert by_rcpt["m02@example.vn"] == 1  # Thursday 16:00 only
            assert by_rcpt["m03@example.vn"] == 2  # Thursday and Friday
            hooks = Counter(r.path for r in web.requests)
            assert hooks == {"/hook/bql": 5, "/hook/deputy": 4, "/zalo": 2}, hooks
            missing = next(m for m in mail.messages if str(m["X-Thaogo-Key"]).strip().startswith(
                "weekly_missing"))
            assert "Đặng Văn Phúc" in missing.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            rollup = next(r for r in web.requests if r.path == "/hook/deputy"
                          and r.json()["kind"] == "weekly_report")
            assert rollup.json()["data"]["url"] == (
                f"https://thaogo.example.vn/reports/{SLUG}/2026-W11")

            # --- what was recorded ---------------------------------------------------
            states = dict(await conn.fetch(
                "SELECT state, count(*) FROM notify.messages WHERE province_code = $1"
                " GROUP BY state", CODE))
            assert states == {"sent": 25}, states
            retried = await conn.fetchval(
                "SELECT count(*) FROM notify.delivery_attempts WHERE outcome = 'retried'")
            assert retried == 1
            attempts = await conn.fetchval(
                "SELECT count(*) FROM notify.delivery_attempts WHERE outcome = 'sent'")
            assert attempts == 25
            # Every success is published to notification.sent.v1 through the outbox.
            await wait_until(lambda: conn.fetchval(
                "SELECT count(*) = 25 AND bool_and(sent_at IS NOT NULL) FROM notify.outbox"),
                timeout=30)
        finally:
            await conn.close()
            await producer.stop()
            for rt in runtimes:
                await rt.stop()


async def test_an_urgent_interim_and_the_friday_report_are_two_mails_with_signed_links(
    private_topics: str, database_url: str, tmp_path: Path
) -> None:
    """An urgent item on Tuesday is announced at once (reporting's interim report); the
    compiled week at Friday's cutoff is another publication of the same week on the same
    topic, and the head and the permanent deputy get both, each with the link reporting
    signed, which opens the page without signing in."""
    clock = ManualClock(at(1, 9))
    signer = LinkSigner.create("link-secret-of-the-test-" + "x" * 32, ttl_days=60)

    def page_url(week_label: str) -> str:
        return signer.url("https://bc.example.vn", f"/reports/{SLUG}/{week_label}",
                          now=clock.now())

    async with smtp_server() as (mail, smtp_port), http_server() as (_web, base):
        write_config(tmp_path, base)
        settings = fast_settings(private_topics, database_url, tmp_path, smtp_port, base,
                                 report_base_url="https://unsigned.example.vn")
        rt = build(settings, clock=clock).state.runtime
        await rt.start()
        producer = AIOKafkaProducer(bootstrap_servers=private_topics, enable_idempotence=False)
        await producer.start()
        try:
            def publish(data: EventData) -> Awaitable[Any]:
                return publish_with(producer, data)

            def report_mails() -> Counter[tuple[str, str]]:
                # At 12:01 on Friday the missing list goes to the deputy too: not counted.
                kinds = [str(m["X-Thaogo-Key"]).strip().split(":", 1)[0] for m in mail.messages]
                return Counter((kind, rcpt)
                               for kind, (_, rcpts) in zip(kinds, mail.envelopes, strict=True)
                               for rcpt in rcpts if kind.endswith("_report"))

            def mails_to_head() -> list[Any]:
                return [m for m, (_, rcpts) in zip(mail.messages, mail.envelopes, strict=True)
                        if "head@example.vn" in rcpts]

            d = received(at(1, 9), urgency=Urgency.URGENT).model_copy(
                update={"province_code": CODE, "task_force": SLUG})
            urgent = usecases.urgent_report(d, generated_at=clock.now(), page_url=page_url)
            assert urgent.interim and urgent.page_url is not None
            await publish(urgent)
            await wait_until(lambda: _true(sum(report_mails().values()) == 2), timeout=30)

            clock.set(at(4, 12, 1))
            w = week_window(at(4, 9))
            total = BreakdownRow(dimension="total", value="all", received=1, resolved=0,
                                 open=1, overdue=0, escalated_central=0,
                                 median_resolution_hours=None, p90_resolution_hours=None)
            compiled = WeeklyReport(
                report_id=uuid.uuid4(), province_code=CODE, week_label=w.label,
                window_start=w.start, window_end=w.end, generated_at=clock.now(),
                rows=[total], urgent_items=[usecases.urgent_report(d, generated_at=clock.now())
                                            .urgent_items[0]],
                recommendations=[], members_reported=[], members_missing=MEMBERS,
                page_url=page_url(w.label))
            await publish(compiled)
            await wait_until(lambda: _true(sum(report_mails().values()) == 4), timeout=30)

            interim, friday = mails_to_head()
            assert w.label == "2026-W11"
            assert str(friday["Subject"]) == "[thaogo] Báo cáo tổng hợp tuần 2026-W11"
            assert "tổng hợp" not in str(interim["Subject"])
            assert d.tracking_code in str(interim["Subject"])
            assert report_mails() == {
                ("interim_report", "head@example.vn"): 1,
                ("interim_report", "deputy@example.vn"): 1,
                ("weekly_report", "head@example.vn"): 1,
                ("weekly_report", "deputy@example.vn"): 1,
            }, report_mails()
            for m, event in ((interim, urgent), (friday, compiled)):
                text = m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                link = next(word for word in text.split() if word.startswith("https://"))
                assert link == event.page_url
                parts = urlsplit(link)
                query = dict(parse_qsl(parts.query))
                assert parts.path == f"/reports/{SLUG}/2026-W11"
                grant = signer.grant(parts.path, query.get("exp"), query.get("tok"),
                                     query.get("sig"), now=clock.now())
                # The mailed link: valid, and bound to no token (it outlives none).
                assert grant is not None and grant.token_id is None
        finally:
            await producer.stop()
            await rt.stop()


async def _true(value: bool) -> bool:
    return value


async def _has(rt: Runtime, name: str) -> bool:
    return name in rt.state


async def _count_reports(conn: asyncpg.Connection, n: int) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM notify.member_reports") >= n)


def _mail_about(mail: Any, tracking_code: str) -> list[Any]:
    return [m for m in mail.messages if tracking_code in m["Subject"]]
