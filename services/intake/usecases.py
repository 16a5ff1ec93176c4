"""What intake does, whoever asks: the API, the web form and the CSV import accept a
submission through `accept`; agencies and members act on a difficulty through
`post_status`, `read_difficulty`, `submit_member_report` and `member_week`. Each takes
the `Intake` that main.py builds and raises a Refusal (or vn.InvalidField) for a 4xx."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import ValidationError

from services.intake import bulk, logic, store
from services.intake.metrics import IntakeMetrics
from services.intake.models import (
    Accepted,
    DifficultyIn,
    DifficultyOut,
    ImportResult,
    ImportRowOut,
    LetterIn,
    MemberReportAccepted,
    MemberReportIn,
    MemberWeekOut,
    MinistryAnswerIn,
    ReportDraft,
    ReportDue,
    ResolutionAccepted,
    ResolutionIn,
    StatusAccepted,
    StatusIn,
    StepAccepted,
    StepIn,
    UrgencyConfirmedOut,
    UrgencyIn,
    WeekFigures,
    WeekItem,
)
from shared import auth, topics, vn
from shared.calendar import Clock, previous_window, to_local, week_window
from shared.deadlines import HANDLING_ROLES
from shared.errors import FieldError, Problem, Refusal, unauthorized, validation_problems
from shared.events import (
    OUTCOME_STATUS,
    ActorKind,
    BusinessAnswer,
    CompilationSaved,
    DifficultyReceived,
    DifficultyStatusChanged,
    DifficultyUrgencyConfirmed,
    DirectionGiven,
    DirectionProgress,
    DirectionState,
    Envelope,
    LetterRef,
    MemberReminderRequested,
    Status,
    Step,
    Urgency,
    UrgencySource,
    deterministic_id,
    new_envelope,
)
from shared.events import Outcome as DecisionOutcome
from shared.provinces import ConfigHolder, ConfigSet, Member, ProvinceConfig
from shared.service import Runtime

SOURCE = "thaogo/intake"

ACTOR_KINDS = {auth.TokenKind.AGENCY: ActorKind.AGENCY, auth.TokenKind.MEMBER: ActorKind.MEMBER,
               auth.TokenKind.OPERATOR: ActorKind.OPERATOR}


@dataclass(frozen=True)
class Intake:
    """What the use cases work with, built once by main.py."""

    rt: Runtime
    config: ConfigHolder
    metrics: IntakeMetrics
    clock: Clock
    max_import_rows: int = 10_000
    import_chunk_rows: int = 1_000
    workspace_url: str = ""

    def db(self) -> asyncpg.Pool:
        return self.rt.db()


@dataclass(frozen=True)
class Outcome:
    """What became of one submission: accepted (or replayed) with its answer, or refused."""

    status: int
    answer: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


# --- who is asking --------------------------------------------------------------------------


async def authenticate(ix: Intake, token: str | None) -> auth.Principal:
    """Whoever a valid token speaks for, checked against the registry and the
    configuration on every request (a revoked token or a member who left is refused at
    once); a 401 otherwise."""
    async with ix.db().acquire() as conn:
        who = await auth.principal_for(conn, token, configs=ix.config.current)
    if who is None:
        ix.metrics.auth_failures.labels("no_valid_token").inc()
        raise unauthorized()
    return who


async def session_caller(ix: Intake, sid: str | None) -> auth.Principal:
    """Whoever a browser's sign-in session is for (the workspace's forms); a 401 if none."""
    async with ix.db().acquire() as conn:
        who = await auth.session_principal(conn, sid, now=ix.clock.now(),
                                           configs=ix.config.current)
    if who is None:
        ix.metrics.auth_failures.labels("no_session").inc()
        raise unauthorized()
    return who


def member_of(ix: Intake, who: auth.Principal, refusal_en: str, refusal_vi: str
              ) -> tuple[ProvinceConfig, Member]:
    """The task-force member `who` is, else a 403 saying what only members do."""
    found = auth.find_member(ix.config.current, who.subject_id)
    if who.kind != auth.TokenKind.MEMBER or found is None:
        ix.metrics.auth_failures.labels("not_a_member").inc()
        raise Refusal(403, "Authorization", refusal_en, refusal_vi)
    return found


async def standing(ix: Intake, conn: asyncpg.Connection, who: auth.Principal,
                   state: store.DifficultyState
                   ) -> tuple[ProvinceConfig | None, list[logic.Held], logic.Acting]:
    """The difficulty's task force, its active assignments, and where `who` stands among
    them."""
    cfg = ix.config.current.for_difficulty(state.province_code, state.task_force)
    held = await store.active_assignments(conn, difficulty_id=state.difficulty_id)
    return cfg, held, logic.standing_of(
        ACTOR_KINDS[who.kind], who.subject_id, held,
        triage_agency=cfg.rules.triage if cfg is not None else None)


NO_SUCH_DIFFICULTY = Refusal(404, "difficulty_id", "no difficulty with this id",
                             "không có phản ánh với mã này")


async def seen_by(ix: Intake, conn: asyncpg.Connection, who: auth.Principal,
                  difficulty_id: uuid.UUID
                  ) -> tuple[DifficultyReceived, ProvinceConfig | None, logic.Acting]:
    """A difficulty as accepted, its task force and where `who` stands on it; a 404 if
    there is no such difficulty."""
    found = await store.difficulty(conn, difficulty_id=difficulty_id)
    if found is None:
        raise NO_SUCH_DIFFICULTY
    state, d = found
    cfg, _, acting = await standing(ix, conn, who, state)
    return d, cfg, acting


# --- submissions ----------------------------------------------------------------------------


async def accept(ix: Intake, body: DifficultyIn, *, idempotency_key: str | None) -> Outcome:
    """Accept one submission durably (the web form and the API both come here); the model
    has validated and cleaned it, this resolves the province, checks that its task force
    still takes difficulties in, and commits it with its outbox event."""
    fingerprint = logic.request_fingerprint(body.model_dump(mode="json"))
    async with ix.db().acquire() as conn:
        if idempotency_key is not None:
            seen = await store.find_idempotent(conn, key=idempotency_key)
            if seen is not None:
                return _replay(seen, fingerprint)
        try:
            event = received_event(body, ix.config.current, ix.clock.now(), logic.tracking_code())
        except vn.InvalidField as e:
            problem = _problem(e)
            ix.metrics.refused(problem.field, problem.kind)
            return Outcome(422, problems=[problem])
        d = event.data
        answer = Accepted(difficulty_id=d.difficulty_id, tracking_code=d.tracking_code)
        response = answer.model_dump(mode="json")
        # A concurrent request with the same key makes our INSERT lose; the whole
        # transaction is then rolled back and we answer as the winner did.
        async with conn.transaction():
            stored = await store.accept_difficulty(
                conn, event=event, idempotency_key=idempotency_key,
                request_hash=fingerprint, response=response,
            )
        if not stored:
            seen = await store.find_idempotent(conn, key=idempotency_key or "")
            assert seen is not None
            return _replay(seen, fingerprint)
    ix.metrics.submissions.labels(d.province_code, d.zone_type or "unknown", d.category,
                                  "accepted").inc()
    return Outcome(202, answer=response)


def check_may_import(ix: Intake, who: auth.Principal) -> None:
    """Members and operators import; operators on the task force's behalf (a batch from
    a conference desk). Checked before the file is read."""
    if who.kind != auth.TokenKind.OPERATOR and (
            who.kind != auth.TokenKind.MEMBER
            or auth.find_member(ix.config.current, who.subject_id) is None):
        ix.metrics.auth_failures.labels("not_a_member").inc()
        raise Refusal(403, "Authorization",
                      "only a task-force member or an operator may import difficulties",
                      "chỉ thành viên Tổ công tác hoặc người vận hành mới được nhập phản ánh "
                      "từ tệp")


async def import_difficulties(ix: Intake, who: auth.Principal, data: bytes, *,
                              idempotency_key: str | None, lang: str) -> Outcome:
    """A CSV file's rows, each through the single-submission path, committed together."""
    check_may_import(ix, who)
    fingerprint = "import:" + hashlib.sha256(data).hexdigest()
    if idempotency_key is not None:
        async with ix.db().acquire() as conn:
            seen = await store.find_idempotent(conn, key=idempotency_key)
        if seen is not None:
            return _replay(seen, fingerprint)
    try:
        # Reading and validating 10,000 rows takes a while: off the event loop.
        results = await asyncio.to_thread(
            prepare_import, data, configs=ix.config.current, now=ix.clock.now(),
            max_rows=ix.max_import_rows, province=who.province,
            filed_by=UrgencySource(ACTOR_KINDS[who.kind].value),
        )
    except bulk.FileRefused as e:
        ix.metrics.refused(e.problem.field, e.problem.kind)
        return Outcome(e.status, problems=[e.problem])
    events = [r for r in results if isinstance(r, ImportedRow)]
    answer = ImportResult(
        accepted=len(events), refused=len(results) - len(events),
        rows=[r.out(lang) for r in results],
    )
    response = answer.model_dump(mode="json")
    async with ix.db().acquire() as conn:
        # All accepted rows, their outbox events and the idempotency record commit
        # together: a retry after a lost answer finds either everything or nothing.
        async with conn.transaction():
            claimed = idempotency_key is None or await store.claim_idempotency_key(
                conn, key=idempotency_key, request_hash=fingerprint, status_code=200,
                response=response,
            )
            if claimed:
                for i in range(0, len(events), ix.import_chunk_rows):
                    await store.insert_difficulties(
                        conn, events=[r.event for r in events[i:i + ix.import_chunk_rows]])
                # An urgent row is the importer's word: vouched for as it arrives.
                await store.record_confirmations(conn, events=[
                    new_envelope(c, source=SOURCE, event_id=str(c.confirmation_id))
                    for r in events
                    if (c := logic.reported_urgent(r.event.data, who.subject_id))])
        if not claimed:
            seen = await store.find_idempotent(conn, key=idempotency_key or "")
            assert seen is not None
            return _replay(seen, fingerprint)
    for r in results:
        if isinstance(r, ImportedRow):
            d = r.event.data
            ix.metrics.submissions.labels(d.province_code, d.zone_type or "unknown",
                                          d.category, "accepted").inc()
        else:
            for p in r.problems:
                ix.metrics.refused(p.field, p.kind)
    return Outcome(200, answer=response)


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
            raise _forbidden(ix, acting, e) from None
        if acting.standing in (logic.Standing.CO_HANDLER, logic.Standing.MEMBER) and (
                wanted in (Status.ACKNOWLEDGED, Status.IN_PROGRESS)):
            # A helper's acknowledged or in_progress is news of its own part, not of the
            # difficulty the lead holds: a step on its assignment.
            part = logic.own_part(ACTOR_KINDS[who.kind], who.subject_id, held)
            step = Step(wanted.value)
            _check_step(ix, part, step)
            event = _status_event(ix, who, state, None, part.assignment_id, note, step=step)
            await store.record_status(conn, event=event)
            ix.metrics.status_updates.labels(wanted.value).inc()
            return StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                                  status=wanted)
        _check_transition(ix, state.status, wanted)
        if logic.closes(wanted) and (pending := logic.open_parts(held)):
            ix.metrics.refused("status", "parts_open")
            raise Refusal(409, "status", *logic.PartsOpen(
                sorted({h.agency_id for h in pending})).reasons())
        event = _status_event(ix, who, state, wanted, acting.assignment_id, note,
                              target_agency_id=body.target_agency_id)
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


