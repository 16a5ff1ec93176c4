"""What agencies and members do on a difficulty: its status and steps, the urgency
confirmed, the resolution, the central level's answer and letters, reading it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.intake import logic, store
from services.intake.models import (
    DifficultyOut,
    LetterIn,
    MinistryAnswerIn,
    ResolutionAccepted,
    ResolutionIn,
    StatusAccepted,
    StatusIn,
    StepAccepted,
    StepIn,
    UrgencyConfirmedOut,
    UrgencyIn,
)
from services.intake.usecases.attachments import keep
from services.intake.usecases.context import (
    ACTOR_KINDS,
    NO_SUCH_DIFFICULTY,
    SOURCE,
    Intake,
    seen_by,
    standing,
)
from shared import auth
from shared.calendar import to_local
from shared.errors import Refusal
from shared.events import (
    OUTCOME_STATUS,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    Envelope,
    LetterRef,
    Status,
    Step,
    Urgency,
    UrgencySource,
    new_envelope,
)
from shared.events import Outcome as DecisionOutcome

# --- what agencies and members do -----------------------------------------------------------


async def post_status(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                      body: StatusIn) -> StatusAccepted:
    """A status update by whoever holds a part of the difficulty, within their role."""
    wanted = Status(body.status)
    note = logic.clean_note(wanted, body.note)
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
        if state is None:
            raise NO_SUCH_DIFFICULTY
        cfg, held, acting = await standing(ix, conn, who, state)
        try:
            logic.check_may_post(acting, wanted)
            if body.target_agency_id is not None:
                logic.check_dispatch(body.target_agency_id, wanted=wanted,
                                     actor_id=who.subject_id, cfg=cfg, held=held)
        except logic.StatusForbidden as e:
            raise forbidden(ix, acting, e) from None
        co_agency_ids = logic.check_co_handlers(body.co_agency_ids,
                                                lead=body.target_agency_id, cfg=cfg)
        if acting.standing in (logic.Standing.CO_HANDLER, logic.Standing.MEMBER) and (
                wanted in (Status.ACKNOWLEDGED, Status.IN_PROGRESS)):
            # A helper's acknowledged or in_progress is news of its own part, not of the
            # difficulty the lead holds: a step on its assignment.
            part = logic.own_part(ACTOR_KINDS[who.kind], who.subject_id, held)
            step = Step(wanted.value)
            _check_step(ix, part, step)
            event = status_event(ix, who, state, None, part.assignment_id, note, step=step)
            await store.record_status(conn, event=event)
            ix.metrics.status_updates.labels(wanted.value).inc()
            return StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                                  status=wanted)
        _check_transition(ix, state.status, wanted)
        if logic.closes(wanted) and (pending := logic.open_parts(held)):
            ix.metrics.refused("status", "parts_open")
            raise Refusal(409, "status", *logic.PartsOpen(
                sorted({h.agency_id for h in pending})).reasons())
        event = status_event(ix, who, state, wanted, acting.assignment_id, note,
                              target_agency_id=body.target_agency_id,
                              co_agency_ids=co_agency_ids)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels(wanted.value).inc()
    return StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                          status=wanted)


async def confirm_urgency(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: UrgencyIn) -> tuple[bool, UrgencyConfirmedOut]:
    """An officer or a member vouches that a business's urgent item is urgent: the head
    and the permanent deputy are told at once (notify, on difficulty.urgency.v1). One
    confirmation per difficulty: (True, it) when this one is it, (False, the first)
    when it was confirmed already."""
    async with ix.db().acquire() as conn:
        d, cfg, acting = await seen_by(ix, conn, who, difficulty_id)
        try:
            logic.check_may_confirm_urgency(acting, member_of_task_force=(
                who.kind is auth.TokenKind.MEMBER and cfg is not None
                and who.province == cfg.slug))
        except logic.StatusForbidden as e:
            ix.metrics.auth_failures.labels("not_assigned").inc()
            raise Refusal(403, e.field, e.en, e.vi) from None
        if d.urgency is not Urgency.URGENT or d.urgency_source is not UrgencySource.BUSINESS:
            ix.metrics.refused("urgency", "conflict")
            raise Refusal(409, "urgency",
                          "only a business's own urgent flag is confirmed: this difficulty "
                          "is not marked urgent, or a member or operator filed it",
                          "chỉ xác nhận phản ánh doanh nghiệp tự đánh dấu khẩn: phản ánh này "
                          "không khẩn, hoặc do thành viên, người vận hành nhập")
        event = new_envelope(logic.urgency_confirmation(
            d, actor_kind=ACTOR_KINDS[who.kind], actor_id=who.subject_id, reported=False,
            note=body.note or None, now=datetime.now(UTC),
        ), source=SOURCE, event_id=str(DifficultyUrgencyConfirmed.id_for(difficulty_id)))
        async with conn.transaction():
            new = await store.record_confirmations(conn, events=[event])
        first = await store.confirmation_of(conn, difficulty_id=difficulty_id)
    assert first is not None  # recorded now or before, never removed
    return bool(new), UrgencyConfirmedOut(
        confirmation_id=first["confirmation_id"], difficulty_id=difficulty_id,
        confirmed_by=first["actor_id"], reported=first["reported"],
        confirmed_at=first["confirmed_at"])


def status_event(ix: Intake, who: auth.Principal, state: store.DifficultyState,
                  status: Status | None, assignment_id: uuid.UUID | None, note: str | None,
                  **more: Any) -> Envelope[Any]:
    return new_envelope(logic.build_status(
        difficulty_id=state.difficulty_id, province_code=state.province_code, status=status,
        actor_kind=ACTOR_KINDS[who.kind], actor_id=who.subject_id,
        assignment_id=assignment_id, note=note, now=datetime.now(UTC), **more,
    ), source=SOURCE)


def _check_transition(ix: Intake, current: str, wanted: Status) -> None:
    try:
        logic.check_transition(current, wanted)
    except logic.TransitionRefused as e:
        ix.metrics.refused("status", "transition")
        raise Refusal(409, "status", *e.reasons()) from None


def _check_step(ix: Intake, part: logic.Held, wanted: Step) -> None:
    try:
        logic.check_step(part.step, wanted)
    except logic.StepRefused as e:
        ix.metrics.refused("step", "transition")
        raise Refusal(409, "step", *e.reasons()) from None


def forbidden(ix: Intake, acting: logic.Acting, e: logic.StatusForbidden) -> Refusal:
    ix.metrics.auth_failures.labels(
        "not_assigned" if acting.standing is logic.Standing.OUTSIDER
        else "not_allowed_for_role").inc()
    return Refusal(403, e.field, e.en, e.vi)


async def post_step(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                    body: StepIn, *, files: Sequence[logic.CheckedFile] = ()) -> StepAccepted:
    """A step on the caller's own assignment (#20 item 1): the lead's steps move the
    difficulty as well (its "not ours" goes back to the permanent deputy's triage)."""
    note = logic.clean_step_note(body.step, body.note)
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
        if state is None:
            raise NO_SUCH_DIFFICULTY
        cfg, held, acting = await standing(ix, conn, who, state)
        try:
            part = logic.own_part(ACTOR_KINDS[who.kind], who.subject_id, held,
                                  body.assignment_id)
            question = logic.clean_question(body.step, part, body.question)
        except logic.StatusForbidden as e:
            raise forbidden(ix, acting, e) from None
        logic.check_suggestion(body.suggested_agency_id, step=body.step,
                               actor_id=who.subject_id, cfg=cfg)
        _check_step(ix, part, body.step)
        try:
            status = logic.step_status(part, body.step, state.status)
        except logic.TransitionRefused as e:
            ix.metrics.refused("status", "transition")
            raise Refusal(409, "step", *e.reasons()) from None
        # Files with a step (a question's, a finished part's) stay with the case.
        event = status_event(ix, who, state, status, part.assignment_id, note,
                              step=body.step, suggested_agency_id=body.suggested_agency_id,
                              question=question,
                              attachments=[f.ref(public=False) for f in files])
        await keep(conn, difficulty_id, event.data.status_id, files,
                   by_kind=ACTOR_KINDS[who.kind], by_id=who.subject_id, public=False,
                   at=event.data.changed_at)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels(f"step_{body.step.value}").inc()
    return StepAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                        assignment_id=part.assignment_id, step=body.step, status=status)


