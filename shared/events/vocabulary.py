"""The closed vocabularies events speak in, with their Vietnamese and English labels."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints

from shared import topics

# --- closed vocabularies (with Vietnamese and English labels) -----------------


class ZoneType(StrEnum):
    KCN = "KCN"  # khu công nghiệp, industrial park
    KKT = "KKT"  # khu kinh tế, economic zone
    CCN = "CCN"  # cụm công nghiệp, industrial cluster
    NONE = "NONE"  # ngoài khu, cụm công nghiệp


ZONE_TYPE_LABELS: dict[ZoneType, tuple[str, str]] = {
    ZoneType.KCN: ("Khu công nghiệp", "Industrial park"),
    ZoneType.KKT: ("Khu kinh tế", "Economic zone"),
    ZoneType.CCN: ("Cụm công nghiệp", "Industrial cluster"),
    ZoneType.NONE: ("Ngoài khu, cụm công nghiệp", "Outside parks and clusters"),
}


class Category(StrEnum):
    RAW_MATERIALS = "raw_materials"
    GOODS_TRANSPORT = "goods_transport"
    PRODUCTION_PLAN = "production_plan"
    LABOUR = "labour"
    HEALTH_SAFETY = "health_safety"
    FINANCE_CREDIT = "finance_credit"
    SOCIAL_SECURITY = "social_security"
    TAX = "tax"
    EXPORT_MARKET = "export_market"
    ADMIN_PROCEDURE = "admin_procedure"
    INVESTMENT_PROJECT = "investment_project"
    LAND_CONSTRUCTION = "land_construction"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, tuple[str, str]] = {
    Category.RAW_MATERIALS: ("Nguyên liệu sản xuất, chuỗi cung ứng", "Raw materials, supply chain"),
    Category.GOODS_TRANSPORT: ("Lưu thông hàng hóa, vận tải", "Moving goods, transport permits"),
    Category.PRODUCTION_PLAN: (
        "Phương án sản xuất (3 tại chỗ, an toàn)",
        "Production plans (3 on-site, safe production)",
    ),
    Category.LABOUR: ("Lao động", "Labour"),
    Category.HEALTH_SAFETY: ("Y tế, phòng chống dịch", "Health and epidemic safety"),
    Category.FINANCE_CREDIT: ("Tài chính, tín dụng", "Finance and credit"),
    Category.SOCIAL_SECURITY: ("An sinh xã hội, bảo hiểm", "Social security, insurance"),
    Category.TAX: ("Thuế", "Tax"),
    Category.EXPORT_MARKET: ("Thị trường xuất khẩu, FTA", "Export markets, FTAs"),
    Category.ADMIN_PROCEDURE: ("Thủ tục hành chính", "Administrative procedures"),
    Category.INVESTMENT_PROJECT: ("Dự án đầu tư", "Investment projects"),
    Category.LAND_CONSTRUCTION: ("Đất đai, xây dựng", "Land and construction"),
    Category.OTHER: ("Khác", "Other"),
}


class Kind(StrEnum):
    DIFFICULTY = "difficulty"  # khó khăn, vướng mắc
    RECOMMENDATION = "recommendation"  # kiến nghị


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"  # đột xuất


class UrgencySource(StrEnum):
    """Who marked a difficulty urgent. A business's own flag reaches its lead agency at
    once but wakes the head and the permanent deputy only once an officer or a member
    confirms it (`DifficultyUrgencyConfirmed`); a member's or operator's is vouched for."""

    BUSINESS = "business"
    MEMBER = "member"  # a task-force member filed it (an import)
    OPERATOR = "operator"  # filed on the task force's behalf (an import)


class Status(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    REJECTED = "rejected"
    REASSIGN_REQUESTED = "reassign_requested"
    # Closed by the permanent deputy as a duplicate of another difficulty of the same task
    # force (`merged_into` on its event), which carries on for both businesses.
    MERGED = "merged"


STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.RECEIVED: ("Đã tiếp nhận", "Received"),
    Status.ASSIGNED: ("Đã chuyển cơ quan xử lý", "Assigned"),
    Status.ACKNOWLEDGED: ("Cơ quan đã nhận", "Acknowledged"),
    Status.IN_PROGRESS: ("Đang xử lý", "In progress"),
    Status.RESOLVED: ("Đã giải quyết", "Resolved"),
    Status.ESCALATED: ("Đã chuyển cấp trên", "Escalated"),
    Status.REJECTED: ("Từ chối", "Rejected"),
    Status.REASSIGN_REQUESTED: ("Đề nghị chuyển cơ quan khác", "Reassignment requested"),
    Status.MERGED: ("Đã gộp vào phản ánh trùng", "Merged as a duplicate"),
}


class Step(StrEnum):
    """Where one assignment stands: each agency or member moves its own part."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    DONE = "done"  # its part is done, saying what was done
    DECLINED = "declined"  # "not ours", with the reason
    # A question put to the business: the assignment's clock stands still until the
    # business answers on its tracking page (its answer puts the part back in progress).
    NEED_INFO = "need_info"


