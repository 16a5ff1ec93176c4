"""Realistic demo submissions drawn from the seed articles (2021): Bình Dương,
Thanh Hóa, Ninh Bình, Tiền Giang and Hà Nội, one per zone type and more."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from stdnum.vn import mst

from shared import auth
from shared.calendar import TZ, add_working_days, previous_window, to_local, week_window
from shared.events import CATEGORY_LABELS, ZoneType
from shared.provinces import ConfigSet


def tax_code(seed: int) -> str:
    """A valid tax code for a demo enterprise. About one nine-digit prefix in eleven
    has no valid check digit (it would be "10"); those are skipped."""
    while True:
        base9 = f"{370100001 + seed % 9_000_000:09d}"
        digit = mst.calc_check_digit(base9)
        if len(digit) == 1:
            return base9 + digit
        seed += 1


_DEMO: list[dict[str, Any]] = [
    {
        "province": "Bình Dương", "zone_type": "KCN", "zone_name": "KCN VSIP II",
        "enterprise_name": "Công ty TNHH Dệt may Minh Phát", "category": "raw_materials",
        "title": "Thiếu nguyên liệu vải nhập khẩu do đứt gãy chuỗi cung ứng",
        "description": "Doanh nghiệp đang thực hiện phương án 3 tại chỗ với 850 lao động; "
        "nguyên liệu nhập khẩu bị chậm 3 tuần, đề nghị hỗ trợ thông quan.",
        "employees": 850,
    },
    {
        "province": "Binh Duong", "zone_type": "CCN", "zone_name": "CCN Tân Đông Hiệp",
        "enterprise_name": "Công ty CP Gỗ An Bình", "category": "goods_transport",
        "title": "Xe chở hàng bị chặn tại chốt kiểm soát liên tỉnh",
        "description": "Đề nghị cấp giấy đi đường cho 12 xe vận chuyển gỗ thành phẩm.",
        "urgency": "urgent",
    },
    {
        "province": "Thanh Hóa", "zone_type": "KKT", "zone_name": "Khu kinh tế Nghi Sơn",
        "enterprise_name": "Công ty TNHH Cơ khí Nghi Sơn", "category": "labour",
        "title": "Người lao động ngoại tỉnh không thể quay lại làm việc",
        "description": "Khoảng 120 lao động từ Nghệ An chưa thể trở lại; đề nghị hướng dẫn "
        "xét nghiệm và theo dõi sức khỏe.",
    },
    {
        "province": "Thanh Hoa", "zone_type": "NONE", "zone_name": None,
        "enterprise_name": "Công ty TNHH Thương mại Hàm Rồng", "category": "finance_credit",
        "kind": "recommendation",
        "title": "Kiến nghị giãn nợ, giảm lãi suất vay vốn lưu động",
        "description": "Doanh thu giảm 40% trong quý III; kiến nghị ngân hàng cơ cấu lại "
        "thời hạn trả nợ theo Thông tư 14/2021/TT-NHNN.",
    },
    {
        "province": "Ninh Bình", "zone_type": "KCN", "zone_name": "KCN Gián Khẩu",
        "enterprise_name": "Công ty CP Linh kiện ô tô Gián Khẩu", "category": "production_plan",
        "title": "Phê duyệt phương án sản xuất an toàn cho ca đêm",
        "description": "Nhà cung cấp linh kiện cho nhà máy ô tô Hyundai Thành Công cần duyệt "
        "phương án sản xuất an toàn để chạy thêm ca đêm.",
    },
    {
        "province": "Tiền Giang", "zone_type": "KCN", "zone_name": "KCN Long Giang",
        "enterprise_name": "Công ty TNHH Thủy sản Mỹ Tho", "category": "export_market",
        "title": "Thị trường xuất khẩu thu hẹp, cần thông tin về FTA",
        "description": "Đơn hàng sang EU giảm; đề nghị hướng dẫn tận dụng ưu đãi EVFTA.",
    },
    {
        "province": "Tien Giang", "zone_type": None, "zone_name": "Cụm công nghiệp Trung An",
        "enterprise_name": "Cơ sở Chế biến Trái cây Cái Bè", "category": "admin_procedure",
        "title": "Thủ tục cấp phép mở rộng nhà xưởng kéo dài",
        "description": "Hồ sơ nộp từ tháng 6 chưa được giải quyết.",
    },
    {
        "province": "Hà Nội", "zone_type": "KCN", "zone_name": "KCN Thăng Long",
        "enterprise_name": "Công ty TNHH Điện tử Đông Anh", "category": "health_safety",
        "title": "Hỗ trợ tiêm vaccine cho tổ an toàn COVID",
        "description": "Đề nghị bố trí tiêm mũi 2 cho 300 công nhân trong tổ an toàn COVID.",
        "urgency": "urgent",
    },
    {
        "province": "Ha Noi", "zone_type": "NONE", "zone_name": None,
        "enterprise_name": "Hợp tác xã Nông sản Sóc Sơn", "category": "social_security",
        "kind": "recommendation",
        "title": "Kiến nghị hỗ trợ người lao động ngừng việc",
        "description": "Đề nghị hướng dẫn thủ tục hỗ trợ theo Nghị quyết 68/NQ-CP.",
    },
    {
        "province": "Bình Dương", "zone_type": "KCN", "zone_name": "Mỹ Phước 3",
        "enterprise_name": "Công ty TNHH Giày da Bến Cát", "category": "tax",
        "title": "Đề nghị gia hạn nộp thuế giá trị gia tăng",
        "description": "Doanh nghiệp đề nghị gia hạn theo Nghị định 52/2021/NĐ-CP.",
    },
]


def demo_submissions() -> list[dict[str, Any]]:
    out = []
    for n, item in enumerate(_DEMO):
        body = {
            "tax_code": tax_code(n * 7919),
            "kind": "difficulty",
            "urgency": "normal",
            "contact": {"name": "Phòng Hành chính", "phone": "0274 3822 000",
                        "email": "lienhe@example.vn"},
            "channel": "demo",
        }
        body.update({k: v for k, v in item.items() if v is not None})
        out.append(body)
    return out


# --- the workspaces, filled (#21 item 8) -------------------------------------------------
#
# `thaogo demo` also gives every workspace of a seed province something to show, as the
# people of a task force would have made it, through the services' own doors: the
# register of what the task force took in before (the CSV import, whose "Ngày tiếp nhận"
# column dates each row, so deadlines run from then and some are overdue), the agencies'
# steps and resolutions and the permanent deputy's letter (the API, with tokens the stack
# revokes when it stops), the business's rating (its tracking page), the members' weekly
# reports, and the deputy's draft and the head's direction (the workspace forms, signed in
# by the link `thaogo up` prints). Nothing is written into a read model.

DEMO_PROVINCE = "binh-duong"
CSRF = "demo-" + "c" * 38  # the double-submit value the demo's forms carry, as a browser's
IMPORT_HEADER = ("Mã số thuế,Tên doanh nghiệp,Tỉnh/Thành phố,Loại khu,Tên khu,Lĩnh vực,"
                 "Loại phản ánh,Tiêu đề,Nội dung,Người liên hệ,Điện thoại,Email,Số lao động,"
                 "Ngày tiếp nhận")


@dataclass(frozen=True)
class Case:
    """One row of the province's register and what happens to it in the demo."""

    name: str  # what the demo makes of it
    days_ago: int  # received this many calendar days before today
    zone_type: str
    zone_name: str
    enterprise: str
    category: str
    kind: str
    title: str
    description: str
    employees: int


