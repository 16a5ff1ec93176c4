"""The permanent deputy's triage beyond dispatch and reject (#20 item 3): correcting a
difficulty's zone type, category or province (the router routes it again), and merging
a duplicate into the difficulty that carries on. Each is a chained status event."""

from __future__ import annotations

import uuid

import asyncpg

from services.intake import logic, store
from services.intake.models import CorrectionIn, MergeAccepted, MergeIn, StatusAccepted
from services.intake.usecases.context import ACTOR_KINDS, NO_SUCH_DIFFICULTY, Intake, standing
from services.intake.usecases.handling import forbidden, status_event
from shared import auth, vn
from shared.errors import Refusal
from shared.events import Status
from shared.provinces import ProvinceConfig


def _deputy_only(ix: Intake, who: auth.Principal, cfg: ProvinceConfig | None,
                 acting: logic.Acting) -> ProvinceConfig:
    """The difficulty's task force, if `who` is its permanent deputy; a 403 otherwise."""
    try:
        logic.check_deputy(ACTOR_KINDS[who.kind], who.subject_id, cfg)
    except logic.StatusForbidden as e:
        raise forbidden(ix, acting, e) from None
    assert cfg is not None  # check_deputy found the task force
    return cfg


def _conflict(ix: Intake, e: logic.TriageConflict) -> Refusal:
    ix.metrics.refused(e.field, "conflict")
    return Refusal(409, e.field, e.en, e.vi)


async def correct_difficulty(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                             body: CorrectionIn) -> StatusAccepted:
    """The deputy corrects a difficulty waiting in triage; the event (status null,
    `correction`) is what the router routes again and reporting shows."""
    note = logic.clean_note(Status.IN_PROGRESS, body.note)  # optional
    async with ix.db().acquire() as conn, conn.transaction():
        state = await store.lock_difficulty(conn, difficulty_id=difficulty_id)
        if state is None:
            raise NO_SUCH_DIFFICULTY
        cfg, held, acting = await standing(ix, conn, who, state)
        cfg = _deputy_only(ix, who, cfg, acting)
        try:
            logic.check_correctable(state.status, held, cfg)
        except logic.TriageConflict as e:
            raise _conflict(ix, e) from None
        found = await store.difficulty(conn, difficulty_id=difficulty_id)
        assert found is not None  # locked above
        province = vn.resolve_province(body.province) if body.province else None
        fix = logic.correction_of(
            found[1], ix.config.current, zone_type=body.zone_type or None,
            clear_zone=body.zone_type == "", category=body.category, province=province)
        event = status_event(ix, who, state, None, None, note, correction=fix)
        await store.record_status(conn, event=event)
    ix.metrics.status_updates.labels("correction").inc()
    return StatusAccepted(status_id=event.data.status_id, difficulty_id=difficulty_id,
                          status=Status(state.status))


async def _kept_id(conn: asyncpg.Connection, into: str) -> uuid.UUID | None:
    kind, value = logic.merge_reference(into)
    if kind == "id":
        return uuid.UUID(value)
    return await store.difficulty_by_code(conn, tracking_code=value)


async def merge_duplicate(ix: Intake, who: auth.Principal, difficulty_id: uuid.UUID,
                          body: MergeIn) -> MergeAccepted:
    """The deputy closes a duplicate as merged into the kept difficulty of the same task
    force: on the duplicate, status merged with `merged_into`; on the kept one, an event
    recording the duplicate (status unchanged). Both chained, in one transaction."""
    note = logic.clean_note(Status.IN_PROGRESS, body.note)  # optional
    async with ix.db().acquire() as conn, conn.transaction():
        # Who asks is judged first (a 403 before anything of the body is), on the row as
        # it stands; again below, once both rows are locked.
        seen = await store.difficulty(conn, difficulty_id=difficulty_id)
        if seen is None:
            raise NO_SUCH_DIFFICULTY
        before, _, acting = await standing(ix, conn, who, seen[0])
        _deputy_only(ix, who, before, acting)
        kept_id = await _kept_id(conn, body.into)
        # Both rows locked in id order: two merges crossing each other's pair wait for
        # each other rather than deadlock, and the second sees the first's closure.
        locked: dict[uuid.UUID, store.DifficultyState | None] = {}
        for did in sorted({difficulty_id, *([kept_id] if kept_id else [])}):
            locked[did] = await store.lock_difficulty(conn, difficulty_id=did)
        state = locked[difficulty_id]
        if state is None:
            raise NO_SUCH_DIFFICULTY
        cfg, _, acting = await standing(ix, conn, who, state)
        cfg = _deputy_only(ix, who, cfg, acting)
        found = await store.difficulty(conn, difficulty_id=difficulty_id)
        kept = (await store.difficulty(conn, difficulty_id=kept_id)
                if kept_id is not None and locked.get(kept_id) is not None else None)
        assert found is not None  # locked above
        kept_cfg = (ix.config.current.for_difficulty(kept[0].province_code, kept[0].task_force)
                    if kept is not None else None)
        try:
            pair = logic.check_merge(
                duplicate=found[1], duplicate_status=state.status,
                kept=kept[1] if kept else None,
                kept_status=kept[0].status if kept else None,
                duplicate_task_force=cfg.slug,
                kept_task_force=kept_cfg.slug if kept_cfg else None)
        except logic.TriageConflict as e:
            raise _conflict(ix, e) from None
        assert kept is not None  # check_merge refuses a missing one
        kept_state = kept[0]
        closing = status_event(ix, who, state, Status.MERGED, None, note,
                                merged_into=pair.kept)
        await store.record_status(conn, event=closing)
        await store.record_status(conn, event=status_event(
            ix, who, kept_state, None, None, None, duplicate=pair.duplicate))
    ix.metrics.status_updates.labels("merged").inc()
    return MergeAccepted(status_id=closing.data.status_id, difficulty_id=difficulty_id,
                         status=Status.MERGED, merged_into=pair.kept.difficulty_id,
                         kept_tracking_code=pair.kept.tracking_code)


