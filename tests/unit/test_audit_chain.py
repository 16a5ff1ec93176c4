"""The history chain's rules (shared/audit.py): canonical form, links, and what a check
names when a row is edited, inserted or deleted. No database: the real-database tamper
tests are in tests/intake/test_audit_chain_db.py."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared import audit

D = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
T0 = datetime(2026, 12, 1, 2, 3, 4, 56, tzinfo=UTC)


def record(n: int, **over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {name: None for name in audit.FIELDS}
    r.update(status_id=uuid.UUID(int=n), difficulty_id=D, position=n, status="in_progress",
             actor_kind="agency", actor_id="binh-duong.so-xay-dung",
             changed_at=T0 + timedelta(hours=n), note=f"Bước {n}: đã làm việc với \"DN\"\n")
    r.update(over)
    return r


def chain(n: int) -> list[audit.Link]:
    out: list[audit.Link] = []
    prev = audit.GENESIS
    for i in range(1, n + 1):
        r = record(i)
        h = audit.link_hash(r, prev)
        out.append(audit.Link(r, prev, h))
        prev = h
    return out


def head_of(links: list[audit.Link]) -> audit.Head:
    return audit.Head(len(links), links[-1].chain_hash if links else None)


def test_canonical_form_is_sorted_compact_utf8_json_with_prev_hash() -> None:
    r = record(1, resolution='{"done": "Đã cấp phép", "outcome": "resolved"}')
    text = audit.canonical(r, audit.GENESIS).decode("utf-8")
    body = json.loads(text)
    assert list(body) == sorted(body)  # keys in ASCII order
    assert set(body) == {*audit.FIELDS, "prev_hash"}
    assert text.startswith('{"actor_id":"binh-duong.so-xay-dung","actor_kind":"agency",'
                           '"answer":null,"assignment_id":null,')
    assert '"note":"Bước 1: đã làm việc với \\"DN\\"\\n"' in text  # JSON's escapes only
    assert "Bước" in text  # not \\u-escaped
    assert body["changed_at"] == "2026-12-01T03:03:04.000056Z"
    assert body["status_id"] == "00000000-0000-0000-0000-000000000001"
    assert body["resolution"] == '{"done": "Đã cấp phép", "outcome": "resolved"}'  # a string
    assert audit.link_hash(r, audit.GENESIS) == hashlib.sha256(text.encode()).hexdigest()


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    ict = timezone(timedelta(hours=7))
    assert (audit.link_hash(record(1), audit.GENESIS)
            == audit.link_hash(record(1, changed_at=record(1)["changed_at"].astimezone(ict)),
                               audit.GENESIS))


def test_every_field_and_the_previous_hash_are_covered() -> None:
    base = audit.link_hash(record(1), audit.GENESIS)
    other = {"position": 2, "changed_at": T0 + timedelta(microseconds=1),
             "status_id": uuid.uuid4(), "difficulty_id": uuid.uuid4()}
    for name in audit.FIELDS:
        changed = record(1, **{name: other.get(name, "x")})
        assert audit.link_hash(changed, audit.GENESIS) != base, name
    assert audit.link_hash(record(1), "1" * 64) != base


def test_values_outside_the_canonical_form_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        audit.canonical(record(1, changed_at=datetime(2026, 1, 1)), audit.GENESIS)
    with pytest.raises(ValueError, match="resolution"):
        audit.canonical(record(1, resolution={"outcome": "resolved"}), audit.GENESIS)
    with pytest.raises(ValueError, match="float"):
        audit.canonical(record(1, position=1.0), audit.GENESIS)


def test_a_clean_chain_has_no_finding() -> None:
    links = chain(4)
    assert audit.check_chain(D, links, head_of(links)) == []
    assert audit.check_chain(D, [], audit.Head(0, None)) == []


def test_an_edited_row_is_named_once() -> None:
    links = chain(4)
    edited = [*links]
    edited[1] = replace(links[1], record={**links[1].record, "note": "sửa lại"})
    found = audit.check_chain(D, edited, head_of(links))
    assert [(f.position, f.status_id) for f in found] == [(2, uuid.UUID(int=2))]
    assert "edited" in found[0].problem
    assert str(found[0]).startswith(f"audit\t{D}\tposition 2")


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link() -> None:
    links = chain(3)
    rec = {**links[0].record, "actor_id": "binh-duong.so-tai-chinh"}
    forged = audit.Link(rec, audit.GENESIS, audit.link_hash(rec, audit.GENESIS))
    found = audit.check_chain(D, [forged, *links[1:]], head_of(links))
    assert [f.position for f in found] == [2]
    assert "previous hash" in found[0].problem


def test_a_deleted_row_in_the_middle_is_named_by_its_position() -> None:
    links = chain(4)
    found = audit.check_chain(D, [links[0], links[2], links[3]], head_of(links))
    assert [(f.position, f.problem) for f in found] == [
        (2, "position 2 missing (deleted): the next row is at 3")]


def test_a_deleted_last_row_is_seen_through_the_head() -> None:
    links = chain(3)
    found = audit.check_chain(D, links[:2], head_of(links))
    assert [f.position for f in found] == [3]
    assert "missing (deleted)" in found[0].problem


def test_an_inserted_row_is_named() -> None:
    links = chain(3)
    # At a position taken already
    extra = audit.Link(record(9, position=2), links[0].chain_hash, "f" * 64)
    found = audit.check_chain(D, [links[0], links[1], extra, links[2]], head_of(links))
    assert [(f.position, "inserted" in f.problem) for f in found] == [(2, True)]
    # After the last row, correctly linked and hashed, but past the head
    rec = record(4)
    tail = audit.Link(rec, links[2].chain_hash, audit.link_hash(rec, links[2].chain_hash))
    found = audit.check_chain(D, [*links, tail], head_of(links))
    assert [(f.position, "inserted" in f.problem) for f in found] == [(4, True)]


def test_a_chain_rewritten_to_the_end_is_caught_by_the_published_head() -> None:
    links = chain(3)
    published = links[2].chain_hash
    prev, forged = audit.GENESIS, []
    for i, link in enumerate(links):
        rec = {**link.record, "note": "khác"} if i == 0 else link.record
        h = audit.link_hash(rec, prev)
        forged.append(audit.Link(rec, prev, h))
        prev = h
    assert audit.check_chain(D, forged, head_of(forged)) == []  # consistent in itself
    f = audit.check_published(D, forged, 3, published, "binh-duong 2026-W49")
    assert f is not None and f.position == 3 and "2026-W49" in f.problem
    assert audit.check_published(D, links, 3, published, "w") is None
    gone = audit.check_published(D, links[:2], 3, published, "w")
    assert gone is not None and "deleted" in gone.problem


def test_merkle_root_is_order_free_and_covers_every_head() -> None:
    heads = [(uuid.UUID(int=i), i, f"{i:064x}") for i in range(1, 6)]
    root = audit.merkle_root(heads)
    assert root == audit.merkle_root(list(reversed(heads)))
    assert root != audit.merkle_root(heads[:4])
    assert root != audit.merkle_root([*heads[:4], (heads[4][0], 6, heads[4][2])])
    leaf = hashlib.sha256(b"\x00" + f"{heads[0][0]}:1:{heads[0][2]}".encode()).hexdigest()
    assert audit.merkle_root(heads[:1]) == leaf
    assert audit.merkle_root([]) == hashlib.sha256(b"").hexdigest()