def _status_event(ix: Intake, who: auth.Principal, state: store.DifficultyState,
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


def _forbidden(ix: Intake, acting: logic.Acting, e: logic.StatusForbidden) -> Refusal:
    ix.metrics.auth_failures.labels(
        "not_assigned" if acting.standing is logic.Standing.OUTSIDER
        else "not_allowed_for_role").inc()
    return Refusal(403, e.field, e.en, e.vi)


async def post_step(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                    body: StepIn) -> StepAccepted:
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
            raise _forbidden(ix, acting, e) from None
        logic.check_suggestion(body.suggested_agency_id, step=body.step,
                               actor_id=who.subject_id, cfg=cfg)
        _check_step(ix, part, body.step)
        try:
            status = logic.step_status(part, body.step, state.status)
        except logic.TransitionRefused as e:
            ix.metrics.refused("status", "transition")
            raise Refusal(409, "step", *e.reasons()) from None
        event = _status_event(ix, who, state, status, part.assignment_id, note,
                              step=body.step, suggested_agency_id=body.suggested_agency_id,
                              question=question)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels(f"step_{body.step.value}").inc()
    return StepAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                        assignment_id=part.assignment_id, step=body.step, status=status)


NO_SUCH_PAIR = Refusal(404, "code", "no difficulty with this tracking code and tax code",
                       "không có hồ sơ với mã hồ sơ và mã số thuế này")
