"""A difficulty's page in an agency's workspace: the submission, its history, every agency's
part and the casework steps of the caller's part (the forms post to intake, as the queue's
do)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import access, logic, store
from services.reporting.api import Side
from services.reporting.pages.agency import (
    QUEUE,
    queue_item,
    sign_in_first,
    words,
)
from services.reporting.pages.common import (
    PAGE,
    Labeller,
    Lang,
    attachment_list,
    env,
    fmt,
    with_csrf,
)
from shared import auth, identity
from shared.errors import Refusal, responses
from shared.events import (
    CATEGORY_LABELS,
    OUTCOME_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    ZONE_TYPE_LABELS,
    Category,
    Outcome,
    Step,
    ZoneType,
)
from shared.provinces import ProvinceConfig

router = APIRouter(tags=["pages"])



@router.get("/workspace/difficulties/{difficulty_id}", response_class=Response,
            response_model=None,
            responses={**PAGE, 303: {"description": "Not signed in: the sign-in page"},
                       **responses(403, 404, 422)},
            summary="A difficulty's page: the submission, its history, every agency's part "
                    "and the casework steps of the caller's part")
async def difficulty_page(
    side: Side, request: Request, difficulty_id: Annotated[uuid.UUID, Path()],
    lang: Lang = "vi",
    done: Annotated[str | None, Query(max_length=40)] = None,
    refused: Annotated[str | None, Query(max_length=500)] = None,
    field: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse | RedirectResponse:
    who = await identity.browser_person(request)
    if who is None:
        return sign_in_first(lang)
    async with side.db().acquire() as conn:
        d = await store.difficulty_detail(conn, difficulty_id=difficulty_id)
        files = await store.attachments_of(conn, difficulty_id=difficulty_id)
    if d is None:
        raise Refusal(404, "difficulty_id", "no such difficulty", "không có hồ sơ này")
    configs = side.config.current
    cfg = logic.task_force_of(configs, d["province_code"], d["task_force"])
    part = logic.part_of(who.kind.value, who.subject_id,
                         triage_agency=cfg.rules.triage if cfg else None,
                         assignments=d["assignments"])
    # Beside those with a part: the task force's readers (members, the head, operators)
    # follow every case of their province.
    if part is None and not (access.reader_ok(who, configs) and (
            cfg is None or access.may_read(who, cfg.slug))):
        raise Refusal(403, "difficulty_id",
                      "this difficulty is not assigned to your agency or to you",
                      "phản ánh này không được giao cho cơ quan/thành viên của bạn")
    t = words(lang)
    name = Labeller(cfg, lang) if cfg is not None else None
    # The files are for the people on the case (intake serves them to no one else).
    on_case = part is not None or (cfg is not None and who.kind is auth.TokenKind.AGENCY
                                   and who.subject_id == cfg.rules.head)
    other = "en" if lang == "vi" else "vi"
    ministry = logic.ministry_of(d["assignments"])
    page = dict(
        t=t, lang=lang, d=d, part=part, item=queue_item(d, name, lang, side.now()),
        payload=d["payload"], kind_label=d["kind"], act_url=side.intake_url,
        actions=[(kind, value, (kind, value) in logic.NOTE_NEEDED)
                 for kind, value in logic.actions_for(
                     part, d["status"],
                     logic.own_step(who.kind.value, who.subject_id, d["assignments"]),
                     at_central=ministry is not None)],
        central=central_part(cfg, name, d, ministry, who, lang),
        outcomes=[(o.value, OUTCOME_LABELS[o][0 if lang == "vi" else 1]) for o in Outcome],
        open_parts=[a for a in d["assignments"] if a["active"] and a["role"] == "co_handler"
                    and a.get("step") not in logic.FINAL_STEPS],
        sees_contact=logic.sees_contact(part),
        parts=[{"agency": name("agency", a["agency_id"]) if name else a["agency_id"],
                "member": name.person(a["member_id"]) if name and a["member_id"] else "",
                "role": a["role"], "rule": a["rule"], "since": fmt(a["assigned_at"]),
                "active": a["active"], "ack_by": fmt(a["ack_due_at"]),
                "resolve_by": fmt(a["resolve_due_at"])} for a in d["assignments"]],
        history=[{"status": history_label(name, h, lang),
                  "by": actor(name, h["actor_kind"], h["actor_id"]),
                  "when": fmt(h["changed_at"]), "note": h["note"] or "",
                  "question": h["question"] or "",
                  "answer": h["answer"] or (h["comment"] or "")}
                 for h in d["history"]],
        done=done_label(done, lang) if done else None,
        answer=d["public_answer"],
        outcome=OUTCOME_LABELS[Outcome(d["outcome"])][0 if lang == "vi" else 1]
        if d["outcome"] else None,
        refused=refused, field=field,
        files=attachment_list(files, lang) if on_case else [],
        back=f"{QUEUE}?lang={lang}" if who.kind is auth.TokenKind.AGENCY else None,
        switch=f"/workspace/difficulties/{difficulty_id}?lang={other}",
    )
    return with_csrf(request, side, lambda csrf: HTMLResponse(
        env.get_template("difficulty.html").render(csrf=csrf, **page)))


def central_part(cfg: ProvinceConfig | None, name: Labeller | None, d: Mapping[str, Any],
                 ministry: Mapping[str, Any] | None, who: auth.Principal, lang: str
                 ) -> dict[str, Any] | None:
    """The case at central level: the ministry, the answer's deadline, the letter as
    registered, and the links to the letter for those who may read it (#22 item 6)."""
    if ministry is None or cfg is None:
        return None
    leads = [a["agency_id"] for a in d["assignments"] if a["role"] == "lead"]
    readable = logic.may_read_letter(who.kind.value, who.subject_id,
                                     triage_agency=cfg.rules.triage, head_agency=cfg.rules.head,
                                     leads=leads)
    base = f"/v1/difficulties/{d['difficulty_id']}/letter"
    return {
        "ministry": name("agency", ministry["agency_id"]) if name else ministry["agency_id"],
        "due": fmt(ministry["resolve_due_at"]),
        "letter": (f"{d['letter_number']} · {d['letter_date']:%d/%m/%Y}"
                   if d["letter_number"] else None),
        "docx": f"{base}.docx" if readable else None,
        "pdf": f"{base}.pdf" if readable else None,
    }


def history_label(name: Labeller | None, h: Mapping[str, Any], lang: str) -> str:
    """A change as the page lists it: the difficulty's new status, or (a co-handler's or
    a member's step, which leaves the status as it was) the step on their part."""
    t = words(lang)
    if h.get("merged_into_code"):  # the permanent deputy's triage (#20 item 3)
        return f"{t['d_merged_into']}: {h['merged_into_code']}"
    if h["status"] is not None:
        return name.status(h["status"]) if name else str(h["status"])
    if h.get("duplicate_code"):
        return f"{t['d_duplicate']}: {h['duplicate_code']}"
    if h.get("correction") is not None:
        return correction_label(name, h["correction"], lang)
    if h["step"] is None and h.get("letter_number"):  # the letter to the ministry (#22 6)
        return f"{words(lang)['c_letter']}: {h['letter_number']}"
    if h["step"] is None and not h.get("feedback") and h.get("attached"):  # #20 item 10
        return words(lang)["att_title"]
    if h["step"] is None:  # the business's word on its closed difficulty (#20 item 6)
        return feedback_label(h.get("feedback"), lang)
    step = Step(h["step"])
    return f"{STEP_LABELS[step][0 if lang == 'vi' else 1]} ({words(lang)['d_own_part']})"


def correction_label(name: Labeller | None, correction: Any, lang: str) -> str:
    """A correction from triage: the zone type, category and province it left."""
    c = json.loads(correction) if isinstance(correction, str) else (correction or {})
    i = 0 if lang == "vi" else 1
    zone = (ZONE_TYPE_LABELS[ZoneType(c["zone_type"])][i] if c.get("zone_type")
            else "—")
    category = CATEGORY_LABELS[Category(c["category"])][i] if c.get("category") else "—"
    return (f"{words(lang)['d_corrected']}: {zone}; {category}; "
            f"{c.get('province_name') or c.get('province_code') or ''}")


def feedback_label(feedback: Any, lang: str) -> str:
    t = words(lang)
    f = json.loads(feedback) if isinstance(feedback, str) else (feedback or {})
    resolved = f.get("resolved")
    said = (None if resolved is None
            else t["d_fb_resolved"] if resolved else t["d_fb_not_resolved"])
    parts = [p for p in (said, f"{f['rating']}/5" if f.get("rating") else None) if p]
    return f"{t['d_fb']}: {', '.join(parts)}" if parts else t["d_fb"]


def done_label(done: str, lang: str) -> str:
    """What intake's redirect says was done: a status, a step or an outcome, in words."""
    i = 0 if lang == "vi" else 1
    if (said := words(lang).get(f"done_{done}")) is not None:
        return said
    for labels in (STATUS_LABELS, STEP_LABELS, OUTCOME_LABELS):
        for key, names in labels.items():
            if key.value == done:
                return names[i]
    return done


def actor(name: Labeller | None, kind: str, actor_id: str) -> str:
    if name is None:
        return actor_id
    if kind == "agency":
        return name("agency", actor_id)
    if kind == "business":
        return words("vi" if name.i == 0 else "en")["d_the_business"]
    return name.person(actor_id) if kind == "member" else actor_id
