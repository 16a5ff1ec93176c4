"""The letter (công văn) passing an escalated difficulty to its central ministry (#22 item
6), in the form of Decree 30/2020/NĐ-CP, as the document model the renderers lay out."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.reporting.document.model import Block, OfficialReport, Paragraph, Section
from services.reporting.document.words import decree_date, local_date, nfc
from shared.provinces import ProvinceConfig


def letter_symbol(doc_symbol: str) -> str:
    """A letter's symbol is the issuing body's abbreviation alone (Decree 30/2020, Appendix
    III): the report's "BC-TCT" without its kind, "TCT"."""
    return doc_symbol.split("-", 1)[1] if "-" in doc_symbol else doc_symbol


def central_letter(cfg: ProvinceConfig, case: dict[str, Any], *, ministry_name: str,
                   lead_names: list[str], today: date) -> OfficialReport:
    """The letter (công văn) passing an escalated difficulty to its ministry, for the
    permanent deputy to sign on behalf of the head: the submission (its title and what
    the business wrote), what the province did and why it is beyond its authority, and
    the answer asked for by the deadline. The number and date are the registered ones;
    before registration they are left blank for the clerk, as on an unsigned draft."""
    tf, doc = cfg.task_force, cfg.task_force.document
    payload = case["payload"]
    escalation = case["escalation"] or {}
    ministry = case["ministry"] or {}
    code = case["tracking_code"]
    if case["letter_number"]:
        number = f"Số: {case['letter_number']}"
        dated: date | None = case["letter_date"]
    else:
        number = f"Số:       /{letter_symbol(doc.symbol)}"
        dated = None
    place = nfc(doc.place or cfg.province.name_vi)
    place_date = (f"{place}, {decree_date(dated)}" if dated
                  else f"{place}, ngày      tháng      năm {today.year}")
    received = local_date(case["received_at"])
    business = (f"{nfc(payload.get('enterprise_name', ''))} (mã số thuế "
                f"{payload.get('tax_code', '')})")
    intro = (f"Ngày {received:%d/%m/%Y}, {nfc(tf.name_vi)} tiếp nhận phản ánh, kiến nghị của "
             f"{business}, mã hồ sơ {code}, về việc: {nfc(case['title'])}. Qua xem xét, nội "
             f"dung kiến nghị vượt thẩm quyền giải quyết của địa phương; {nfc(tf.name_vi)} "
             f"kính chuyển {ministry_name} xem xét, giải quyết theo thẩm quyền.")
    content: list[Block] = [Paragraph(nfc(str(payload.get("description", ""))))]
    handled: list[Block] = []
    if lead_names:
        handled.append(Paragraph(f"Cơ quan chủ trì xử lý tại địa phương: "
                                 f"{', '.join(lead_names)}."))
    if escalation.get("done"):
        handled.append(Paragraph(f"Kết quả xử lý: {nfc(escalation['done'])}"))
    if escalation.get("legal_basis"):
        handled.append(Paragraph(f"Căn cứ: {nfc(escalation['legal_basis'])}."))
    if escalation.get("reason"):
        handled.append(Paragraph(f"Lý do vượt thẩm quyền: {nfc(escalation['reason'])}"))
    if escalation.get("public_answer"):
        handled.append(Paragraph("Nội dung đã thông tin cho doanh nghiệp: "
                                 f"{nfc(escalation['public_answer'])}"))
    due = ministry.get("resolve_due_at")
    rule = cfg.deadlines.central
    days = "ngày làm việc" if rule.days.value == "working" else "ngày"
    ask = (f"Đề nghị {ministry_name} xem xét, trả lời doanh nghiệp và {nfc(tf.name_vi)} trong "
           f"thời hạn {rule.answer} {days}"
           + (f" (trước ngày {local_date(due):%d/%m/%Y})" if due else "")
           + f"; trường hợp chưa thể trả lời, đề nghị thông tin tiến độ xử lý định kỳ "
             f"{rule.progress_every} {days} một lần.")
    sections = (
        Section("1. Nội dung kiến nghị của doanh nghiệp", tuple(content), level=2),
        Section("2. Kết quả xử lý tại địa phương", tuple(handled) or (
            Paragraph("Không có."),), level=2),
        Section("3. Đề nghị", (Paragraph(ask),), level=2),
    )
    deputy = tf.permanent_deputy
    return OfficialReport(
        parent_body=nfc(doc.parent_body.upper()) if doc.parent_body else None,
        issuing_body=nfc(tf.name_vi.upper()),
        number=number,
        place_date=place_date,
        kind="",
        title=f"V/v kiến nghị của doanh nghiệp, hồ sơ {code}",
        sections=(Section("", (Paragraph(intro),), level=2), *sections),
        closing=f"{nfc(tf.name_vi)} trân trọng đề nghị {ministry_name} quan tâm, giải quyết./.",
        recipients=("Như trên", f"{nfc(tf.head.name)}, Tổ trưởng (để b/c)",
                    *(f"{n} (để biết)" for n in lead_names), "Lưu: VT"),
        signer_title=f"KT. {nfc(doc.signer_title.upper())}\nTỔ PHÓ THƯỜNG TRỰC",
        signer_name=nfc(deputy.name),
        file_stem=f"cong-van-{code}",
        keywords=(cfg.province.name_vi, code, ministry_name),
        subject=f"V/v kiến nghị của doanh nghiệp\n(hồ sơ {code})",
        addressee=ministry_name,
    )
