"""Filling reporting's database with a large, realistic history for the page benchmark
(#21 item 7), in PostgreSQL itself: every table is written by INSERT … SELECT over
generate_series, in chunks, into the schema the service's own migrations create.

The spread: the five configured provinces (Bình Dương the largest), received uniformly
over `days` (more than a year), zone types and categories as businesses file them, the
lead agency by zone type as the router decides it or another of the province's agencies.
Most items are closed (resolved or rejected, with the lead's resolution); the open ones
are mostly recent: not yet acknowledged, acknowledged, in progress, waiting for the
business (the lead's step `need_info`), in the permanent deputy's triage, passed up to
a central ministry, or overdue. Each has its lead assignment, a co-handler for a third,
a member for a fifth; the status history and its events hold each step as the
projection would, and members have reported most weeks."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.reporting.store.projections import STATUS_EVENT_TYPE
from shared import vn
from shared.events import Category, Contact, DifficultyReceived, Kind, ZoneType
from shared.provinces import ConfigHolder, ProvinceConfig
from thaogo.demo import tax_code

# Bình Dương files three in ten; the others share the rest (weights by tenths).
PROVINCE_WEIGHTS = {"binh-duong": 3, "ha-noi": 2, "tien-giang": 2, "thanh-hoa": 2,
                    "ninh-binh": 1}
TITLES = [
    "Thiếu nguyên liệu sản xuất", "Vướng mắc thủ tục hải quan khi nhập khẩu máy móc",
    "Chậm hoàn thuế giá trị gia tăng", "Khó khăn tuyển dụng lao động có tay nghề",
    "Thủ tục cấp phép xây dựng nhà xưởng kéo dài", "Giá thuê đất trong khu công nghiệp tăng",
    "Chưa được cấp giấy chứng nhận quyền sử dụng đất", "Khó tiếp cận vốn vay ưu đãi",
    "Đơn hàng xuất khẩu giảm mạnh", "Thiếu điện cho sản xuất vào giờ cao điểm",
    "Hạ tầng giao thông vào cụm công nghiệp xuống cấp", "Vướng thủ tục phòng cháy chữa cháy",
    "Chậm đấu nối hệ thống xử lý nước thải", "Kiểm tra chuyên ngành trùng lặp",
    "Chi phí logistics tăng cao", "Khó khăn về bảo hiểm xã hội cho người lao động",
]
# The descriptions vary as businesses write them: what is held up, since when, what it
# costs and what they ask, each drawn on its own from the row's number, and a third cite
# the document their title's obstacle falls under. The 16 titles alone with one
# description made every item of a title the same text (and every item alike through
# the shared description): groups were cliques of identical texts, not what a
# province's open items look like.
DESCRIPTION = ("Doanh nghiệp đang gặp khó khăn kéo dài ba tuần, ảnh hưởng trực tiếp đến kế"
               " hoạch sản xuất và đơn hàng đã ký với đối tác; đề nghị Tổ công tác xem xét,"
               " chỉ đạo cơ quan liên quan hướng dẫn và hỗ trợ tháo gỡ sớm.")
SUBJECTS = [
    "Lô linh kiện điện tử nhập từ Hàn Quốc", "Nguyên liệu vải sợi nhập từ Trung Quốc",
    "Dây chuyền chế biến thủy sản xuất khẩu", "Xưởng gỗ nội thất với 300 công nhân",
    "Nhà máy bao bì nhựa", "Kho lạnh bảo quản nông sản", "Xưởng cơ khí chính xác",
    "Nhà máy may mặc xuất khẩu sang Hoa Kỳ", "Cơ sở sản xuất thức ăn chăn nuôi",
    "Nhà máy thép cán nguội", "Xưởng in bao bì giấy", "Nhà máy dược phẩm",
    "Dự án mở rộng nhà xưởng giai đoạn hai", "Trang trại chăn nuôi công nghệ cao",
]
SINCE = ["từ tháng trước", "đã ba tuần nay", "kéo dài hơn hai tháng", "từ đầu quý",
         "sau đợt kiểm tra gần đây", "từ khi chuyển sang hồ sơ điện tử", "gần một năm nay"]
COSTS = ["phải chậm giao hàng cho đối tác", "phải tạm dừng một ca sản xuất",
         "phát sinh chi phí lưu kho bãi", "có nguy cơ bị phạt vi phạm hợp đồng",
         "công suất giảm khoảng một phần ba", "chậm trả lương cho người lao động",
         "mất đơn hàng của khách hàng Nhật Bản", "phải thuê kho bên ngoài với giá cao",
         "dòng tiền bị ảnh hưởng nghiêm trọng"]
ASKS = ["Đề nghị Sở hướng dẫn cụ thể trình tự hồ sơ.", "Đề nghị rút ngắn thời gian xử lý.",
        "Đề nghị cơ quan có thẩm quyền trả lời bằng văn bản.",
        "Đề nghị tổ chức đối thoại với doanh nghiệp trong khu.",
        "Đề nghị các ngành phối hợp giải quyết dứt điểm.",
        "Đề nghị xem xét gia hạn trong thời gian chờ hướng dẫn."]
# The document each title's obstacle falls under, which a third of its items cite.
CITES = ["", "theo Nghị định 08/2015/NĐ-CP", "theo Thông tư 80/2021/TT-BTC", "",
         "theo Nghị định 15/2021/NĐ-CP", "theo Luật Đất đai 2024", "theo Luật Đất đai 2024",
         "", "", "", "", "theo Nghị định 136/2020/NĐ-CP", "", "theo Nghị định 15/2018/NĐ-CP",
         "", "theo Luật Bảo hiểm xã hội 2014"]
ENTERPRISES = ["Công ty TNHH Cơ khí Tân Phát", "Công ty CP Dệt may Hòa Bình",
               "Công ty TNHH Điện tử Sông Hồng", "Công ty CP Thực phẩm Miền Tây",
               "Công ty TNHH Gỗ Nội thất Phú Lợi", "Công ty CP Nhựa Bao bì Việt Thắng",
               "Công ty TNHH Hóa chất Đông Á", "Công ty CP Thép Bắc Trung Bộ"]
TAX_CODES = 2_000
PHRASES = {"subject": SUBJECTS, "since": SINCE, "cost": COSTS, "ask": ASKS}


@dataclass(frozen=True)
class Place:
    """What the fill needs of one province, as its configuration says."""
    slug: str
    code: str
    name: str
    triage: str
    head: str
    zone_leads: dict[str, str]
    agencies: list[str]  # the province's own agencies that handle items
    central: list[str]
    members: list[tuple[str, str]]  # (member, their agency)


def places() -> list[Place]:
    configs = ConfigHolder().current
    out = []
    for slug in PROVINCE_WEIGHTS:
        cfg: ProvinceConfig = configs[slug]
        keep = (cfg.rules.triage, cfg.rules.head)
        out.append(Place(
            slug=slug, code=cfg.province.province_code, name=cfg.province.name_vi,
            triage=cfg.rules.triage, head=cfg.rules.head,
            zone_leads={z.value: a for z, a in cfg.rules.lead_by_zone_type.items()},
            agencies=[a.id for a in cfg.agencies if a.id not in keep
                      and a.level.value == "province"],
            central=[a.id for a in cfg.agencies if a.level.value == "central"],
            members=[(m.id, m.agency or cfg.rules.triage)
                     for m in cfg.task_force.active_members()]))
    return out


_SETUP = """
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.places (p int PRIMARY KEY, slug text, code text, name text, triage text,
    head text, kcn text, kkt text, ccn text, none_ text, n_agencies int, n_members int,
    central text);
