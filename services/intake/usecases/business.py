"""What a business does through its tracking code and tax code: answer an agency's
question, give feedback on the resolution. Either wrong gives one answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from services.intake import logic, store
from services.intake.usecases.attachments import keep
from services.intake.usecases.context import (
    SOURCE,
    Intake,
)
from shared import topics, vn
from shared.deadlines import HANDLING_ROLES
from shared.errors import Refusal
from shared.events import (
    ActorKind,
    BusinessAnswer,
    Status,
    Step,
    deterministic_id,
    new_envelope,
)

NO_SUCH_PAIR = Refusal(404, "code", "no difficulty with this tracking code and tax code",
                       "không có hồ sơ với mã hồ sơ và mã số thuế này")
# One answer for a wrong code, a wrong tax code, or a question no longer waiting: the
# form cannot be used to learn which tracking codes exist or what an agency asked.
NOT_WAITING = Refusal(404, "code", "no question is waiting for an answer under these codes",
                      "không có câu hỏi nào đang chờ trả lời với mã này")


async def answer_question(ix: Intake, *, tracking_code: str, tax_code: str,
                          assignment_id: uuid.UUID, answer: str,
                          files: Sequence[logic.CheckedFile] = ()) -> uuid.UUID:
    """The business answers an agency's question on its tracking page (#20 item 4): the
    answer goes on the status topic (the part back in progress, its clock running again)
    and to the asking agency's topic. The two codes are its credentials."""
    text = logic.clean_answer(answer)
    try:
        mst = vn.normalize_tax_code(tax_code)
    except ValueError:
        raise NOT_WAITING from None
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_tracked(conn, tracking_code=tracking_code.upper(),
                                         tax_code=mst)
        held = [] if state is None else await store.active_assignments(
            conn, difficulty_id=state.difficulty_id)
        part = logic.waiting_part(held, assignment_id)
        if state is None or part is None:
            ix.metrics.refused("code", "not_waiting")
            raise NOT_WAITING
        question = await store.question_of(conn, assignment_id=part.assignment_id) or ""
        event = new_envelope(logic.build_status(
            difficulty_id=state.difficulty_id, province_code=state.province_code, status=None,
            actor_kind=ActorKind.BUSINESS, actor_id=ActorKind.BUSINESS.value,
            assignment_id=part.assignment_id, note=None, now=datetime.now(UTC),
            step=Step.IN_PROGRESS, answer=text,
            attachments=[f.ref(public=True) for f in files]), source=SOURCE)
        # The business's own files: it reads them back, as the people on the case do.
        await keep(conn, state.difficulty_id, event.data.status_id, files,
                   by_kind=ActorKind.BUSINESS, by_id=ActorKind.BUSINESS.value, public=True,
                   at=event.data.changed_at)
        await store.record_status(conn, event=event)
        to_agency = new_envelope(BusinessAnswer(
            status_id=event.data.status_id, difficulty_id=state.difficulty_id,
            assignment_id=part.assignment_id, tracking_code=tracking_code.upper(),
            question=question, answer=text, answered_at=event.data.changed_at),
            source=SOURCE, event_id=deterministic_id("business_answer", event.data.status_id))
        await store.enqueue_to(conn, event=to_agency, topic=topics.agency_topic(part.agency_id))
    ix.metrics.status_updates.labels("business_answer").inc()
    return event.data.status_id


async def give_feedback(ix: Intake, *, tracking_code: str, tax_code: str, resolved: str,
                        rating: str, comment: str) -> uuid.UUID:
    """The business's word on its closed difficulty (#20 item 6), by its two codes: whether
    the answer resolved it, and a rating of the handling; the latest rating counts."""
    try:
        mst = vn.normalize_tax_code(tax_code)
    except ValueError:
        raise NO_SUCH_PAIR from None
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_tracked(conn, tracking_code=tracking_code.upper(),
                                         tax_code=mst)
        if state is None:
            ix.metrics.refused("code", "not_found")
            raise NO_SUCH_PAIR
        feedback = logic.build_feedback(status=state.status, resolved=resolved,
                                        rating=rating, comment=comment)
        times = await store.reopened(conn, difficulty_id=state.difficulty_id)
        reopens = logic.reopened_status(state.status, feedback, times)
        lead = None
        if reopens is not None:
            held = await store.active_assignments(conn, difficulty_id=state.difficulty_id)
            lead = next((h for h in held if h.role in HANDLING_ROLES), None)
        event = new_envelope(logic.build_status(
            difficulty_id=state.difficulty_id, province_code=state.province_code,
            status=reopens if lead is not None else None, actor_kind=ActorKind.BUSINESS,
            actor_id=ActorKind.BUSINESS.value,
            assignment_id=lead.assignment_id if lead is not None else None,
            # Back with the lead, its part is in progress again; to triage, the router
            # moves it (the business's words are in the feedback, for both).
            step=Step.IN_PROGRESS if lead is not None and reopens is Status.IN_PROGRESS
            else None, note=None, now=datetime.now(UTC), feedback=feedback),
            source=SOURCE)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels("business_feedback").inc()
    return event.data.status_id
