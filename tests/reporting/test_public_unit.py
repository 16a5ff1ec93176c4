"""The public view's suppression rules (logic.suppress_tables, public_share, public_central):
no count of one or two businesses is shown, and none can be worked out from the others."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Mapping
from datetime import date

from services.reporting import logic
from services.reporting.logic import SUPPRESSED as S


def one(cells: Mapping[str, int]) -> tuple[dict[str, object], object]:
    """One column of one breakdown, as published."""
    shown, total = logic.suppress_tables({"t": {v: {"received": n} for v, n in cells.items()}},
                                         {"received": sum(cells.values())}, ("received",))
    return {v: r["received"] for v, r in shown["t"].items()}, total["received"]


def test_small_groups_are_suppressed_and_one_more_beside_a_lone_one() -> None:
    # b (2) alone would be the total minus the others: c (5, the smallest other) goes too.
    assert one({"a": 10, "b": 2, "c": 5, "d": 7}) == ({"a": 10, "b": S, "c": S, "d": 7}, 24)
    # Two ones would sum to their count (each must be 1): one more.
    assert one({"a": 1, "b": 1, "c": 4, "d": 9}) == ({"a": S, "b": S, "c": S, "d": 9}, 15)
    # A one and a two: 3 over two cells is 1+2 or 2+1; nothing more.
    assert one({"a": 1, "b": 2, "c": 4}) == ({"a": S, "b": S, "c": 4}, 7)
    # Zeros stay shown (nobody is in them) unless nothing else can hide a small one.
    assert one({"a": 0, "b": 4, "c": 3}) == ({"a": 0, "b": 4, "c": 3}, 7)
    assert one({"a": 1, "b": 1, "c": 1, "d": 0}) == ({"a": S, "b": S, "c": S, "d": S}, 3)
    # Every cell one, no zero: nothing hides them but the total itself.
    assert one({"a": 1, "b": 1, "c": 1}) == ({"a": S, "b": S, "c": S}, S)
    assert one({"a": 2, "b": 0}) == ({"a": S, "b": S}, S)  # a small total: all of it


def test_a_column_one_table_cannot_hide_is_hidden_in_every_table() -> None:
    tables = {"category": {"x": {"received": 1}, "y": {"received": 1}, "z": {"received": 1}},
              "zone_type": {"kcn": {"received": 3}}}
    shown, total = logic.suppress_tables(tables, {"received": 3}, ("received",))
    assert total["received"] == S and shown["zone_type"]["kcn"]["received"] == S


def _readings(shown: Mapping[str, object], total: object) -> dict[str, set[int]]:
    """What a reader who knows the rules can tell of each suppressed cell: every value it
    may have in a table that publishes exactly as this one did."""
    hidden = [v for v, n in shown.items() if n == S]
    known = {v: int(n) for v, n in shown.items() if n != S}  # type: ignore[call-overload]
    if total == S:
        choices = itertools.product(range(0, 7), repeat=len(hidden))
    else:
        rest = int(total) - sum(known.values())  # type: ignore[call-overload]
        choices = (c for c in itertools.product(range(0, rest + 1), repeat=len(hidden))
                   if sum(c) == rest)
    out: dict[str, set[int]] = {v: set() for v in hidden}
    for c in choices:
        cells = {**known, **dict(zip(hidden, c, strict=True))}
        if one(cells) == (shown, total):
            for v, n in zip(hidden, c, strict=True):
                out[v].add(n)
    return out


def _check(cells: Mapping[str, int]) -> None:
    shown, total = one(cells)
    for v, n in cells.items():
        assert shown[v] in (n, S), cells
        if logic.small(n):
            assert shown[v] == S, cells
    for v, can_be in _readings(shown, total).items():
        if logic.small(cells[v]):
            assert len(can_be) > 1, (cells, v, can_be)


def test_no_small_group_is_worked_out_by_a_reader_who_knows_the_rules() -> None:
    for n, values in ((1, range(7)), (2, range(7)), (3, range(6)), (4, (0, 1, 2, 3, 4))):
        for combo in itertools.product(values, repeat=n):
            _check({f"v{i}": x for i, x in enumerate(combo)})
    rng = random.Random(25)
    for _ in range(150):
        _check({f"v{i}": rng.choice((0, 1, 1, 2, 3, 5, 8)) for i in range(5)})


def test_on_time_shares_over_fewer_than_three_items_are_not_shown() -> None:
    assert logic.public_share(2, 50.0) == S and logic.public_measured(2) == S
    assert logic.public_share(3, 66.7) == 66.7 and logic.public_measured(3) == 3
    assert logic.public_share(0, None) is None and logic.public_measured(0) == 0


def test_central_escalations_hide_small_counts_and_their_letters() -> None:
    ids = [uuid.uuid4() for _ in range(6)]
    answers = [logic.CentralAnswer("central.bo-tai-chinh", ids[i], "12/BTC-CST",
                                   date(2026, 11, 2)) for i in range(3)]
    answers += [logic.CentralAnswer("central.bo-tai-chinh", ids[3], "15/BTC-CST",
                                    date(2026, 11, 20)),
                logic.CentralAnswer("central.bo-xay-dung", ids[4], "7/BXD-KHCN",
                                    date(2026, 11, 3))]
    lines = logic.public_central({"central.bo-tai-chinh": 5, "central.bo-xay-dung": 2,
                                  "central.bo-y-te": 4}, answers)
    by = {x.ministry_id: x for x in lines}
    assert (by["central.bo-tai-chinh"].sent, by["central.bo-tai-chinh"].answered) == (5, 4)
    assert by["central.bo-tai-chinh"].letters == (("12/BTC-CST", date(2026, 11, 2)),
                                                  ("15/BTC-CST", date(2026, 11, 20)))
    assert (by["central.bo-xay-dung"].sent, by["central.bo-xay-dung"].answered,
            by["central.bo-xay-dung"].letters) == (S, S, ())
    assert (by["central.bo-y-te"].sent, by["central.bo-y-te"].answered) == (4, 0)
