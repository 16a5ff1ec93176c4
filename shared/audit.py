"""Each difficulty's history as a hash chain (#25 item 3): pure rules, no I/O.

Intake writes the authoritative history (`intake.status_updates`, one row per accepted
update), and each row carries its place in its difficulty's chain: `position` (1, 2, ...
in the order intake accepted them), `prev_hash` (the hash of the row before; 64 zeros
for the first) and `chain_hash`. The difficulty row keeps the chain's head
(`chain_length`, `chain_head`) so that a deleted last row is seen too.

The canonical form of a row, which its hash covers, is written so that PostgreSQL can
produce it as well (the migration that chained the rows accepted before the chain
existed computes it in SQL, `services/intake/migrations/008_audit_chain.sql`):

- a JSON object of every field in `FIELDS` plus `prev_hash`, keys sorted by their ASCII
  bytes, separators "," and ":" without spaces, text as UTF-8 (not \\u-escaped) with
  JSON's mandatory escapes only (`"`, `\\`, \\b \\f \\n \\r \\t, other controls as
  \\u00xx lowercase), which is what both `json.dumps(..., ensure_ascii=False)` and
  PostgreSQL's `to_json(text)` write;
- a uuid as its lowercase hyphenated text; `changed_at` in UTC as
  "YYYY-MM-DDTHH:MM:SS.ffffffZ" (microseconds always written); `position` as an integer;
  a missing value as null;
- the columns of the triage's decisions (`LATER_FIELDS`) only when they hold a value, so
  that rows from before they existed hash as they did;
- a structured column (`resolution`, `feedback`, `letter` and those; jsonb) as a JSON *string*
  holding PostgreSQL's own text of the jsonb value (`column::text`), which is canonical
  for a jsonb value (its keys ordered, its spacing fixed), so no second JSON writer has
  to agree with PostgreSQL's on numbers or key order.

A row's hash is the lowercase hex SHA-256 of the UTF-8 bytes of that object. Editing any
field changes it; inserting or deleting a row breaks a position or the next row's
`prev_hash`; rewriting every hash after an edit changes the head, which each week's
report publishes (`audit_heads`, `merkle_root`) where the database cannot reach it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64  # the prev_hash of a chain's first row

# The stored fields of a history row that its hash covers (every column of
# intake.status_updates but the chain's own three), plus prev_hash.
FIELDS: tuple[str, ...] = (
    "status_id", "difficulty_id", "position", "status", "actor_kind", "actor_id",
    "assignment_id", "note", "changed_at", "step", "suggested_agency_id",
    "target_agency_id", "resolution", "question", "answer", "feedback", "letter",
)
# Fields of rows of the triage's decisions (#20 item 3: a dispatch's co-handlers, a
# correction, a merge; jsonb), covered only where they hold a value: a row without them
# hashes as it did before they existed, so the chains written before stay valid.
LATER_FIELDS: tuple[str, ...] = ("co_agency_ids", "correction", "merged_into", "duplicate")
JSONB_FIELDS = frozenset({"resolution", "feedback", "letter", *LATER_FIELDS})


def _scalar(name: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name}: a naive datetime has no place in the chain")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name}: {type(value).__name__} is not a chained value")
    return value


def canonical(record: Mapping[str, Any], prev_hash: str) -> bytes:
    """The bytes a row's hash covers (see the module docstring). `record` holds every
    name of FIELDS; a jsonb field as PostgreSQL's text of it (str) or None."""
    body = {name: _scalar(name, record[name]) for name in FIELDS}
    body.update({name: record[name] for name in LATER_FIELDS
                 if record.get(name) is not None})
    for name in JSONB_FIELDS:
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValueError(f"{name}: give PostgreSQL's text of the jsonb value")
    body["prev_hash"] = prev_hash
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def link_hash(record: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(record, prev_hash)).hexdigest()


# --- checking a chain ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Link:
    """One stored history row: its content (FIELDS, `position` included) and its link."""

    record: Mapping[str, Any]
    prev_hash: str | None
    chain_hash: str | None

    @property
    def position(self) -> int | None:
        p = self.record["position"]
        return p if isinstance(p, int) else None


