"""The public view of a province (#25 item 2), `/public/{province}`: no sign-in, for the
province's portal to link to. Counts of the week by category, zone type, agency and
outcome, each agency's on-time share, and the escalations to central ministries with the
letters that answered them; never a business's name, tax code, contact, words or
tracking code, and no group of fewer than three businesses (logic.suppress_tables). The
same as JSON at `/public/{province}.json` (api.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.reporting import document, logic
from services.reporting.api import PROVINCE_PATTERN, WEEK_PATTERN, Side, cached, load_public
from services.reporting.pages.common import PAGE, Lang, env
from shared.errors import responses

router = APIRouter(tags=["pages"])

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Tình hình tháo gỡ khó khăn cho doanh nghiệp", "other_lang": "English",
        "week": "Tuần", "show": "Xem", "fewer": "ẩn*",
        "about": "Số liệu tổng hợp theo tuần, đã chốt và công bố. Để không ai nhận ra doanh "
                 "nghiệp nào, không hiển thị số của nhóm dưới 3 doanh nghiệp.",
        "legend": "* ẩn: nhóm dưới 3 doanh nghiệp, hoặc ô được ẩn thêm để không suy ra "
                  "được nhóm dưới 3 bằng phép trừ.",
        "outcomes": "Kết quả trong tuần", "received": "Tiếp nhận", "resolved": "Đã giải quyết",
        "rejected": "Từ chối", "open": "Đang xử lý", "total": "Tổng",
        "by_category": "Theo lĩnh vực", "by_zone_type": "Theo loại khu",
        "by_agency": "Theo cơ quan chủ trì", "category": "Lĩnh vực", "zone_type": "Loại khu",
        "agency": "Cơ quan",
        "on_time": "Tỷ lệ đúng hạn của các cơ quan",
        "on_time_note": "Mục tiêu của tỉnh: {target}% hồ sơ giải quyết đúng hạn.",
        "resolve_measured": "Hồ sơ đến hạn giải quyết", "resolved_pct": "Giải quyết đúng hạn",
        "ack_measured": "Hồ sơ đến hạn tiếp nhận", "ack_pct": "Tiếp nhận đúng hạn",
        "central": "Kiến nghị chuyển Bộ, ngành Trung ương và trả lời",
        "central_note": "Tính đến hết tuần; chỉ nêu số lượng và văn bản trả lời.",
        "ministry": "Bộ, ngành", "sent": "Đã chuyển", "answered": "Đã trả lời",
        "letters": "Văn bản trả lời", "none": "Không có.", "letter": "Văn bản số {n} ngày {d}",
    },
    "en": {
        "title": "Resolving businesses' difficulties", "other_lang": "Tiếng Việt",
        "week": "Week", "show": "Show", "fewer": "hidden*",
        "about": "Weekly figures, as published. So that no business can be told apart, no "
                 "group of fewer than 3 businesses shows its number.",
        "legend": "* hidden: fewer than 3 businesses, or hidden as well so that a group of "
                  "fewer than 3 cannot be worked out by subtraction.",
        "outcomes": "Outcomes of the week", "received": "Received", "resolved": "Resolved",
        "rejected": "Rejected", "open": "Open", "total": "Total",
        "by_category": "By field", "by_zone_type": "By zone type",
        "by_agency": "By lead agency", "category": "Field", "zone_type": "Zone type",
        "agency": "Agency",
        "on_time": "Agencies' on-time shares",
        "on_time_note": "The province's target: {target}% resolved on time.",
        "resolve_measured": "Due to be resolved", "resolved_pct": "Resolved on time",
        "ack_measured": "Due to be acknowledged", "ack_pct": "Acknowledged on time",
        "central": "Escalations to central ministries and their answers",
        "central_note": "As of the week's end; counts and answering letters only.",
        "ministry": "Ministry", "sent": "Escalated", "answered": "Answered",
        "letters": "Answering letters", "none": "None.", "letter": "Letter {n} of {d}",
    },
}


@router.get("/public/{province}", response_class=Response,
            summary="A province's week for the public (no sign-in, cacheable)",
            responses={**PAGE, **responses(404, 422, 429),
                       304: {"description": "Not modified (ETag)"}})
async def public_page(
    side: Side, request: Request,
    province: Annotated[str, Path(pattern=PROVINCE_PATTERN)],
    week: Annotated[str | None, Query(pattern=WEEK_PATTERN)] = None,
    lang: Lang = "vi",
) -> Response:
    cfg, view = await load_public(side, province, week)
    t = TEXT[lang]
    en = lang == "en"

    def shown(n: Any, pct: bool = False) -> str:
        if n == logic.SUPPRESSED:
            return t["fewer"]
        if n is None:
            return "—"
        if pct:
            return (f"{n:.1f}%" if en else f"{n:.1f}".replace(".", ",") + "%")
        return str(n)

    other = "en" if lang == "vi" else "vi"
    html = env.get_template("public.html").render(
        t=t, lang=lang, view=view, en=en, shown=shown,
        name=lambda x: x.name_en if en else x.name_vi,
        province_name=view.province_name_en if en else view.province_name_vi,
        phrase=lambda label: document.week_phrase(label, lang),
        switch=f"/public/{cfg.slug}?lang={other}&week={view.week_label}",
        json_url=f"/public/{cfg.slug}.json?week={view.week_label}",
        date=lambda d: d.strftime("%d/%m/%Y"),
    )
    return cached(request, html.encode("utf-8"), "text/html; charset=utf-8")
