"""Policy bottlenecks (#25 item 1): the permanent deputy merges recommendations many
businesses share into one item escalated to a central ministry, and records the
ministry's answer, which closes every member difficulty with it (so each business reads
it on its tracking page). Called by the API and by the workspace's forms."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime

import asyncpg

from services.intake import logic, store
from services.intake.models import (
    BottleneckAccepted,
    BottleneckAnswered,
    BottleneckIn,
    MinistryAnswerIn,
)
from services.intake.usecases import SOURCE, Intake, ministry_answered, standing, task_force_role
from shared import auth, legal, vn
from shared.calendar import to_local
from shared.deadlines import CLOSED
from shared.errors import Refusal
from shared.events import (
    BottleneckAnswer,
    BottleneckItem,
    LetterRef,
    Outcome,
    PolicyBottleneck,
    Status,
    deterministic_id,
    new_envelope,
)

ONLY_DEPUTY = ("only the province's permanent deputy merges and escalates policy bottlenecks",
               "chỉ Tổ phó Thường trực tổng hợp, kiến nghị điểm nghẽn chính sách")


def _sent(event: PolicyBottleneck, step: str) -> str:
    # One event per step of a bottleneck: a retry of the same step is the same event.
    return deterministic_id("bottleneck", event.bottleneck_id, step)


def documents_cited(texts: list[str]) -> list[str]:
    """The keys of the documents the items cite, most cited first (then by key)."""
    count: Counter[str] = Counter(k for t in texts for k in legal.keys(t))
    return [k for k, _ in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))][:20]


async def merge(ix: Intake, who: auth.Principal, body: BottleneckIn, key: str
                ) -> BottleneckAccepted:
    """One bottleneck of the items chosen, for the ministry chosen, sent to the ministry
    as one item carrying the number of businesses and what each item is about (never who
    raised it). The same form sent twice (the same `key`) merges once."""
    cfg = task_force_role(ix, who, "triage", *ONLY_DEPUTY)
    ministry_id = logic.central_ministry(cfg, body.ministry_id)
    wanted = logic.bottleneck_members(body.difficulty_ids)
    bottleneck_id = uuid.UUID(deterministic_id("bottleneck", cfg.slug, key))
    now = datetime.now(UTC)
    async with ix.db().acquire() as conn, conn.transaction():
        sent = await store.lock_bottleneck(conn, bottleneck_id=bottleneck_id)
        if sent is None:
            found = {c.state.difficulty_id: c for c in
                     await store.lock_candidates(conn, difficulty_ids=wanted)}
            try:
                logic.check_mergeable(wanted, {
                    d: (c.state.task_force, c.state.status, c.bottleneck_id)
                    for d, c in found.items()}, cfg.slug)
            except logic.MergeConflict as e:
                ix.metrics.refused("difficulty_ids", "not_mergeable")
                raise Refusal(409, "difficulty_ids", e.en, e.vi) from None
            members = [found[d] for d in wanted]
            sent = PolicyBottleneck(
                bottleneck_id=bottleneck_id, task_force=cfg.slug,
                province_code=cfg.province.province_code, title=body.title,
                ministry_id=ministry_id,
                documents=documents_cited(
                    [f"{c.received.title}\n{c.received.description}" for c in members]),
                business_count=len({c.tax_code for c in members}),
                items=[BottleneckItem(difficulty_id=c.state.difficulty_id,
                                      title=c.received.title, category=c.received.category)
                       for c in members],
                merged_by=who.subject_id, merged_at=now, changed_at=now)
            try:
                await store.insert_bottleneck(conn, event=sent)
            except asyncpg.UniqueViolationError:
                # A concurrent merge of one of these items committed first (its row was
                # read before that merge's items were): one bottleneck per item holds.
                ix.metrics.refused("difficulty_ids", "not_mergeable")
                raise Refusal(409, "difficulty_ids", "an item was merged meanwhile into "
                              "another policy bottleneck", "một phản ánh vừa được tổng hợp "
                              "vào điểm nghẽn chính sách khác") from None
            await store.enqueue(conn, events=[new_envelope(
                sent, source=SOURCE, event_id=_sent(sent, "merged"))])
            ix.metrics.status_updates.labels("bottleneck_merged").inc()
    return BottleneckAccepted(bottleneck_id=sent.bottleneck_id, ministry_id=sent.ministry_id,
                              business_count=sent.business_count, item_count=len(sent.items),
                              documents=sent.documents)


async def answer(ix: Intake, who: auth.Principal, bottleneck_id: uuid.UUID,
                 body: MinistryAnswerIn) -> BottleneckAnswered:
    """The ministry's answer to a bottleneck, from its letter: every member still open is
    closed with it, through the same resolution as one escalated difficulty's answer
    (`/ministry-answer`), so each business reads it on its tracking page; members closed
    meanwhile stay as they are. Answered once (409 after)."""
    cfg = task_force_role(ix, who, "triage", *ONLY_DEPUTY)
    logic.check_letter_date(body.letter_date, to_local(datetime.now(UTC)).date(), "letter_date")
    public_answer = vn.nfc_clean(body.public_answer, 10_000, field="public_answer",
                                 multiline=True)
    closed: list[uuid.UUID] = []
    before: list[uuid.UUID] = []
    async with ix.db().acquire() as conn, conn.transaction():
        sent = await store.lock_bottleneck(conn, bottleneck_id=bottleneck_id)
        if sent is None or sent.task_force != cfg.slug:
            raise Refusal(404, "bottleneck_id", "no policy bottleneck of this task force has "
                          "this id", "không có điểm nghẽn chính sách với mã này")
        if sent.answer is not None:
            ix.metrics.refused("bottleneck_id", "answered")
            raise Refusal(409, "bottleneck_id", "the ministry's answer is recorded already",
                          "đã ghi nhận trả lời của Bộ, ngành")
        members = await store.lock_candidates(
            conn, difficulty_ids=[it.difficulty_id for it in sent.items])
        for c in members:
            if Status(c.state.status) in CLOSED:
                before.append(c.state.difficulty_id)
                continue
            _, held, _ = await standing(ix, conn, who, c.state)
            await store.record_status(conn, event=ministry_answered(
                ix, who, c.state, held, sent.ministry_id, body, bottleneck_id))
            closed.append(c.state.difficulty_id)
        now = datetime.now(UTC)
        answered = sent.model_copy(update={"changed_at": now, "answer": BottleneckAnswer(
            outcome=Outcome(body.outcome),
            letter=LetterRef(number=body.letter_number, dated=body.letter_date),
            public_answer=public_answer, answered_by=who.subject_id, answered_at=now)})
        await store.bottleneck_answered(conn, event=answered, answered_at=now)
        await store.enqueue(conn, events=[new_envelope(
            answered, source=SOURCE, event_id=_sent(answered, "answered"))])
    ix.metrics.status_updates.labels("bottleneck_answer").inc()
    return BottleneckAnswered(bottleneck_id=bottleneck_id, outcome=Outcome(body.outcome),
                              closed=closed, already_closed=before)
