"""The permanent deputy's page of recommendations many businesses share (#25 item 1):
the groups among the task force's open items, with how many businesses raised each and
the documents they cite, each with the form that merges it into one policy bottleneck
for a central ministry; and the bottlenecks sent, with the form for the ministry's answer.

The groups are those of the most recent GROUPING.max_items (1000) open items: a group
depends on all of them together (the weight of each word, which groups are most alike
on average), so an item arriving or closing can regroup others. Grouping 1,000 items
takes seconds in Python (README), so reporting's background job (`jobs.regroup`)
regroups a task force's items when they change and stores the groups with the key of
their input; the page uses the stored groups when its items are the same, and groups
(and stores) them itself only when they changed since the job's last pass."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import grouping, store, usecases
from services.reporting.api import Side
from services.reporting.pages.common import Lang
from services.reporting.pages.people import SESSION_PAGE, SHARED, desk
from shared.calendar import to_local
from shared.events import AgencyLevel

router = APIRouter(tags=["pages"])


@router.get(SHARED, response_class=Response, response_model=None, responses=SESSION_PAGE,
            summary="Recommendations many businesses share, and the policy bottlenecks sent")
async def shared_recommendations(side: Side, request: Request, lang: Lang = "vi"
                                 ) -> HTMLResponse | RedirectResponse:
    d = await desk(side, request, lang, "permanent_deputy")
    if isinstance(d, RedirectResponse):
        return d
    rows, found = await usecases.shared_groups(side.db(), task_force=d.cfg.slug,
                                               now=side.now())
    async with side.db().acquire() as conn:
        sent = await store.bottlenecks_of(conn, task_force=d.cfg.slug)
    groups = grouping.shared_from(
        rows, found, escalation={str(k): str(v) for k, v in d.cfg.rules.escalation.items()})
    ministries = [a for a in d.cfg.agencies if a.level is AgencyLevel.CENTRAL]
    return d.render(request, side, "people_shared.html", SHARED, groups=groups,
                    considered=len(rows), sent=sent, ministries=ministries,
                    today=to_local(side.now()).date().isoformat())