STEP_LABELS: dict[Step, tuple[str, str]] = {
    Step.ACKNOWLEDGED: ("Đã tiếp nhận", "Acknowledged"),
    Step.IN_PROGRESS: ("Đang xử lý", "In progress"),
    Step.DONE: ("Đã xong phần việc", "Done"),
    Step.DECLINED: ("Không thuộc thẩm quyền", "Declined (not ours)"),
    Step.NEED_INFO: ("Chờ doanh nghiệp bổ sung thông tin", "Waiting for the business"),
}

# What a status event that names an assignment but no step (events before steps existed,
# and the status API's) did to that assignment: the same rule for every reader.
STEP_OF_STATUS: dict[Status, Step] = {
    Status.ACKNOWLEDGED: Step.ACKNOWLEDGED,
    Status.IN_PROGRESS: Step.IN_PROGRESS,
    Status.RESOLVED: Step.DONE,
    Status.REJECTED: Step.DONE,
    Status.ESCALATED: Step.DONE,
    Status.REASSIGN_REQUESTED: Step.DECLINED,
}


class Outcome(StrEnum):
    """How the lead closed (or passed up) a difficulty."""

    RESOLVED = "resolved"  # đã giải quyết
    PARTLY_RESOLVED = "partly_resolved"  # giải quyết một phần
    ESCALATED = "escalated"  # beyond provincial authority: passed to central level
    REJECTED = "rejected"  # out of scope, with the reason


OUTCOME_LABELS: dict[Outcome, tuple[str, str]] = {
    Outcome.RESOLVED: ("Đã giải quyết", "Resolved"),
    Outcome.PARTLY_RESOLVED: ("Đã giải quyết một phần", "Partly resolved"),
    Outcome.ESCALATED: ("Vượt thẩm quyền tỉnh, đã kiến nghị cấp trên",
                        "Beyond provincial authority, escalated"),
    Outcome.REJECTED: ("Không thuộc phạm vi xử lý", "Out of scope, rejected"),
}

# The difficulty's status an outcome leaves it in.
OUTCOME_STATUS: dict[Outcome, Status] = {
    Outcome.RESOLVED: Status.RESOLVED,
    Outcome.PARTLY_RESOLVED: Status.RESOLVED,
    Outcome.ESCALATED: Status.ESCALATED,
    Outcome.REJECTED: Status.REJECTED,
}


class AgencyLevel(StrEnum):
    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"
    TASK_FORCE = "task_force"  # the permanent deputy's triage queue, the head


class AssignmentRole(StrEnum):
    LEAD = "lead"  # chủ trì
    CO_HANDLER = "co_handler"  # phối hợp
    TRIAGE = "triage"  # the permanent deputy's queue: could not be routed
    ESCALATION = "escalation"  # moved up a level
    MEMBER = "member"  # a task-force member responsible by field and area


class ActorKind(StrEnum):
    AGENCY = "agency"
    MEMBER = "member"
    OPERATOR = "operator"
    SYSTEM = "system"
    BUSINESS = "business"  # on its tracking page, by tracking code and tax code


AgencyId = Annotated[str, StringConstraints(pattern=topics.AGENCY_ID_PATTERN, max_length=120)]
ShortText = Annotated[str, StringConstraints(max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
ChainHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]  # SHA-256, hex