async def post_resolution(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: ResolutionIn, *, files: Sequence[logic.CheckedFile] = ()
                          ) -> ResolutionAccepted:
    """The lead (or the permanent deputy) closes the difficulty, or passes it up, with a
    structured resolution and a public answer (#20 item 2)."""
    wanted = OUTCOME_STATUS[body.outcome]
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
        if state is None:
            raise NO_SUCH_DIFFICULTY
        _, held, acting = await standing(ix, conn, who, state)
        try:
            logic.check_may_resolve(acting)
        except logic.StatusForbidden as e:
            raise forbidden(ix, acting, e) from None
        _check_transition(ix, state.status, wanted)
        note = logic.clean_step_note(Step.IN_PROGRESS, body.note)  # optional
        try:
            resolution = logic.build_resolution(
                outcome=body.outcome, done=body.done, legal_basis=body.legal_basis,
                public_answer=body.public_answer, reason=body.reason, held=held,
                waiver_reason=body.waive_open_parts_reason)
        except logic.PartsOpen as e:
            ix.metrics.refused("waive_open_parts_reason", "parts_open")
            raise Refusal(409, "waive_open_parts_reason", *e.reasons()) from None
        # The files of the resolution go with its public answer: the business reads them.
        event = status_event(ix, who, state, wanted, acting.assignment_id, note,
                              step=Step.DONE if acting.assignment_id else None,
                              resolution=resolution,
                              attachments=[f.ref(public=True) for f in files])
        await keep(conn, difficulty_id, event.data.status_id, files,
                   by_kind=ACTOR_KINDS[who.kind], by_id=who.subject_id, public=True,
                   at=event.data.changed_at)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels(f"resolution_{body.outcome.value}").inc()
    return ResolutionAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                              outcome=body.outcome, status=wanted, waived=resolution.waived)


