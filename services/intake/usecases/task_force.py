"""What the task force's people do in their workspaces: members' weekly reports and week,
the permanent deputy's and the head's reminders, directions and compilation."""

from __future__ import annotations

import uuid

from services.intake import logic, store
from services.intake.models import (
    MemberReportAccepted,
    MemberReportIn,
    MemberWeekOut,
    ReportDraft,
    ReportDue,
    WeekFigures,
    WeekItem,
)
from services.intake.usecases.context import (
    SOURCE,
    Intake,
    member_of,
)
from shared import auth, vn
from shared.calendar import previous_window, to_local, week_window
from shared.errors import Refusal
from shared.events import (
    CompilationSaved,
    DirectionGiven,
    DirectionProgress,
    DirectionState,
    MemberReminderRequested,
    deterministic_id,
    new_envelope,
)
from shared.provinces import ProvinceConfig


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