CREATE TABLE bench.agencies (p int, k int, agency_id text, PRIMARY KEY (p, k));
CREATE TABLE bench.members (p int, k int, member_id text, agency_id text, PRIMARY KEY (p, k));
CREATE TABLE bench.words (k int PRIMARY KEY, title text, search text, cite text,
    cite_search text);
-- The parts of a description (part: subject, since, cost, ask), each with its folded words.
CREATE TABLE bench.phrases (part text, k int, phrase text, search text, PRIMARY KEY (part, k));
CREATE TABLE bench.firms (k int PRIMARY KEY, name text, tax_code text, search text);
"""

# One chunk of difficulties [$1, $2] received over the last $3 days, as of $4. The random
# draws are taken once per row (x), the derived state once (g), so that every column
# agrees with the status drawn.
_DIFFICULTIES = """
WITH x AS (
    SELECT i, $4::timestamptz - random() * ($3::float8 * interval '1 day') AS rec,
           random() AS r_zone, random() AS r_lead, random() AS r_open, random() AS r_state,
           random() AS r_days,
           (ARRAY[0,0,0,1,1,2,2,3,3,4])[1 + (i::bigint * 7919) % 10] AS p
    FROM generate_series($1::int, $2::int) i
), g AS (
    SELECT x.*, pl.slug, pl.code, pl.name, pl.triage, pl.kcn, pl.kkt, pl.ccn, pl.none_,
           pl.n_agencies, pl.central,
        CASE WHEN r_zone < 0.4 THEN 'KCN' WHEN r_zone < 0.45 THEN 'KKT'
             WHEN r_zone < 0.65 THEN 'CCN' ELSE 'NONE' END AS zone,
        -- Open: most of the last month's, a few of the quarter's, a handful older.
        CASE WHEN rec > $4 - interval '30 days' THEN r_open < 0.4
             WHEN rec > $4 - interval '90 days' THEN r_open < 0.05
             ELSE r_open < 0.004 END AS open
    FROM x JOIN bench.places pl USING (p)
), s AS (
    SELECT g.*,
        CASE WHEN NOT open THEN CASE WHEN r_state < 0.9 THEN 'resolved' ELSE 'rejected' END
             WHEN r_state < 0.06 THEN 'received'     -- in the permanent deputy's triage
             WHEN r_state < 0.26 THEN 'assigned'
             WHEN r_state < 0.46 THEN 'acknowledged'
             WHEN r_state < 0.84 THEN 'in_progress'  -- a sixth of them waiting for the business
             WHEN r_state < 0.93 THEN 'escalated'
             ELSE 'reassign_requested' END AS status,
        least($4, rec + (0.5 + 24 * r_days) * interval '1 day') AS closed,
        rec + (2 + 40 * r_days) * interval '1 hour' AS acked
    FROM g
)
INSERT INTO reporting.difficulties (
    difficulty_id, tracking_code, tax_code, province_code, task_force, zone_type, category,
    kind, urgency, title, status, received_at, status_at, resolved_at, payload,
    enterprise_name, search, lead_assignment_id, lead_agency_id, ack_due_at, resolve_due_at,
    acknowledged_at, closed_at, escalated_central_at, outcome, outcome_at, public_answer,
    escalated_at)