CASES = (
    Case("overdue", 20, "KCN", "KCN VSIP II", "Công ty TNHH May mặc Thuận An", "raw_materials",
         "difficulty", "Thiếu vải nguyên liệu do nhà cung cấp tại TP. Hồ Chí Minh tạm dừng",
         "Doanh nghiệp thực hiện phương án 3 tại chỗ với 1.200 lao động; nguồn vải trong "
         "nước bị gián đoạn, đề nghị kết nối nhà cung cấp thay thế.", 1200),
    Case("late_in_progress", 18, "CCN", "CCN Tân Đông Hiệp", "Công ty CP Chế biến Gỗ Tân Uyên",
         "export_market", "difficulty", "Đơn hàng xuất khẩu sang Hoa Kỳ bị hủy do chậm giao",
         "Đề nghị hỗ trợ thông tin thị trường và gia hạn hợp đồng với đối tác.", 640),
    Case("central", 9, "NONE", "", "Công ty TNHH Thương mại Phú Lợi", "tax", "recommendation",
         "Kiến nghị gia hạn nộp thuế thu nhập doanh nghiệp năm 2021",
         "Doanh thu quý III giảm 45%; kiến nghị được gia hạn nộp thuế thu nhập doanh nghiệp "
         "ngoài thời hạn của Nghị định 52/2021/NĐ-CP.", 85),
    Case("resolved", 4, "KCN", "KCN Mỹ Phước 3", "Công ty TNHH Linh kiện điện tử Bến Cát",
         "production_plan", "difficulty", "Phê duyệt phương án sản xuất an toàn cho ca đêm",
         "Đề nghị phê duyệt phương án sản xuất an toàn để bố trí thêm ca đêm cho 300 lao "
         "động đã tiêm đủ hai mũi vắc xin.", 300),
    Case("need_info", 0, "KCN", "KCN Mỹ Phước 3", "Công ty CP Bao bì Mỹ Phước", "labour",
         "difficulty", "Người lao động từ Bình Phước chưa thể quay lại làm việc",
         "Khoảng 80 lao động ở Bình Phước chưa thể trở lại; đề nghị hướng dẫn đi lại và "
         "theo dõi sức khỏe.", 420),
    Case("triage", 0, "", "", "Hộ kinh doanh Nông sản Lái Thiêu", "finance_credit",
         "recommendation", "Kiến nghị giãn nợ khoản vay mua máy sấy nông sản",
         "Cơ sở có khoản vay 2 tỷ đồng đến hạn tháng 12; đề nghị giãn nợ theo Thông tư "
         "14/2021/TT-NHNN.", 12),
    Case("acknowledged", 0, "CCN", "CCN Tân Đông Hiệp", "Công ty TNHH Vận tải Đông Hiệp",
         "goods_transport", "difficulty", "Xe chở hàng bị yêu cầu xét nghiệm tại mỗi chốt",
         "Đề nghị thống nhất giấy nhận diện phương tiện cho 25 xe tải chở hàng thiết yếu.",
         150),
)
QUESTION = "Đề nghị doanh nghiệp gửi danh sách lao động và địa chỉ nơi ở hiện tại."
PUBLIC_ANSWER = ("Sở Y tế đã phê duyệt phương án sản xuất an toàn cho ca đêm; doanh nghiệp "
                 "bố trí ca đêm từ ngày hôm sau, giữ nguyên tổ an toàn COVID.")
