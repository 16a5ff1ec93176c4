"""Realistic demo submissions drawn from the seed articles (2021): Bình Dương,
Thanh Hóa, Ninh Bình, Tiền Giang and Hà Nội, one per zone type and more."""

from __future__ import annotations

from typing import Any

from stdnum.vn import mst


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
