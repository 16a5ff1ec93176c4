"""Who is asking and what they stand for: the `Intake` every use case takes, its outcome,
the caller's authentication and standing on a difficulty."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.intake import logic, store
from services.intake.metrics import IntakeMetrics
from shared import auth
from shared.calendar import Clock
from shared.errors import Problem, Refusal
from shared.events import (
    ActorKind,
    DifficultyReceived,
)
from shared.provinces import ConfigHolder, Member, ProvinceConfig
from shared.service import Runtime

SOURCE = "thaogo/intake"

ACTOR_KINDS = {auth.TokenKind.AGENCY: ActorKind.AGENCY, auth.TokenKind.MEMBER: ActorKind.MEMBER,
               auth.TokenKind.OPERATOR: ActorKind.OPERATOR}


@dataclass(frozen=True)
class AttachmentLimits:
    """The settings' limits on attached files (#20 item 10)."""

    max_bytes: int = 10 * 1024 * 1024  # each file
    max_files: int = 5  # with one submission, answer, resolution or upload

    def body_bytes(self) -> int:
        """The largest request that carries them: every file at its largest, and text."""
        return self.max_files * self.max_bytes + 256 * 1024


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
    attachment_limits: AttachmentLimits = AttachmentLimits()

    def db(self) -> asyncpg.Pool:
        return self.rt.db()


@dataclass(frozen=True)
class Outcome:
    """What became of one submission: accepted (or replayed) with its answer, or refused."""

    status: int
    answer: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


# --- where who is asking stands -------------------------------------------------------------


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