RESOLVED = {
    "outcome": "resolved", "public_answer": PUBLIC_ANSWER,
    "done": "Phối hợp Sở Y tế thẩm định, phê duyệt phương án sản xuất ca đêm.",
    "legal_basis": "Công văn 2150/SYT-NVY",
    "waive_open_parts_reason": "Sở Y tế đã phê duyệt bằng văn bản."}
ESCALATED = {
    "outcome": "escalated",
    "done": "Làm việc với Cục Thuế tỉnh về điều kiện gia hạn nộp thuế.",
    "public_answer": "Tổ công tác đã kiến nghị Bộ Tài chính xem xét gia hạn.",
    "reason": "Gia hạn ngoài Nghị định 52/2021/NĐ-CP thuộc thẩm quyền Bộ Tài chính."}
DIRECTION = ("Sở Công Thương chủ trì kết nối các doanh nghiệp may mặc trong KCN với nhà "
             "cung cấp vải thay thế, báo cáo kết quả về Tổ công tác.")


def import_csv(cases: Sequence[Case], today: date) -> bytes:
    """The register as a CSV file the import reads (its Vietnamese headers)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(IMPORT_HEADER.split(","))
    for n, c in enumerate(cases):
        w.writerow([tax_code(90_001 + n * 313), c.enterprise, "Bình Dương", c.zone_type,
                    c.zone_name, c.category, c.kind, c.title, c.description,
                    "Phòng Hành chính", "0274 3822 000", "lienhe@example.vn", c.employees,
                    f"{today - timedelta(days=c.days_ago):%d/%m/%Y}"])
    return out.getvalue().encode("utf-8")


class DemoFailed(Exception):
    """A step of the demo the stack refused or did not carry out in time."""


@dataclass
class Filled:
    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)


async def fill_workspaces(*, intake_url: str, reporting_url: str, database_url: str,
                          secret: str, configs: ConfigSet, timeout: float = 60) -> Filled:
    """Fill the workspaces of the demo province (see above); DemoFailed if a step fails."""
    cfg = configs[DEMO_PROVINCE]
    now = datetime.now(UTC)
    today = to_local(now).date()
    done = Filled()
    conn = await asyncpg.connect(database_url)
    try:
        async def bearer(kind: auth.TokenKind, subject: str, province: str | None = None
                         ) -> tuple[uuid.UUID, dict[str, str]]:
            token_id, token = await auth.insert_token(
                conn, kind=kind, subject_id=subject, province=province, expires_in_days=30,
                purpose=auth.Purpose.UP)
            return token_id, {"Authorization": f"Bearer {token}", "Accept-Language": "vi"}

        _, operator = await bearer(auth.TokenKind.OPERATOR, "demo", DEMO_PROVINCE)
        # The lead agencies of the register's items (by their zone type).
        agencies = {a: (await bearer(auth.TokenKind.AGENCY, a))[1]
                    for a in sorted({cfg.rules.lead_by_zone_type[ZoneType(c.zone_type)]
                                     for c in CASES if c.zone_type})}
        members = cfg.task_force.active_members()
        member_tokens = [(m, (await bearer(auth.TokenKind.MEMBER, m.id))[1]) for m in members]
        deputy_id, deputy_api = await bearer(auth.TokenKind.AGENCY, cfg.rules.triage)
        head_id, _ = await bearer(auth.TokenKind.AGENCY, cfg.rules.head)
    finally:
        await conn.close()

    async with httpx.AsyncClient(base_url=intake_url, timeout=30) as c:
        async def call(path: str, body: dict[str, Any], headers: dict[str, str],
                       ok: int = 202) -> dict[str, Any]:
            r = await c.post(path, json=body, headers=headers)
            if r.status_code != ok:
                raise DemoFailed(f"{path}: {r.status_code} {r.text[:300]}")
            answer: dict[str, Any] = r.json()
            return answer

        async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
            deadline = asyncio.get_running_loop().time() + timeout
            while not await check():
                if asyncio.get_running_loop().time() > deadline:
                    raise DemoFailed(f"not done in {timeout:.0f} s: {what}")
                await asyncio.sleep(0.3)

        # The register: every row through the import, back-dated as the register says.
        r = await c.post("/v1/difficulties/import", content=import_csv(CASES, today),
                         headers={**operator, "Content-Type": "text/csv"})
        if r.status_code != 200 or r.json()["refused"]:
            raise DemoFailed(f"import: {r.status_code} {r.text[:500]}")
        rows = r.json()["rows"]
        case = {c_.name: {**row, "tax_code": tax_code(90_001 + n * 313)}
                for n, (c_, row) in enumerate(zip(CASES, rows, strict=True))}
        done.say(f"{len(rows)} items of {cfg.province.name_vi}'s register imported, the "
                 f"oldest received {max(c_.days_ago for c_ in CASES)} days ago")

        def lead_of(name: str) -> str:
            c_ = next(x for x in CASES if x.name == name)
            return cfg.rules.lead_by_zone_type[ZoneType(c_.zone_type)]

        async def routed(name: str) -> dict[str, str]:
            """The lead's token, once the router has given it the item."""
            headers = agencies[lead_of(name)]
            path = f"/v1/difficulties/{case[name]['difficulty_id']}"

            async def held() -> bool:
                got = await c.get(path, headers=headers)
                return got.status_code == 200 and got.json()["standing"] == "lead"

            await until(f"{case[name]['tracking_code']} routed to {lead_of(name)}", held)
            return headers

        def on(name: str, what: str) -> str:
            return f"/v1/difficulties/{case[name]['difficulty_id']}/{what}"

        # Overdue in progress: acknowledged late, still not resolved.
        lead = await routed("late_in_progress")
        await call(on("late_in_progress", "steps"), {"step": "acknowledged"}, lead)
        await call(on("late_in_progress", "steps"), {
            "step": "in_progress", "note": "Đã liên hệ Thương vụ Việt Nam tại Hoa Kỳ."}, lead)
        # Waiting for the business: the lead's question, on its tracking page.
        lead = await routed("need_info")
        await call(on("need_info", "steps"), {"step": "acknowledged"}, lead)
        await call(on("need_info", "steps"), {"step": "need_info", "question": QUESTION}, lead)
        # Taken in hand today.
        lead = await routed("acknowledged")
        await call(on("acknowledged", "steps"), {"step": "acknowledged"}, lead)
        # Resolved with an answer for the business, which rates it.
        lead = await routed("resolved")
        await call(on("resolved", "steps"), {"step": "acknowledged"}, lead)
        await call(on("resolved", "resolution"), RESOLVED, lead)
        rated = await c.post("/track/feedback", data={
            "code": case["resolved"]["tracking_code"], "tax_code": case["resolved"]["tax_code"],
            "resolved": "yes", "rating": "5", "comment": "Được giải quyết nhanh, rõ ràng.",
            "lang": "vi"})
        if rated.status_code != 303 or "said=rated" not in rated.headers.get("location", ""):
            raise DemoFailed(f"rating: {rated.status_code} {rated.headers.get('location')}")
        # Beyond the province: the lead passes it up, the router gives it to the ministry,
        # the permanent deputy registers the letter; the ministry's answer is awaited.
        lead = await routed("central")
        await call(on("central", "resolution"), ESCALATED, lead)

        async def lettered() -> bool:
            r = await c.post(on("central", "letter"), headers=deputy_api, json={
                "letter_number": f"{today.toordinal() % 900 + 100}/TCT-KT",
                "letter_date": today.isoformat()})
            return r.status_code == 202

        await until("the letter to the ministry registered", lettered)
        done.say("casework: 2 overdue, 1 in triage, 1 waiting for the business, 1 resolved "
                 "and rated 5/5, 1 at the Ministry of Finance with its letter")

        # The members' weekly reports: all but two this week; one reports last week's
        # late (its Friday cut-off has passed); the last has not reported.
        this_week, last_week = week_window(now), previous_window(week_window(now))
        for i, (m, headers) in enumerate(member_tokens[:-1]):
            late = i == len(member_tokens) - 2
            fields = ", ".join(CATEGORY_LABELS[f][0].lower() for f in m.fields[:2]) or (
                "các lĩnh vực được phân công")
            await call("/v1/member-reports", {
                "received_summary": f"Tiếp nhận {2 + i % 4} phản ánh của doanh nghiệp về "
                                    f"{fields}.",
                "solutions": "Làm việc trực tiếp với doanh nghiệp và các sở liên quan; "
                             "hướng dẫn hồ sơ theo quy định.",
                "recommendations": "Đề nghị Bộ Tài chính hướng dẫn gia hạn nộp thuế cho doanh "
                                   "nghiệp bị ảnh hưởng." if i == 0 else "Không có.",
                "week_label": (last_week if late else this_week).label,
            }, headers)
        done.say(f"members' reports: {len(member_tokens) - 2} for {this_week.label}, "
                 f"{member_tokens[-2][0].name}'s for {last_week.label} (late), "
                 f"{member_tokens[-1][0].name} has not reported")

    # The permanent deputy's draft and the head's direction, through the workspace forms.
    deputy = await signed_in(reporting_url, secret, deputy_id, now)
    head = await signed_in(reporting_url, secret, head_id, now)
    try:
        await form(deputy, intake_url + "/workspace/act/compilation", {
            "compiled_text": f"I. Tình hình tiếp nhận\n- Trong tuần, Tổ công tác tiếp nhận và "
                             f"nhập {len(CASES)} hồ sơ từ sổ theo dõi; 2 hồ sơ quá hạn.\n\n"
                             "II. Kiến nghị\n- Đề nghị Tổ trưởng chỉ đạo Sở Công Thương kết "
                             "nối nguồn nguyên liệu cho doanh nghiệp may mặc.",
            "action": "save", "week_label": this_week.label, "key": str(uuid.uuid4())},
            "saved")
        due = add_working_days(now, 3).astimezone(TZ).date()
        await form(head, intake_url + "/workspace/act/direction", {
            "direction": DIRECTION, "assignee_id": "binh-duong.so-cong-thuong",
            "due_on": due.isoformat(), "key": str(uuid.uuid4())}, "direction")
    finally:
        await deputy.aclose()
        await head.aclose()
    done.say(f"the permanent deputy's draft of {this_week.label} saved; the head's "
             f"direction to Sở Công Thương due {due:%d/%m/%Y}")
    return done


async def signed_in(reporting_url: str, secret: str, token_id: uuid.UUID, now: datetime
                    ) -> httpx.AsyncClient:
    """A client signed in as a person opening the link `thaogo up` prints for them."""
    from services.reporting.access import LinkSigner
    from services.reporting.pages.workspace import ENTER_PATH

    signer = LinkSigner(secret.encode(), timedelta(days=30), timedelta(days=30))
    client = httpx.AsyncClient(timeout=30, cookies={auth.CSRF_COOKIE: CSRF})
    r = await client.post(reporting_url + ENTER_PATH, data={
        **signer.query(ENTER_PATH, now=now, token_id=token_id), "csrf_token": CSRF})
    if r.status_code != 303 or auth.SESSION_COOKIE not in client.cookies:
        await client.aclose()
        raise DemoFailed(f"sign-in: {r.status_code} {r.text[:200]}")
    return client


async def form(person: httpx.AsyncClient, url: str, data: dict[str, str], said: str) -> None:
    r = await person.post(url, data={**data, "csrf_token": CSRF, "lang": "vi"})
    where = r.headers.get("location", "")
    if r.status_code != 303 or f"done={said}" not in where:
        raise DemoFailed(f"{url}: {r.status_code} {where or r.text[:200]}")
