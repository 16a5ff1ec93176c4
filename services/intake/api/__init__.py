"""Intake's HTTP API: routes at module level, each a thin call of a use case. What a
route needs comes in through dependencies: `intake` (the service, built by main.py) and
`shared.identity.SignedIn` (whoever is asking, as in every service).

By what the routes serve: `common` (the dependencies, the answer of an outcome),
`submissions` (a business's submission, the CSV import, the vocabulary), `casework` (on
one difficulty: status, urgency, steps, resolution, the ministry's answer and letter,
reading it), `triage` (the deputy's corrections and merges), `bottlenecks` (#25 item 1),
`task_force` (a member's report and week), `attachments` (#20 item 10). Each module has
its `router`; `api` below is the one main.py mounts. Every public name is re-exported here.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.intake.api import (
    attachments,
    bottlenecks,
    casework,
    submissions,
    task_force,
    triage,
)
from services.intake.api.attachments import (
    ATTACH_DESCRIPTION,
    ATTACHMENT_PATHS,
    FILE_TYPES,
    file_response,
    get_attachment,
    multipart,
    post_attachments,
)
from services.intake.api.bottlenecks import post_bottleneck, post_bottleneck_answer
from services.intake.api.casework import (
    confirm_urgency,
    post_letter,
    post_ministry_answer,
    post_resolution,
    post_status,
    post_step,
    read_difficulty,
)
from services.intake.api.common import Service, answer, intake
from services.intake.api.submissions import (
    CSV_TYPES,
    IMPORT_DESCRIPTION,
    IMPORT_PATH,
    get_vocabulary,
    import_csv,
    submit,
)
from services.intake.api.task_force import member_week, post_member_report
from services.intake.api.triage import post_correction, post_merge

# The order of the OpenAPI document (and of the docs page): what comes in, the casework on
# it, the deputy's, the members', the documents.
api = APIRouter()
api.include_router(submissions.router)
api.include_router(casework.router)
api.include_router(triage.router)
api.include_router(bottlenecks.router)
api.include_router(task_force.router)
api.include_router(attachments.router)

# The names `from services.intake.api import X` has always given.
__all__ = [
    "ATTACHMENT_PATHS",
    "ATTACH_DESCRIPTION",
    "CSV_TYPES",
    "FILE_TYPES",
    "IMPORT_DESCRIPTION",
    "IMPORT_PATH",
    "Service",
    "answer",
    "api",
    "confirm_urgency",
    "file_response",
    "get_attachment",
    "get_vocabulary",
    "import_csv",
    "intake",
    "member_week",
    "multipart",
    "post_attachments",
    "post_bottleneck",
    "post_bottleneck_answer",
    "post_correction",
    "post_letter",
    "post_member_report",
    "post_merge",
    "post_ministry_answer",
    "post_resolution",
    "post_status",
    "post_step",
    "read_difficulty",
    "submit",
]