SELECT id, code_, f.tax_code, s.code, s.slug, s.zone, cat, kind, urgency, w.title, s.status,
    rec,
    CASE WHEN NOT open THEN closed WHEN s.status IN ('received', 'assigned') THEN rec
         ELSE acked END,
    CASE WHEN s.status = 'resolved' THEN closed END,
    $5::jsonb || jsonb_build_object('difficulty_id', id, 'tracking_code', code_,
        'received_at', rec, 'province_code', s.code, 'province_name', s.name,
        'task_force', s.slug, 'tax_code', f.tax_code, 'enterprise_name', f.name,
        'zone_type', s.zone, 'category', cat, 'kind', kind, 'title', w.title,
        'urgency', urgency, 'description', description),
    f.name, lower(code_) || ' ' || w.search || ' ' || description_search || ' ' || f.search,
    gen_random_uuid(),
    lead, rec + interval '2 days', rec + interval '15 days',
    CASE WHEN s.status NOT IN ('received', 'assigned') THEN acked END,
    CASE WHEN NOT open THEN closed END,
    CASE WHEN s.status = 'escalated' AND s.central IS NOT NULL THEN acked + interval '1 day' END,
    CASE WHEN NOT open THEN s.status WHEN s.status = 'escalated' THEN 'escalated' END,
    CASE WHEN NOT open THEN closed WHEN s.status = 'escalated' THEN acked + interval '1 day' END,
    CASE WHEN NOT open THEN 'Cơ quan chủ trì đã hướng dẫn doanh nghiệp hoàn thiện hồ sơ.' END,
    CASE WHEN s.status = 'escalated' THEN acked + interval '1 day' END
FROM s
CROSS JOIN LATERAL (SELECT
    gen_random_uuid() AS id, 'TG-' || to_char(s.rec, 'YYMM') || '-' || lpad(s.i::text, 7, '0')
        AS code_,
    ($6::text[])[1 + (s.i * 31) % cardinality($6::text[])] AS cat,
    CASE WHEN s.i % 10 = 0 THEN 'recommendation' ELSE 'difficulty' END AS kind,
    CASE WHEN s.i % 40 = 0 THEN 'urgent' ELSE 'normal' END AS urgency,
    CASE WHEN s.status = 'received' THEN s.triage
         WHEN s.r_lead < 0.7 THEN CASE s.zone WHEN 'KCN' THEN s.kcn WHEN 'KKT' THEN s.kkt
                                               WHEN 'CCN' THEN s.ccn ELSE s.none_ END
         ELSE (SELECT agency_id FROM bench.agencies a WHERE a.p = s.p
               AND a.k = (s.i * 13) % s.n_agencies) END AS lead) c