@dataclass(frozen=True, slots=True)
class Head:
    length: int
    hash: str | None


@dataclass(frozen=True, slots=True)
class Finding:
    """What is wrong at one place of one difficulty's chain."""

    difficulty_id: uuid.UUID
    position: int | None
    problem: str
    status_id: uuid.UUID | None = None

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "unchained"
        row = f" (row {self.status_id})" if self.status_id is not None else ""
        return f"audit\t{self.difficulty_id}\t{where}{row}\t{self.problem}"


def check_chain(difficulty_id: uuid.UUID, links: Sequence[Link], head: Head | None
                ) -> list[Finding]:
    """Everything wrong with one difficulty's chain: `links` are its stored rows in
    position order, `head` what its difficulty row says (None: no difficulty row).

    Each row is judged against the stored hash of the row before, not a recomputed one,
    so one edited row is named once and the rows after it are not blamed for it."""
    out: list[Finding] = []

    def find(position: int | None, problem: str, link: Link | None = None) -> None:
        sid = link.record.get("status_id") if link is not None else None
        out.append(Finding(difficulty_id, position, problem,
                           sid if isinstance(sid, uuid.UUID) else None))

    expected = 1
    prev: str = GENESIS
    for link in links:
        pos = link.position
        if pos is None or link.prev_hash is None or link.chain_hash is None:
            find(pos, "not chained: the row has no position or hash (inserted past the"
                 " chain)", link)
            continue
        if pos < expected:
            find(pos, f"a second row at position {pos} (inserted)", link)
            continue
        gap = pos > expected
        if gap:
            missing = (f"position {expected}" if pos == expected + 1
                       else f"positions {expected}-{pos - 1}")
            find(expected, f"{missing} missing (deleted): the next row is at {pos}")
        if link.prev_hash != prev and not gap:
            find(pos, "its previous hash is not the hash of the row before it (a row"
                 " before it was rewritten, inserted or deleted)", link)
        if link_hash(link.record, link.prev_hash) != link.chain_hash:
            find(pos, "its content does not match its hash (edited)", link)
        prev = link.chain_hash
        expected = pos + 1
    last = expected - 1
    if head is None:
        find(None, "history rows of a difficulty that does not exist")
    else:
        if head.length > last:
            missing = (f"position {head.length}" if head.length == last + 1
                       else f"positions {last + 1}-{head.length}")
            find(last + 1, f"{missing} missing (deleted): the difficulty's head records"
                 f" {head.length} rows")
        elif head.length < last:
            find(head.length + 1, f"rows beyond the difficulty's head, which records"
                 f" {head.length} rows (inserted)")
        elif (head.hash or GENESIS) != (prev if last else GENESIS):
            find(last or None, "the difficulty's head hash is not its last row's hash")
    return out


def check_published(difficulty_id: uuid.UUID, links: Sequence[Link], position: int,
                    published_hash: str, week: str) -> Finding | None:
    """A head a weekly report published, held against the stored row at its position:
    an edit rewritten all the way through the chain still changes that hash."""
    at = [x for x in links if x.position == position]
    if not at:
        return Finding(difficulty_id, position, f"the head published in {week} is gone"
                       " (deleted)")
    if at[0].chain_hash != published_hash:
        sid = at[0].record.get("status_id")
        return Finding(difficulty_id, position, f"its hash differs from the head published"
                       f" in {week} (the chain was rewritten up to here)",
                       sid if isinstance(sid, uuid.UUID) else None)
    return None


# --- the weekly report's heads --------------------------------------------------------------


def merkle_root(heads: Sequence[tuple[uuid.UUID, int, str]]) -> str:
    """One hash over a week's heads, so the report's audit line can quote one value.

    Leaves, in difficulty id order: SHA-256 of 0x00 + "<difficulty_id>:<position>:<hash>";
    each parent SHA-256 of 0x01 + left + right (raw digests; the prefixes keep a leaf
    from passing for a parent); an odd last node goes up unpaired. No heads: the SHA-256
    of nothing."""
    level = [hashlib.sha256(b"\x00" + f"{d}:{p}:{h}".encode()).digest()
             for d, p, h in sorted(heads, key=lambda x: str(x[0]))]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        up = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
              for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0].hex()
