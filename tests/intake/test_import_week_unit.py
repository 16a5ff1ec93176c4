"""Pure parts of bulk import, the dissolved task force and a member's week. No I/O."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from services.intake import bulk, logic, usecases
from services.intake.models import ContactIn, DifficultyIn
from shared import vn
from shared.calendar import TZ, week_window
from shared.events import Category, Status, Urgency, UrgencySource
from shared.provinces import ConfigHolder, Deadlines
from tests.intake.conftest import dissolved_config
from thaogo.demo import tax_code

VI_HEADER = ("Mã số thuế,Tên doanh nghiệp,Tỉnh/Thành phố,Loại khu,Tên khu,Lĩnh vực,Tiêu đề,"
             "Nội dung,Người liên hệ,Điện thoại,Email,Số lao động\n")


def vi_row(n: int, **cells: str) -> str:
    values = {"mst": tax_code(5000 + n), "name": f"Công ty {n}", "province": "binh duong",
              "zone_type": "Khu công nghiệp", "zone": "VSIP II", "category": "Thuế",
              "title": "Vướng hoàn thuế", "description": "Chậm hoàn thuế GTGT, dòng 2",
              "contact": "Lê Văn B", "phone": "0912345678", "email": "b@example.vn",
              "employees": "120"}
    values.update(cells)
    return ",".join(f'"{v}"' for v in values.values()) + "\n"


def test_vietnamese_headers_and_labels_read_as_api_fields() -> None:
    data = ("\ufeff" + VI_HEADER + vi_row(1) + ",,,,,,,,,,,\n" + vi_row(2, category="tax"))
    rows = bulk.read(data.encode(), max_rows=10)
    assert [r.number for r in rows] == [2, 4]  # the blank row 3 is skipped, not renumbered
    sub = rows[0].submission
    assert sub["tax_code"] == tax_code(5001) and sub["zone_type"] == "KCN"
    assert sub["category"] == "tax" and rows[1].submission["category"] == "tax"
    assert sub["contact"] == {"name": "Lê Văn B", "phone": "0912345678",
                              "email": "b@example.vn"}
    # The same model a JSON request goes through accepts it.
    body = usecases.parse_submission(sub)
    assert body.employees == 120 and body.zone_type == "KCN"


def test_english_headers_dotted_or_underscored() -> None:
    data = ("tax_code,enterprise_name,province,category,title,description,contact_name,"
            "Contact.Phone,URGENCY\n"
            f"{tax_code(9)},ACME,79,labour,T,D,An,0912345678,Khẩn\n")
    (row,) = bulk.read(data.encode(), max_rows=10)
    assert row.submission["contact"] == {"name": "An", "phone": "0912345678"}
    assert row.submission["urgency"] == "urgent"


@pytest.mark.parametrize(("data", "needle"), [
    (b"\xff\xfeM\x00", "UTF-8"),
    (b"", "empty"),
    ("tax_code,Tên doanh nghiệp,Ghi chú\n".encode(), "Ghi chú"),
    (b"tax_code,MST,province\n", "repeats"),
    (b"tax_code,province\n", "missing column"),
])
def test_a_file_that_cannot_be_read_is_refused_whole(data: bytes, needle: str) -> None:
    with pytest.raises(bulk.FileRefused) as e:
        bulk.read(data, max_rows=10)
    assert e.value.problem.field == "file" and e.value.status == 422
    assert needle in e.value.problem.reason_en + e.value.problem.reason_vi


def test_rows_over_the_limit_are_413_and_extra_cells_refuse_the_row() -> None:
    with pytest.raises(bulk.FileRefused) as e:
        bulk.read((VI_HEADER + vi_row(1) * 3).encode(), max_rows=2)
    assert e.value.status == 413
    (row,) = bulk.read((VI_HEADER + vi_row(1).rstrip() + ',"surplus"\n').encode(), max_rows=2)
    assert [p.field for p in row.problems] == ["row"]


def test_a_row_taken_in_before_it_was_imported_is_received_on_its_day() -> None:
    """The register kept before thaogo: "Ngày tiếp nhận" dates the receipt (08:00 local
    that day, deadlines running from it; today: now); never in the future, never before
    the task force took office (Bình Dương: 16/07/2021), and a date it can read."""
    header = VI_HEADER.rstrip("\n") + ",Ngày tiếp nhận\n"
    now = datetime(2026, 12, 7, 10, 30, tzinfo=TZ)
    cells = ["16/11/2026", "2026-11-20", "07/12/2026", "08/12/2026", "15/07/2021", "hôm qua"]
    data = (header + "".join(vi_row(n).rstrip("\n") + f',"{c}"\n'
                             for n, c in enumerate(cells, 1))).encode()
    out = usecases.prepare_import(data, configs=ConfigHolder().current, now=now, max_rows=10,
                                  filed_by=UrgencySource.OPERATOR)
    got = [r.event.data.received_at if isinstance(r, usecases.ImportedRow)
           else {p.field for p in r.problems} for r in out]
    assert got[:3] == [datetime(2026, 11, 16, 8, tzinfo=TZ), datetime(2026, 11, 20, 8, tzinfo=TZ),
                       now]
    assert got[3:] == [{"received_on"}] * 3
    imported = out[0]
    assert isinstance(imported, usecases.ImportedRow)
    assert imported.event.time > imported.event.data.received_at  # recorded when imported
    refused = out[4]
    assert isinstance(refused, usecases.RefusedRow)
    assert "16/07/2021" in refused.problems[0].reason_vi


def test_prepare_import_validates_each_row_like_a_single_submission() -> None:
    bad_tax = tax_code(7)[:-1] + str((int(tax_code(7)[-1]) + 1) % 10)
    data = (VI_HEADER + vi_row(1) + vi_row(2, mst=bad_tax) + vi_row(3, province="Gotham",
            email="not-an-email") + vi_row(4, category="Thời tiết")).encode()
    now = datetime(2026, 11, 18, 10, tzinfo=TZ)
    out = usecases.prepare_import(data, configs=ConfigHolder().current, now=now, max_rows=10,
                                  filed_by=UrgencySource.MEMBER)
    assert isinstance(out[0], usecases.ImportedRow)
    assert out[0].event.data.province_code == "79" and out[0].event.data.received_at == now
    assert out[0].event.data.urgency_source is UrgencySource.MEMBER
    assert out[0].event.data.received_at.utcoffset() == timedelta(0)
    refused = {r.number: {p.field for p in r.problems}
               for r in out if isinstance(r, usecases.RefusedRow)}
    # Row 4 fails the model (e-mail) and its province is reported with it.
    assert refused == {3: {"tax_code"}, 4: {"contact.email", "province"}, 5: {"category"}}


def test_a_dissolved_task_force_refuses_from_its_date(tmp_path: Path) -> None:
    configs = ConfigHolder(dissolved_config(tmp_path, "binh-duong", date(2026, 6, 30))).current
    received = DifficultyIn(
        tax_code=tax_code(1), enterprise_name="A", province="Bình Dương",
        category=Category.TAX, title="T", description="D", contact=ContactIn(name="An"),
    ).received(difficulty_id=uuid.uuid4(), code="TG-0000-0000", now=datetime.now(TZ))
    logic.check_task_force_open(configs, received, date(2026, 6, 29))
    with pytest.raises(logic.TaskForceDissolved) as e:
        logic.check_task_force_open(configs, received, date(2026, 6, 30))
    assert e.value.field == "province"
    assert "30/06/2026" in e.value.reason_vi and "Cổng dịch vụ công" in e.value.reason_vi
    assert "public service portal" in e.value.reason_en
    # Another province sharing today's code (79) is not affected.
    hcm = received.model_copy(update={"task_force": vn.resolve_province("TP HCM")
                                       .task_force_slug})
    logic.check_task_force_open(configs, hcm, date(2026, 7, 1))


def item(*, status: Status = Status.ASSIGNED, received: datetime, handling: datetime | None,
         changed: datetime | None = None, acked: datetime | None = None) -> logic.AssignedItem:
    return logic.AssignedItem(
        difficulty_id=uuid.uuid4(), tracking_code="TG-0000-0000", title="t", category="tax",
        status=status, urgency=Urgency.NORMAL, received_at=received, assigned_at=received,
        status_changed_at=changed, handling_assigned_at=handling, acknowledged_at=acked)


def test_member_week_sorts_open_overdue_and_resolved_with_the_shared_deadline_rule() -> None:
    now = datetime(2026, 11, 18, 10, tzinfo=TZ)  # Wednesday of 2026-W47's window
    window = week_window(now)
    long_ago = now - timedelta(days=30)
    items = [
        item(received=now - timedelta(hours=2), handling=now - timedelta(hours=1)),
        item(received=long_ago, handling=long_ago, status=Status.IN_PROGRESS, acked=long_ago),
        item(received=long_ago, handling=None),  # no handler yet: no deadline
        item(received=now - timedelta(days=3), handling=now - timedelta(days=3),
             status=Status.RESOLVED, changed=now - timedelta(hours=3)),
        item(received=long_ago, handling=long_ago, status=Status.RESOLVED,
             changed=window.start - timedelta(hours=1)),  # resolved last week
    ]
    week = logic.member_week(items, now=now, deadlines=Deadlines())
    assert week.window == window
    assert week.figures == {"received": 2, "resolved": 1, "open": 3, "overdue": 1}
    assert [v.item for v in week.overdue] == [items[1]]
    assert week.open[0].resolve_due_at is not None and week.open[2].resolve_due_at is None
    en, vi = logic.draft_summary(week.figures, window.label)
    assert "received 2" in en and "quá hạn 1" in vi
