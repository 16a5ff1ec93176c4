"""Submissions: one difficulty through `accept` (the API and the web form) and the CSV
import, with the event a submission becomes."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.intake import bulk, logic, store
from services.intake.models import (
    Accepted,
    DifficultyIn,
    ImportResult,
    ImportRowOut,
)
from services.intake.usecases.attachments import keep
from services.intake.usecases.context import (
    ACTOR_KINDS,
    SOURCE,
    Intake,
    Outcome,
)
from shared import auth, vn
from shared.calendar import to_local
from shared.errors import FieldError, Problem, Refusal, validation_problems
from shared.events import (
    ActorKind,
    DifficultyReceived,
    Envelope,
    UrgencySource,
    new_envelope,
)
from shared.provinces import ConfigSet

# --- submissions ----------------------------------------------------------------------------


async def accept(ix: Intake, body: DifficultyIn, *, idempotency_key: str | None,
                 files: Sequence[logic.CheckedFile] = ()) -> Outcome:
    """Accept one submission durably (the web form and the API both come here); the model
    has validated and cleaned it, this resolves the province, checks that its task force
    still takes difficulties in, and commits it with its outbox event (and the business's
    files, checked already)."""
    request = body.model_dump(mode="json")
    if files:
        # The same words with other files are another request.
        request["attachments"] = [f.sha256 for f in files]
    fingerprint = logic.request_fingerprint(request)
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
        if files:
            event = dataclasses.replace(event, data=event.data.model_copy(update={
                "attachments": [f.ref(public=True) for f in files]}))
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
            if stored:
                # The business's own files: it reads them back on its tracking page.
                await keep(conn, d.difficulty_id, None, files, by_kind=ActorKind.BUSINESS,
                           by_id=ActorKind.BUSINESS.value, public=True, at=d.received_at)
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
            fields = dict(row.submission)
            on = fields.pop("received_on", None)
            body = parse_submission(fields)
            code = logic.tracking_code()
            while code in codes:  # unique within the file; across files, 40 random bits
                code = logic.tracking_code()
            event = received_event(body, configs, now, code, urgency_source=filed_by)
            if province is not None:
                logic.check_in_scope(configs, event.data, province)
            if on is not None:
                # Taken in before it was imported: received (and so routed, its deadlines
                # running) as of that day; the event's time stays when it was recorded.
                cfg = configs.for_difficulty(event.data.province_code, event.data.task_force)
                at = logic.received_on(on, now=now.astimezone(UTC), effective_from=(
                    cfg.task_force.effective_from if cfg else now.date()))
                event = dataclasses.replace(
                    event, data=event.data.model_copy(update={"received_at": at}))
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
