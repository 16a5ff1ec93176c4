"""Policy bottlenecks, intake's pure rules (#25 item 1): which items may be merged, into
a bottleneck for which ministry."""

from __future__ import annotations

import uuid

import pytest

from services.intake import logic
from services.intake.usecases import bottlenecks
from shared import vn
from shared.provinces import ConfigHolder

CFG = ConfigHolder().current["binh-duong"]
A, B, C = (uuid.UUID(int=n) for n in (1, 2, 3))


def test_two_to_five_hundred_items_each_once_in_the_order_given() -> None:
    assert logic.bottleneck_members([B, A, B]) == [B, A]
    for few in ([A], [A, A], []):
        with pytest.raises(vn.InvalidField) as e:
            logic.bottleneck_members(few)
        assert e.value.field == "difficulty_ids"
    with pytest.raises(vn.InvalidField):
        logic.bottleneck_members([uuid.UUID(int=n) for n in range(501)])


def test_only_open_items_of_the_task_force_in_no_bottleneck_yet() -> None:
    found = {A: ("binh-duong", "assigned", None), B: ("binh-duong", "in_progress", None)}
    logic.check_mergeable([A, B], found, "binh-duong")
    with pytest.raises(vn.InvalidField, match=str(C)):  # not found: not the deputy's
        logic.check_mergeable([A, C], found, "binh-duong")
    with pytest.raises(vn.InvalidField, match=str(B)):  # another task force's
        logic.check_mergeable([A, B], {**found, B: ("thanh-hoa", "assigned", None)},
                              "binh-duong")
    with pytest.raises(logic.MergeConflict, match=str(B)):
        logic.check_mergeable([A, B], {**found, B: ("binh-duong", "resolved", None)},
                              "binh-duong")
    with pytest.raises(logic.MergeConflict, match="already merged"):
        logic.check_mergeable([A, B], {**found, A: ("binh-duong", "assigned", C)},
                              "binh-duong")


def test_a_bottleneck_goes_to_a_central_ministry_of_the_configuration() -> None:
    assert logic.central_ministry(CFG, " central.bo-tai-chinh ") == "central.bo-tai-chinh"
    for not_central in ("binh-duong.bql-kcn", "central.no-such-ministry", ""):
        with pytest.raises(vn.InvalidField) as e:
            logic.central_ministry(CFG, not_central)
        assert e.value.field == "ministry_id"


def test_the_documents_cited_most_cited_first_one_key_however_written() -> None:
    assert bottlenecks.documents_cited([
        "Theo Nghị định 123/2020/NĐ-CP và Thông tư 78/2021/TT-BTC",
        "nghi dinh so 123/2020/ND-CP", "Không viện dẫn văn bản nào", "NĐ 123/2020",
    ]) == ["123/2020/ND-CP", "78/2021/TT-BTC"]
