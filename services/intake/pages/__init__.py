"""The web form at `/`: a business submits a difficulty without any API client.

Server-rendered (Jinja2, autoescaped), Vietnamese by default with an English switch
(`?lang=en`, or Accept-Language), and no JavaScript needed: the form posts back here,
goes through the very path of `POST /v1/difficulties` (request model, cleaning,
province, task-force lifecycle, idempotency, outbox) and renders either the tracking
code or the form again with each error next to its field.

By concern: `common` (templates, words, the `pages` router), `form` (the business's form),
`workspace` (the forms on one difficulty, the tracking page's answers), `people` (the
people's workspaces), `bottlenecks` (the deputy's shared recommendations). The modules
add their routes to one router.
"""

from __future__ import annotations

from services.intake.pages.bottlenecks import (
    workspace_bottleneck,
    workspace_bottleneck_answer,
)
from services.intake.pages.common import (
    TEMPLATES,
    TEXT,
    WorkspaceForm,
    _env,
    page_language,
    pages,
    refusal_text,
)
from services.intake.pages.form import (
    TEXT_FIELDS,
    WEB_CHANNEL,
    form_page,
    form_post,
    options,
    render,
    submission_of,
)
from services.intake.pages.people import (
    MAX_AT_ONCE,
    Figure,
    ReportField,
    back_to_page,
    back_to_queue,
    workspace_acknowledge,
    workspace_compilation,
    workspace_contact,
    workspace_direction,
    workspace_direction_progress,
    workspace_member_report,
    workspace_remind,
    workspace_triage,
)
from services.intake.pages.workspace import (
    DateForm,
    FormLang,
    LetterNumberForm,
    Note,
    act_on_case,
    back_to,
    track_answer,
    track_feedback,
    workspace_letter,
    workspace_ministry_answer,
    workspace_resolution,
    workspace_status,
    workspace_step,
)

# The names `from services.intake.pages import X` has always given.
__all__ = [
    "MAX_AT_ONCE",
    "TEMPLATES",
    "TEXT",
    "TEXT_FIELDS",
    "WEB_CHANNEL",
    "DateForm",
    "Figure",
    "FormLang",
    "LetterNumberForm",
    "Note",
    "ReportField",
    "WorkspaceForm",
    "_env",
    "act_on_case",
    "back_to",
    "back_to_page",
    "back_to_queue",
    "form_page",
    "form_post",
    "options",
    "page_language",
    "pages",
    "refusal_text",
    "render",
    "submission_of",
    "track_answer",
    "track_feedback",
    "workspace_acknowledge",
    "workspace_bottleneck",
    "workspace_bottleneck_answer",
    "workspace_compilation",
    "workspace_contact",
    "workspace_direction",
    "workspace_direction_progress",
    "workspace_letter",
    "workspace_member_report",
    "workspace_ministry_answer",
    "workspace_remind",
    "workspace_resolution",
    "workspace_status",
    "workspace_step",
    "workspace_triage",
]