JOIN bench.words w ON w.k = s.i % {titles}
JOIN bench.firms f ON f.k = (s.i * 17) % {firms}
CROSS JOIN LATERAL (SELECT
    ps.phrase || ' ' || pn.phrase || CASE WHEN s.i % 3 = 0 AND w.cite <> ''
        THEN ' ' || w.cite ELSE '' END || ', ' || pc.phrase || '. ' || pa.phrase AS description,
    ps.search || ' ' || pn.search || CASE WHEN s.i % 3 = 0 AND w.cite <> ''
        THEN ' ' || w.cite_search ELSE '' END || ', ' || pc.search || '. ' || pa.search
        AS description_search
    FROM bench.phrases ps, bench.phrases pn, bench.phrases pc, bench.phrases pa
    WHERE ps.part = 'subject' AND ps.k = abs(hashint4(s.i)) % {subjects}
      AND pn.part = 'since' AND pn.k = abs(hashint4(s.i + 1)) % {since}
      AND pc.part = 'cost' AND pc.k = abs(hashint4(s.i + 2)) % {costs}
      AND pa.part = 'ask' AND pa.k = abs(hashint4(s.i + 3)) % {asks}) t
"""

# Each difficulty of the chunk (by its tracking code's number) gets its lead assignment;
# every third a co-handler, every fifth a member, each passed-up one the ministry's.
# The steps each part took stand on its assignment, as the projection keeps them.
_ASSIGNMENTS = """
WITH d AS (
    SELECT d.*, substr(tracking_code, 9)::int AS i, pl.p, pl.n_agencies, pl.n_members,
           pl.central
    FROM reporting.difficulties d JOIN bench.places pl ON pl.slug = d.task_force
    WHERE substr(tracking_code, 9)::int BETWEEN $1 AND $2
)
INSERT INTO reporting.assignments (assignment_id, difficulty_id, agency_id, agency_level,
    member_id, role, rule, active, assigned_at, ack_due_at, resolve_due_at, step, step_at)
SELECT lead_assignment_id, difficulty_id, lead_agency_id,
       CASE WHEN status = 'received' THEN 'task_force' ELSE 'province' END, NULL,
       CASE WHEN status = 'received' THEN 'triage' ELSE 'lead' END, 'zone_type', true,
       received_at, ack_due_at, resolve_due_at,
       CASE WHEN closed_at IS NOT NULL OR status = 'escalated' THEN 'done'
            WHEN status = 'in_progress' AND i % 6 = 0 THEN 'need_info'
            WHEN status = 'in_progress' THEN 'in_progress'
            WHEN status = 'acknowledged' THEN 'acknowledged'
            WHEN status = 'reassign_requested' THEN 'declined' END,
       CASE WHEN closed_at IS NOT NULL THEN closed_at
            WHEN status IN ('received', 'assigned') THEN NULL ELSE acknowledged_at END
FROM d
UNION ALL
SELECT gen_random_uuid(), difficulty_id,
       (SELECT agency_id FROM bench.agencies a WHERE a.p = d.p
        AND a.k = (i * 7 + 1) % d.n_agencies),
       'province', NULL, 'co_handler', 'category', true, received_at, NULL, resolve_due_at,
       CASE WHEN closed_at IS NOT NULL THEN 'done' WHEN acknowledged_at IS NOT NULL
            THEN 'acknowledged' END,
       CASE WHEN closed_at IS NOT NULL THEN closed_at ELSE acknowledged_at END
FROM d WHERE i % 3 = 0 AND status <> 'received'
UNION ALL
SELECT gen_random_uuid(), difficulty_id, m.agency_id, 'province', m.member_id, 'member',
       'member_field', true, received_at, NULL, resolve_due_at, NULL, NULL
FROM d JOIN bench.members m ON m.p = d.p AND m.k = (d.i * 11) % d.n_members
WHERE i % 5 = 0 AND status <> 'received'
UNION ALL
SELECT gen_random_uuid(), difficulty_id, central, 'central', NULL, 'escalation', 'escalated',
       true, escalated_central_at, NULL, escalated_central_at + interval '30 days', NULL, NULL