async def _at_central_level(ix: Intake, conn: asyncpg.Connection, who: auth.Principal,
                            difficulty_id: uuid.UUID
                            ) -> tuple[store.DifficultyState, list[logic.Held], logic.Held]:
    """The difficulty, locked, if `who` is its province's permanent deputy and a central
    ministry holds it: only the deputy answers for the province to the ministries."""
    state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
    if state is None:
        raise NO_SUCH_DIFFICULTY
    cfg, held, acting = await standing(ix, conn, who, state)
    if acting.standing is not logic.Standing.PERMANENT_DEPUTY:
        ix.metrics.auth_failures.labels("not_allowed_for_role").inc()
        raise Refusal(403, "Authorization", "only the province's permanent deputy deals with "
                      "the central ministries", "chỉ Tổ phó Thường trực làm việc với Bộ, ngành "
                      "Trung ương")
    try:
        ministry = logic.ministry_holding(state.status, held, cfg)
    except logic.NotAtCentralLevel as e:
        ix.metrics.refused("status", "not_central")
        raise Refusal(409, "status", e.en, e.vi) from None
    return state, held, ministry


async def record_ministry_answer(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                                 body: MinistryAnswerIn) -> ResolutionAccepted:
    """The ministry's answer, arrived by letter, recorded by the permanent deputy: it closes
    the difficulty with the ministry's letter cited and its answer for the business
    (#20 item 5). Co-handlers' parts still open are waived: the ministry has decided."""
    logic.check_letter_date(body.letter_date, to_local(datetime.now(UTC)).date(), "letter_date")
    async with ix.db().acquire() as conn, conn.transaction():
        state, held, ministry = await _at_central_level(ix, conn, who, difficulty_id)
        event = ministry_answered(ix, who, state, held, ministry.agency_id, body)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels("ministry_answer").inc()
    resolution = event.data.resolution
    assert resolution is not None  # ministry_answered always closes with one
    return ResolutionAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                              outcome=resolution.outcome,
                              status=OUTCOME_STATUS[resolution.outcome],
                              waived=resolution.waived)


def ministry_answered(ix: Intake, who: auth.Principal, state: store.DifficultyState,
                      held: list[logic.Held], ministry_id: str, body: MinistryAnswerIn,
                      bottleneck_id: uuid.UUID | None = None
                      ) -> Envelope[DifficultyStatusChanged]:
    """The status event closing a difficulty with a central ministry's answer: the letter
    cited, the answer for the business, co-handlers' open parts waived (the ministry has
    decided). One difficulty's, or each member's of a policy bottleneck (#25 item 1)."""
    outcome = DecisionOutcome(body.outcome)
    letter = LetterRef(number=body.letter_number, dated=body.letter_date)
    name = ministry_id
    if (cfg := ix.config.current.for_difficulty(state.province_code, state.task_force)
            ) is not None and (agency := cfg.agency(ministry_id)) is not None:
        name = agency.name_vi
    resolution = logic.build_resolution(
        outcome=outcome, held=held, public_answer=body.public_answer,
        done=f"{name} trả lời tại văn bản số {letter.number} ngày "
             f"{letter.dated:%d/%m/%Y}",
        legal_basis=f"Văn bản số {letter.number}", reason=None if outcome is not
        DecisionOutcome.REJECTED else body.public_answer,
        waiver_reason="Bộ, ngành Trung ương đã trả lời" if logic.open_parts(held) else None,
    ).model_copy(update={"ministry_letter": letter, "bottleneck_id": bottleneck_id})
    note = logic.clean_step_note(Step.IN_PROGRESS, body.note)
    return status_event(ix, who, state, OUTCOME_STATUS[outcome], None, note,
                         resolution=resolution)


async def register_letter(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: LetterIn) -> StatusAccepted:
    """The number and date of the province's letter to the ministry, as the permanent deputy
    registered it after signing (#22 item 6); registering again corrects it."""
    logic.check_letter_date(body.letter_date, to_local(datetime.now(UTC)).date(), "letter_date")
    async with ix.db().acquire() as conn, conn.transaction():
        state, _, _ = await _at_central_level(ix, conn, who, difficulty_id)
        event = status_event(ix, who, state, None, None, None, letter=LetterRef(
            number=body.letter_number, dated=body.letter_date))
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels("letter").inc()
    return StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                          status=Status.ESCALATED)


async def read_difficulty(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID
                          ) -> DifficultyOut:
    """The difficulty as `who` may see it (the contact for the lead and the deputy only)."""
    async with ix.db().acquire() as conn:
        d, cfg, acting = await seen_by(ix, conn, who, difficulty_id)
    try:
        logic.check_may_read(acting, operator_in_scope=who.province is None or (
            cfg is not None and who.province == cfg.slug))
    except logic.StatusForbidden as e:
        ix.metrics.auth_failures.labels(
            "out_of_scope" if e.field == "province" else "not_assigned").inc()
        raise Refusal(403, e.field, e.en, e.vi) from None
    return DifficultyOut(standing=acting.standing,
                         difficulty=logic.as_read_by(d, acting.standing))
