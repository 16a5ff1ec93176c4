"""What intake's pages share: the templates, the words in both languages, the page's
language, the workspace forms' session and CSRF check, and the one `pages` router every
page module adds its routes to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared import vn
from shared.errors import Refusal, language

TEMPLATES = Path(__file__).parent.parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True,
)


TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Gửi phản ánh khó khăn, vướng mắc, kiến nghị",
        "intro": "Doanh nghiệp điền thông tin dưới đây. Sau khi gửi, doanh nghiệp nhận được "
                 "mã hồ sơ để theo dõi.",
        "other_lang": "English", "other_code": "en",
        "enterprise": "Doanh nghiệp", "matter": "Nội dung phản ánh", "contact": "Người liên hệ",
        "tax_code": "Mã số thuế", "tax_code_hint": "10 chữ số, hoặc 13 chữ số cho chi nhánh",
        "enterprise_name": "Tên doanh nghiệp", "province": "Tỉnh/Thành phố",
        "zone_type": "Loại khu", "zone_name": "Tên khu, cụm công nghiệp",
        "category": "Lĩnh vực", "kind": "Loại phản ánh", "title_field": "Tiêu đề",
        "description": "Nội dung chi tiết", "urgency": "Mức độ",
        "contact.name": "Họ tên", "contact.phone": "Điện thoại", "contact.email": "Email",
        "employees": "Số lao động", "sector": "Ngành nghề", "ward": "Phường/Xã",
        "district": "Quận/Huyện (cũ)", "choose": "— Chọn —", "submit": "Gửi phản ánh",
        "errors": "Chưa gửi được: vui lòng sửa các mục được đánh dấu.",
        "done": "Đã tiếp nhận phản ánh", "tracking_code": "Mã hồ sơ",
        "difficulty_id": "Mã định danh", "keep": "Vui lòng ghi lại mã hồ sơ để tra cứu, "
        "trao đổi với Tổ công tác.", "again": "Gửi phản ánh khác", "required": "bắt buộc",
        "track": "Theo dõi hồ sơ trên trang tra cứu",
        "contact_title": "Người liên hệ của doanh nghiệp", "contact_back": "Về hồ sơ",
        "contact_not_yours": "Thông tin liên hệ chỉ dành cho cơ quan chủ trì và Tổ phó "
                             "Thường trực.",
        "files": "Tài liệu đính kèm",
        "files_hint": "Tài liệu PDF hoặc ảnh PNG, JPEG, WebP; tối đa {n} tệp, mỗi tệp tối đa "
                      "{mb} MB. Nếu phải sửa thông tin, vui lòng chọn lại tệp.",
    },
    "en": {
        "title": "Report a difficulty or a recommendation",
        "intro": "Fill in the form below. Once it is sent you receive a tracking code.",
        "other_lang": "Tiếng Việt", "other_code": "vi",
        "enterprise": "Business", "matter": "The difficulty", "contact": "Contact person",
        "tax_code": "Tax code", "tax_code_hint": "10 digits, or 13 for a branch",
        "enterprise_name": "Business name", "province": "Province or city",
        "zone_type": "Zone type", "zone_name": "Park or cluster name",
        "category": "Category", "kind": "Kind", "title_field": "Title",
        "description": "Description", "urgency": "Urgency",
        "contact.name": "Name", "contact.phone": "Phone", "contact.email": "E-mail",
        "employees": "Employees", "sector": "Sector", "ward": "Ward or commune",
        "district": "District (former)", "choose": "— Choose —", "submit": "Send",
        "errors": "Not sent yet: please correct the fields marked below.",
        "done": "Your report was received", "tracking_code": "Tracking code",
        "difficulty_id": "Id", "keep": "Please keep the tracking code to follow up with "
        "the task force.", "again": "Report another difficulty", "required": "required",
        "track": "Follow your report on its tracking page",
        "contact_title": "The business's contact person", "contact_back": "Back to the case",
        "contact_not_yours": "The contact details are for the lead agency and the permanent "
                             "deputy only.",
        "files": "Attached documents",
        "files_hint": "PDF documents or PNG, JPEG, WebP images; at most {n} files of {mb} MB "
                      "each. If the form must be corrected, please choose the files again.",
    },
}


def page_language(request: Request, chosen: str | None = None) -> str:
    """?lang= (or the form's hidden lang) first, then Accept-Language; Vietnamese by default."""
    wanted = chosen if chosen is not None else request.query_params.get("lang")
    if wanted in TEXT:
        return wanted
    return language(request.headers)


pages = APIRouter(include_in_schema=False)


# --- the workspace's forms -------------------------------------------------------------------
# Reporting serves the workspace pages (it holds the read model); their forms post here,
# to the command side under /workspace/act/ (the path a one-origin proxy sends to
# intake), with the sign-in session's cookie (cookies ignore ports, so
# `thaogo up` works as one site) and the page's CSRF value. Intake answers by sending the
# browser back to the page, saying what was done or what was refused.

WorkspaceForm = Annotated[str, Form(max_length=100)]


def refusal_text(e: Refusal | vn.InvalidField, lang: str) -> dict[str, str]:
    return {"field": e.field, "refused": e.reason_vi if lang == "vi" else e.reason_en}