FROM d WHERE escalated_central_at IS NOT NULL
"""

# The lead's steps as statuses (acknowledged, in progress, the closing one) and the
# need_info step of those waiting for the business, each with the event that carried it.
_HISTORY = """
WITH d AS (
    SELECT difficulty_id, status, received_at, acknowledged_at, closed_at, lead_assignment_id,
           lead_agency_id, substr(tracking_code, 9)::int AS i
    FROM reporting.difficulties WHERE substr(tracking_code, 9)::int BETWEEN $1 AND $2
), h AS (
    SELECT gen_random_uuid() AS status_id, difficulty_id, 'acknowledged' AS status,
           'acknowledged' AS step, lead_agency_id AS actor_id, lead_assignment_id,
           acknowledged_at AS changed_at, NULL::text AS question
    FROM d WHERE acknowledged_at IS NOT NULL
    UNION ALL
    SELECT gen_random_uuid(), difficulty_id, 'in_progress', 'in_progress', lead_agency_id,
           lead_assignment_id, acknowledged_at + interval '1 hour', NULL
    FROM d WHERE status = 'in_progress' OR (closed_at IS NOT NULL AND i % 2 = 0)
    UNION ALL
    SELECT gen_random_uuid(), difficulty_id, NULL, 'need_info', lead_agency_id,
           lead_assignment_id, acknowledged_at + interval '2 hours',
           'Đề nghị doanh nghiệp bổ sung hợp đồng nhập khẩu và tờ khai hải quan.'
    FROM d WHERE status = 'in_progress' AND i % 6 = 0
    UNION ALL
    SELECT gen_random_uuid(), difficulty_id, status, 'done', lead_agency_id,
           lead_assignment_id, closed_at, NULL
    FROM d WHERE closed_at IS NOT NULL
), ins AS (
    INSERT INTO reporting.status_history (status_id, difficulty_id, status, step, actor_kind,
        actor_id, assignment_id, changed_at)
    SELECT status_id, difficulty_id, status, step, 'agency', actor_id, lead_assignment_id,
           changed_at FROM h
)
INSERT INTO reporting.events (event_id, topic, difficulty_id, event_type, occurred_at, payload)
SELECT status_id::text, 'difficulty.status.v1', difficulty_id, $3, changed_at,
       jsonb_build_object('status_id', status_id, 'difficulty_id', difficulty_id,
                          'status', status, 'step', step, 'actor_kind', 'agency',
                          'actor_id', actor_id, 'assignment_id', lead_assignment_id,
                          'changed_at', changed_at, 'question', question,
                          'note', 'Đã làm việc với doanh nghiệp.')
FROM h
"""

_RESOLUTIONS = """
INSERT INTO reporting.resolutions (status_id, difficulty_id, assignment_id, actor_id, outcome,
    done, public_answer, reason, waived, resolved_at)
SELECT h.status_id, d.difficulty_id, d.lead_assignment_id, d.lead_agency_id, d.outcome,
       'Đã hướng dẫn doanh nghiệp và phối hợp với cơ quan liên quan giải quyết.',
       d.public_answer,
       CASE WHEN d.outcome = 'rejected' THEN 'Không thuộc thẩm quyền của tỉnh.' END,
       '{}'::uuid[], d.closed_at
FROM reporting.difficulties d
JOIN reporting.status_history h ON h.difficulty_id = d.difficulty_id AND h.step = 'done'
WHERE d.closed_at IS NOT NULL AND substr(d.tracking_code, 9)::int BETWEEN $1 AND $2
"""

# Each active member's report of most past weeks.
_MEMBER_REPORTS = """
INSERT INTO reporting.member_reports (report_id, member_id, province_code, week_label, late,
    urgent, submitted_at, payload)
SELECT gen_random_uuid(), m.member_id, pl.code, to_char(w, 'IYYY-"W"IW'), random() < 0.1,
       false, w + interval '4 days',
       jsonb_build_object('received_summary', 'Tuần này tiếp nhận các kiến nghị của doanh'
                          || ' nghiệp trong lĩnh vực phụ trách.',
                          'solutions', 'Đã phối hợp hướng dẫn, tháo gỡ.',
                          'recommendations', 'Đề nghị Tổ công tác chỉ đạo các sở liên quan.')
FROM bench.members m JOIN bench.places pl USING (p)
CROSS JOIN generate_series(date_trunc('week', $1::timestamptz) - ($2::int * interval '1 week'),
                           date_trunc('week', $1::timestamptz) - interval '1 week',
                           interval '1 week') w