# One answer for a wrong code, a wrong tax code, or a question no longer waiting: the
# form cannot be used to learn which tracking codes exist or what an agency asked.
NOT_WAITING = Refusal(404, "code", "no question is waiting for an answer under these codes",
                      "không có câu hỏi nào đang chờ trả lời với mã này")


async def answer_question(ix: Intake, *, tracking_code: str, tax_code: str,
                          assignment_id: uuid.UUID, answer: str) -> uuid.UUID:
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
            step=Step.IN_PROGRESS, answer=text), source=SOURCE)
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


async def post_resolution(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: ResolutionIn) -> ResolutionAccepted:
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
            raise _forbidden(ix, acting, e) from None
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
        event = _status_event(ix, who, state, wanted, acting.assignment_id, note,
                              step=Step.DONE if acting.assignment_id else None,
                              resolution=resolution)
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
    return _status_event(ix, who, state, OUTCOME_STATUS[outcome], None, note,
                         resolution=resolution)


async def register_letter(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: LetterIn) -> StatusAccepted:
    """The number and date of the province's letter to the ministry, as the permanent deputy
    registered it after signing (#22 item 6); registering again corrects it."""
    logic.check_letter_date(body.letter_date, to_local(datetime.now(UTC)).date(), "letter_date")
    async with ix.db().acquire() as conn, conn.transaction():
        state, _, _ = await _at_central_level(ix, conn, who, difficulty_id)
        event = _status_event(ix, who, state, None, None, None, letter=LetterRef(
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


async def submit_member_report(ix: Intake, who: auth.Principal, body: MemberReportIn
                               ) -> MemberReportAccepted:
    """A member's weekly report; again for the same week replaces it (revision + 1)."""
    cfg, member = member_of(ix, who, "only a task-force member may submit a report",
                            "chỉ thành viên Tổ công tác mới được gửi báo cáo")
    now = ix.clock.now()
    week, late = logic.report_week(body.week_label, now)
    report = logic.build_member_report(
        member_id=member.id, province_code=cfg.province.province_code,
        week_label=week, late=late, received_summary=body.received_summary,
        solutions=body.solutions, recommendations=body.recommendations,
        figures=dict(body.figures), urgent=body.urgent, now=now,
    )
    async with ix.db().acquire() as conn, conn.transaction():
        revision = await store.upsert_member_report(
            conn, member_id=member.id, week_label=week, report_id=report.report_id,
            late=late, payload=report.model_dump(mode="json"), submitted_at=now,
        )
        # The event id changes with each revision, so a replacement is not taken for a
        # duplicate of the report it replaces.
        await store.enqueue(conn, events=[new_envelope(
            report, source=SOURCE, event_id=deterministic_id(report.report_id, revision),
        )])
    ix.metrics.member_reports.labels("late" if late else "on_time",
                                     str(revision > 1).lower()).inc()
    return MemberReportAccepted(report_id=report.report_id, week_label=week, late=late,
                                revision=revision)


async def member_week(ix: Intake, who: auth.Principal, lang: str) -> MemberWeekOut:
    """A member's week: assigned items, reports due, and a pre-filled report."""
    now = ix.clock.now()
    cfg, member = member_of(ix, who, "only a task-force member has a week to show",
                            "chỉ thành viên Tổ công tác mới xem được công việc tuần")
    current = week_window(now)
    weeks = [current, previous_window(current)]
    async with ix.db().acquire() as conn:
        items = await store.member_items(conn, member_id=member.id, since=current.start)
        revisions = await store.member_report_revisions(
            conn, member_id=member.id, week_labels=[w.label for w in weeks])
    week = logic.member_week(items, now=now, deadlines=cfg.deadlines)
    due = [ReportDue(week_label=w.label, due_at=w.end, reported=w.label in revisions,
                     revision=revisions.get(w.label), late_if_submitted_now=w is not current)
           for w in weeks if w is current or w.label not in revisions]
    en, vi = logic.draft_summary(week.figures, current.label)
    return MemberWeekOut(
        member_id=member.id, province_code=cfg.province.province_code,
        week_label=current.label, window_start=current.start, window_end=current.end,
        open=[_item(v) for v in week.open], overdue=[_item(v) for v in week.overdue],
        resolved_this_week=[_item(v) for v in week.resolved],
        figures=WeekFigures(**week.figures), reports_due=due,
        draft=ReportDraft(week_label=current.label,
                          received_summary=vi if lang == "vi" else en,
                          figures=week.figures),
    )


def _item(v: logic.ItemView) -> WeekItem:
    it = v.item
    return WeekItem(
        difficulty_id=it.difficulty_id, tracking_code=it.tracking_code, title=it.title,
        category=it.category, status=it.status, urgency=it.urgency, received_at=it.received_at,
        assigned_at=it.assigned_at, ack_due_at=v.ack_due_at, resolve_due_at=v.resolve_due_at,
        overdue=v.overdue,
    )


def _replay(seen: Any, fingerprint: str) -> Outcome:
    if seen["request_hash"] != fingerprint:
        return Outcome(409, problems=[Problem(
            "Idempotency-Key", "conflict",
            "this key was already used with a different request body",
            "khóa Idempotency-Key đã được dùng cho một yêu cầu khác",
        )])
    return Outcome(int(seen["status_code"]), answer=dict(seen["response"]))


def _problem(e: vn.InvalidField) -> Problem:
    return Problem.of(e, "task_force_dissolved" if isinstance(e, logic.TaskForceDissolved)
                      else "out_of_scope" if isinstance(e, logic.OutOfScope) else "invalid")


def received_event(
    body: DifficultyIn, configs: ConfigSet, now: datetime, code: str,
    urgency_source: UrgencySource = UrgencySource.BUSINESS,
) -> Envelope[DifficultyReceived]:
    """The event of a validated submission (InvalidField when the province's task force
    is dissolved); `urgency_source`: who marked it urgent, if it is."""
    received = body.received(difficulty_id=uuid.uuid4(), code=code, now=now.astimezone(UTC),
                             urgency_source=urgency_source)
    task_force = configs.task_force_for(
        received.province_code, received.task_force, zone_name=received.zone_name,
        ward=received.ward, district=received.district)
    if task_force != received.task_force:
        received = received.model_copy(update={"task_force": task_force})
    event = new_envelope(received, source=SOURCE)
    logic.check_task_force_open(configs, event.data, to_local(now).date())
    return event


def parse_submission(raw: dict[str, Any]) -> DifficultyIn:
    """The request model over a dict from a form or a CSV row; Refused lists its problems."""
    try:
        return DifficultyIn.model_validate(raw)
    except ValidationError as e:
        # Every refused field at once (the model cleans as it validates): a person
        # correcting a form or a spreadsheet row wants them all, not one at a time.
        raise Refused(validation_problems(e.errors())) from None


@dataclass(frozen=True, slots=True)
class ImportedRow:
    number: int
    event: Envelope[DifficultyReceived]

    def out(self, lang: str) -> ImportRowOut:
        d = self.event.data
        return ImportRowOut(row=self.number, accepted=True, difficulty_id=d.difficulty_id,
                            tracking_code=d.tracking_code)


@dataclass(frozen=True, slots=True)
class RefusedRow:
    number: int
    problems: list[Problem]

    def out(self, lang: str) -> ImportRowOut:
        return ImportRowOut(row=self.number, accepted=False,
                            errors=[FieldError(**p.as_dict(lang)) for p in self.problems])


def prepare_import(
    data: bytes, *, configs: ConfigSet, now: datetime, max_rows: int,
    filed_by: UrgencySource, province: str | None = None,
) -> list[ImportedRow | RefusedRow]:
    """Each row of a CSV file through the single-submission path (model, cleaning,
    province, task force); FileRefused when the file itself cannot be read. With
    `province` (the importer's scope: a member's task force, a scoped operator's
    province), a row of another province is refused. `filed_by` says who marked the
    urgent rows urgent (the importer: a member or an operator)."""
    out: list[ImportedRow | RefusedRow] = []
    codes: set[str] = set()
    for row in bulk.read(data, max_rows=max_rows):
        if row.problems:
            out.append(RefusedRow(row.number, list(row.problems)))
            continue
        try:
            body = parse_submission(row.submission)
            code = logic.tracking_code()
            while code in codes:  # unique within the file; across files, 40 random bits
                code = logic.tracking_code()
            event = received_event(body, configs, now, code, urgency_source=filed_by)
            if province is not None:
                logic.check_in_scope(configs, event.data, province)
        except Refused as e:
            out.append(RefusedRow(row.number, e.problems))
            continue
        except vn.InvalidField as e:
            out.append(RefusedRow(row.number, [_problem(e)]))
            continue
        codes.add(code)
        out.append(ImportedRow(row.number, event))
    return out


class Refused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(", ".join(p.field for p in problems))
        self.problems = problems


# --- what the permanent deputy and the head do in their workspace ----------------------------


def task_force_role(ix: Intake, who: auth.Principal, agency_of: str, refusal_en: str,
                    refusal_vi: str) -> ProvinceConfig:
    """The task force whose head or permanent deputy `who` is (their agency: `rules.head`
    or `rules.triage`, as `agency_of` names), else a 403 saying who may."""
    cfg = ix.config.current.get(who.province) if who.province else None
    if (who.kind != auth.TokenKind.AGENCY or cfg is None
            or who.subject_id != getattr(cfg.rules, agency_of)):
        ix.metrics.auth_failures.labels("not_allowed_for_role").inc()
        raise Refusal(403, "Authorization", refusal_en, refusal_vi)
    return cfg


async def remind_member(ix: Intake, who: auth.Principal, member_id: str) -> bool:
    """The permanent deputy's one-click reminder to a member who has not reported this
    week: an event notify turns into the reminder. Once a member a day (the request id
    comes from the member, the week and the day): True if this click asked, False if
    today's reminder was asked already."""
    cfg = task_force_role(ix, who, "triage", "only the permanent deputy reminds members",
                          "chỉ Tổ phó Thường trực mới nhắc thành viên báo cáo")
    member = next((m for m in cfg.task_force.active_members() if m.id == member_id), None)
    if member is None:
        raise Refusal(422, "member_id", "not an active member of this task force",
                      "không phải thành viên đang hoạt động của Tổ công tác")
    now = ix.clock.now()
    week = week_window(now)
    async with ix.db().acquire() as conn, conn.transaction():
        if week.label in await store.member_report_revisions(
                conn, member_id=member.id, week_labels=[week.label]):
            raise Refusal(409, "member_id", "this member has reported this week already",
                          "thành viên này đã báo cáo tuần này")
        request_id = uuid.UUID(deterministic_id(
            "member-reminder", member.id, week.label, to_local(now).date().isoformat()))
        return await store.enqueue(conn, events=[new_envelope(MemberReminderRequested(
            request_id=request_id, member_id=member.id, task_force=cfg.slug,
            week_label=week.label, requested_by=cfg.task_force.permanent_deputy.id,
            requested_at=now), source=SOURCE, event_id=str(request_id))]) == 1


async def give_direction(ix: Intake, who: auth.Principal, text: str, key: str, *,
                         assignee_id: str, due_on: str) -> None:
    """The head's direction to the task force, naming who must act (an agency or a member
    of the configuration) and by when: an event reporting keeps for the task force's pages
    and tracks, and notify reminds of. `key` is the form's own (a double click or a
    reload gives it again)."""
    cfg = task_force_role(ix, who, "head", "only the head gives directions",
                          "chỉ Tổ trưởng mới gửi ý kiến chỉ đạo")
    body = vn.nfc_clean(text, 4000, field="direction", multiline=True)
    now = ix.clock.now()
    assignee = logic.direction_assignee(cfg, assignee_id)
    due = logic.direction_due(due_on, to_local(now).date())
    direction_id = uuid.UUID(deterministic_id("direction", cfg.slug, key))
    async with ix.db().acquire() as conn, conn.transaction():
        if not await store.insert_direction(conn, direction_id=direction_id,
                                            task_force=cfg.slug, assignee_id=assignee,
                                            due_on=due):
            return
        await store.enqueue(conn, events=[new_envelope(DirectionGiven(
            direction_id=direction_id, task_force=cfg.slug,
            given_by=cfg.task_force.head.id, week_label=week_window(now).label, body=body,
            given_at=now, assignee_id=assignee, due_on=due), source=SOURCE,
            event_id=str(direction_id))])


async def post_direction_progress(ix: Intake, who: auth.Principal, direction_id: uuid.UUID,
                                  state: str, note: str) -> None:
    """Whoever must act on a direction (its agency's officers, or the member) says where it
    stands; forward only (logic.check_direction_progress)."""
    if who.kind not in (auth.TokenKind.AGENCY, auth.TokenKind.MEMBER):
        raise Refusal(403, "Authorization", "only who must act posts a direction's progress",
                      "chỉ người được giao mới cập nhật tiến độ chỉ đạo")
    clean = vn.nfc_clean(note, 2000, field="note", multiline=True) if note.strip() else ""
    now = ix.clock.now()
    async with ix.db().acquire() as conn, conn.transaction():
        held = await store.direction_for_update(conn, direction_id=direction_id)
        if held is None or held["assignee_id"] != who.subject_id:
            raise Refusal(404, "direction_id", "no direction of yours has this id",
                          "không có ý kiến chỉ đạo giao cho đơn vị với mã này")
        logic.check_direction_progress(held["state"], state)
        await store.set_direction_state(conn, direction_id=direction_id, state=state, at=now)
        progress_id = uuid.UUID(deterministic_id("direction-progress", direction_id,
                                                 state, now.isoformat()))
        await store.enqueue(conn, events=[new_envelope(DirectionProgress(
            progress_id=progress_id, direction_id=direction_id,
            task_force=held["task_force"], state=DirectionState(state), note=clean,
            posted_by=who.subject_id, posted_at=now), source=SOURCE,
            event_id=str(progress_id))])


async def save_compilation(ix: Intake, who: auth.Principal, week_label: str, text: str, *,
                           submit: bool, key: str) -> None:
    """The permanent deputy's compiled text of a week, saved as a draft or submitted to
    the head; the latest one stands. `key` is the form's own."""
    cfg = task_force_role(ix, who, "triage", "only the permanent deputy compiles the week",
                          "chỉ Tổ phó Thường trực mới tổng hợp báo cáo tuần")
    body = vn.nfc_clean(text, 20_000, field="compiled_text", multiline=True)
    now = ix.clock.now()
    week = logic.report_week(week_label or None, now)[0]
    compilation_id = uuid.UUID(deterministic_id("compilation", cfg.slug, week, key))
    async with ix.db().acquire() as conn, conn.transaction():
        await store.enqueue(conn, events=[new_envelope(CompilationSaved(
            compilation_id=compilation_id, task_force=cfg.slug, week_label=week, body=body,
            submitted=submit, saved_by=cfg.task_force.permanent_deputy.id, saved_at=now),
            source=SOURCE, event_id=str(compilation_id))])
