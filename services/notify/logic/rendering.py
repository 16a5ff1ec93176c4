"""What each kind of message says, in Vietnamese first with English."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.logic.business import BUSINESS_PREFIX, render_business
from services.notify.logic.owed import (
    ASSIGNMENT,
    CENTRAL_ANSWER,
    CENTRAL_PROGRESS,
    DIRECTION_DUE,
    ESCALATION_ACK,
    ESCALATION_RESOLVE,
    INTERIM_REPORT,
    MEMBER_REMINDER,
    REMINDER_ACK,
    REMINDER_RESOLVE,
    SIGN_IN,
    URGENT_DIFFICULTY,
    WEEKLY_MISSING,
    WEEKLY_REMINDER,
    WEEKLY_REPORT,
    ZONE_OVERDUE,
)
from shared import calendar

# --- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str = field(default="")


def _fmt(iso: Any) -> str:
    try:
        return calendar.to_local(datetime.fromisoformat(str(iso))).strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return str(iso)


def render(kind: str, p: Mapping[str, Any]) -> Rendered:
    """Subject and body in Vietnamese. Built from the stored payload at send time."""
    code = p.get("tracking_code", "")
    link_label = "Xem báo cáo"
    if kind.startswith(BUSINESS_PREFIX):
        subject, text, link_label = render_business(kind, p)
    elif kind == ASSIGNMENT:
        urgent = " KHẨN" if p.get("urgency") == "urgent" else ""
        subject = f"[thaogo]{urgent} Giao xử lý hồ sơ {code}"
        text = (f"Cơ quan được giao xử lý khó khăn, vướng mắc mã {code}"
                f" (vai trò: {p.get('role')}, lĩnh vực: {p.get('category')}).\n"
                f"Căn cứ: {p.get('reason')}")
    elif kind == URGENT_DIFFICULTY:
        subject = f"[thaogo] KHẨN: khó khăn đột xuất {code}"
        lines = []
        if p.get("agency_id"):
            lines.append(f"Khó khăn đột xuất mã {code} đã được giao cho {p.get('agency_id')}.")
            lines.append(f"Căn cứ: {p.get('reason')}")
        if p.get("confirmed_by"):
            how = "phản ánh" if p.get("reported") else "xác nhận"
            lines.append(f"Tính khẩn cấp do {p.get('confirmed_by')} {how}"
                         f" lúc {_fmt(p.get('confirmed_at'))}.")
        else:
            lines.append("Doanh nghiệp tự đánh dấu khẩn; chưa được cơ quan, thành viên"
                         " Tổ công tác xác nhận.")
        text = "\n".join(lines)
    elif kind in (REMINDER_ACK, REMINDER_RESOLVE):
        what = "tiếp nhận" if kind == REMINDER_ACK else "giải quyết"
        subject = f"[thaogo] Nhắc lần {p.get('n')}: quá hạn {what} hồ sơ {code}"
        text = (f"Hồ sơ {code} chưa được {what}; hạn là {_fmt(p.get('deadline'))}."
                " Đề nghị cơ quan cập nhật trạng thái.")
    elif kind in (ESCALATION_ACK, ESCALATION_RESOLVE):
        what = "tiếp nhận" if kind == ESCALATION_ACK else "giải quyết"
        subject = f"[thaogo] Báo cáo Tổ phó Thường trực: {code} quá hạn {what}"
        text = (f"Hồ sơ {code} giao {p.get('agency_id')} chưa được {what} sau"
                f" {p.get('reminders')} lần nhắc; hạn là {_fmt(p.get('deadline'))}.")
    elif kind == ZONE_OVERDUE:
        what = "tiếp nhận" if p.get("phase") == "ack" else "giải quyết"
        subject = f"[thaogo] Hồ sơ {code} trong khu vực đồng chí phụ trách quá hạn {what}"
        text = (f"Hồ sơ {code} do {p.get('agency_id')} chủ trì chưa được {what}; hạn là "
                f"{_fmt(p.get('deadline'))}. Đề nghị đồng chí đôn đốc, phối hợp tháo gỡ.")
    elif kind in (CENTRAL_ANSWER, CENTRAL_PROGRESS):
        subject = (f"[thaogo] Đến hạn Bộ, ngành trả lời hồ sơ {code}" if kind == CENTRAL_ANSWER
                   else f"[thaogo] Đôn đốc Bộ, ngành lần {p.get('n')}: hồ sơ {code}")
        text = (f"Hồ sơ {code} đã kiến nghị {p.get('agency_id')}; hạn trả lời là "
                f"{_fmt(p.get('deadline'))}. Đề nghị đôn đốc Bộ, ngành và ghi nhận văn bản "
                "trả lời khi nhận được.")
    elif kind in (WEEKLY_REMINDER, MEMBER_REMINDER):
        subject = f"[thaogo] Nhắc nộp báo cáo tuần {p.get('week_label')}"
        text = (f"Kính gửi {p.get('name')}: báo cáo tuần {p.get('week_label')} hạn"
                f" {_fmt(p.get('cutoff'))}. Hệ thống chưa nhận được báo cáo của đồng chí.")
        if kind == MEMBER_REMINDER:
            text += f"\nTổ phó Thường trực {p.get('by')} đề nghị đồng chí gửi báo cáo."
    elif kind == DIRECTION_DUE:
        due = str(p.get("due_on", ""))
        when = ".".join(reversed(due.split("-"))).replace(".", "/")
        subject = (f"[thaogo] Hôm nay là hạn thực hiện ý kiến chỉ đạo ({when})"
                   if p.get("which") == "due" else
                   f"[thaogo] Nhắc: ý kiến chỉ đạo đến hạn ngày {when}")
        text = (f"Ý kiến chỉ đạo của Tổ trưởng {p.get('by')}, hạn {when}:\n{p.get('body')}\n"
                "Đề nghị cập nhật tiến độ thực hiện trong không gian làm việc.")
    elif kind == WEEKLY_MISSING:
        missing = p.get("missing") or []
        names = "\n".join(f"- {m['name']} ({m['title']})" for m in missing) or "(không có)"
        subject = (f"[thaogo] Thành viên chưa báo cáo tuần {p.get('week_label')}:"
                   f" {len(missing)}")
        text = f"Danh sách thành viên chưa nộp báo cáo tuần {p.get('week_label')}:\n{names}"
    elif kind == WEEKLY_REPORT and p.get("final"):
        subject = "[thaogo] Báo cáo tổng kết nhiệm vụ của Tổ công tác"
        text = (f"Tổ công tác đã giải thể; báo cáo tổng kết toàn bộ thời gian hoạt động đã"
                f" sẵn sàng: {p.get('url')}\nHồ sơ còn mở bàn giao: {p.get('handed_over')}.")
    elif kind == INTERIM_REPORT:
        subject = f"[thaogo] Báo cáo đột xuất tuần {p.get('week_label')}: {code}"
        text = (f"Báo cáo đột xuất (chưa phải báo cáo tổng hợp tuần {p.get('week_label')}):"
                f" khó khăn khẩn mã {code} tiếp nhận lúc {_fmt(p.get('received_at'))}.\n"
                f"{p.get('title')}\nXem: {p.get('url')}")
    elif kind == SIGN_IN:
        subject = "[thaogo] Đường dẫn đăng nhập / Sign-in link"
        text = (f"Đường dẫn đăng nhập thaogo của đồng chí (dùng một lần, hết hạn lúc"
                f" {_fmt(p.get('expires_at'))}):\n{p.get('url')}\n\n"
                "Your thaogo sign-in link (works once, expires at the time above).\n"
                "Nếu đồng chí không yêu cầu, hãy bỏ qua thư này. / If you did not ask for it,"
                " ignore this mail.")
        body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line)
        link = html.escape(str(p.get("url")), quote=True)
        body += f'<p><a href="{link}">Đăng nhập / Sign in</a></p>'
        return Rendered(subject=subject, text=text, html=(
            f'<!doctype html><html lang="vi"><meta charset="utf-8"><body>{body}</body></html>'))
    elif kind == WEEKLY_REPORT:
        subject = f"[thaogo] Báo cáo tổng hợp tuần {p.get('week_label')}"
        text = (f"Báo cáo tổng hợp tuần {p.get('week_label')} đã sẵn sàng: {p.get('url')}\n"
                f"Việc khẩn: {p.get('urgent_items')}; thành viên chưa báo cáo:"
                f" {p.get('members_missing')}.")
    else:
        subject, text = f"[thaogo] {kind}", str(dict(p))
    body = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
    if url := p.get("url"):
        body += f'<p><a href="{html.escape(str(url), quote=True)}">{link_label}</a></p>'
    page = f'<!doctype html><html lang="vi"><meta charset="utf-8"><body>{body}</body></html>'
    return Rendered(subject=subject, text=text, html=page)