WHERE random() < 0.85
"""


def _template() -> dict[str, Any]:
    """The submission as the projection keeps it (without the contact): the fields each
    difficulty's own values replace."""
    d = DifficultyReceived(
        difficulty_id=uuid.uuid4(), tracking_code="TG-0000-0000000",
        received_at=datetime.now(UTC), province_code="79", province_name="Bình Dương",
        task_force="binh-duong", tax_code=tax_code(0), enterprise_name=ENTERPRISES[0],
        zone_type=ZoneType.KCN, zone_name="KCN VSIP II", category=Category.RAW_MATERIALS,
        kind=Kind.DIFFICULTY, title=TITLES[0], description=DESCRIPTION,
        contact=Contact(name="Phòng Hành chính"), employees=350,
        sector="Sản xuất linh kiện điện tử", ward="Phường Bình Hòa")
    return d.model_dump(mode="json", exclude={"contact"})


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.execute(_SETUP)
    ps = places()
    await conn.executemany(
        "INSERT INTO bench.places VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
        " $13)",
        [(i, p.slug, p.code, p.name, p.triage, p.head, p.zone_leads["KCN"], p.zone_leads["KKT"],
          p.zone_leads["CCN"], p.zone_leads["NONE"], len(p.agencies), len(p.members),
          p.central[0] if p.central else None) for i, p in enumerate(ps)])
    await conn.executemany("INSERT INTO bench.agencies VALUES ($1, $2, $3)",
                           [(i, k, a) for i, p in enumerate(ps) for k, a in enumerate(p.agencies)])
    await conn.executemany("INSERT INTO bench.members VALUES ($1, $2, $3, $4)",
                           [(i, k, m, a) for i, p in enumerate(ps)
                            for k, (m, a) in enumerate(p.members)])
    await conn.executemany("INSERT INTO bench.words VALUES ($1, $2, $3, $4, $5)",
                           [(k, t, vn.fold(t), c, vn.fold(c))
                            for k, (t, c) in enumerate(zip(TITLES, CITES, strict=True))])
    await conn.executemany("INSERT INTO bench.phrases VALUES ($1, $2, $3, $4)",
                           [(part, k, p, vn.fold(p)) for part, ps in PHRASES.items()
                            for k, p in enumerate(ps)])
    firms = [f"{ENTERPRISES[k % len(ENTERPRISES)]} {k}" for k in range(TAX_CODES)]
    await conn.executemany("INSERT INTO bench.firms VALUES ($1, $2, $3, $4)",
                           [(k, name, tax_code(k), vn.fold(name))
                            for k, name in enumerate(firms)])


async def fill(conn: asyncpg.Connection, *, rows: int, days: int, now: datetime,
               chunk: int = 100_000) -> dict[str, Any]:
    """`rows` difficulties received over `days` before `now`, with everything the
    projections hold of them; seconds spent on each table."""
    spent: dict[str, float] = {"difficulties": 0.0, "assignments": 0.0, "history": 0.0,
                               "resolutions": 0.0}
    await _setup(conn)
    template = json.dumps(_template())
    cats = [c.value for c in Category]
    difficulties = _DIFFICULTIES.format(titles=len(TITLES), firms=TAX_CODES,
                                        subjects=len(SUBJECTS), since=len(SINCE),
                                        costs=len(COSTS), asks=len(ASKS))
    for lo in range(1, rows + 1, chunk):
        hi = min(rows, lo + chunk - 1)
        steps = (("difficulties", difficulties, (lo, hi, float(days), now, template, cats)),
                 ("assignments", _ASSIGNMENTS, (lo, hi)),
                 ("history", _HISTORY, (lo, hi, STATUS_EVENT_TYPE)),
                 ("resolutions", _RESOLUTIONS, (lo, hi)))
        for name, sql, args in steps:
            t0 = time.perf_counter()
            await conn.execute(sql, *args)
            spent[name] += time.perf_counter() - t0
    t0 = time.perf_counter()
    await conn.execute(_MEMBER_REPORTS, now, days // 7)
    spent["member_reports"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    spent["vacuum_analyze"] = time.perf_counter() - t0
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM reporting.{t}")
              for t in ("difficulties", "assignments", "status_history", "events",
                        "resolutions", "member_reports")}
    by_status = {r["status"]: r["n"] for r in await conn.fetch(
        "SELECT status, count(*) AS n FROM reporting.difficulties GROUP BY 1 ORDER BY 1")}
    return {"seconds": {k: round(v, 1) for k, v in spent.items()},
            "fill_s": round(sum(spent.values()), 1), "rows": counts, "by_status": by_status}
