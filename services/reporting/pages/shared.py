"""The permanent deputy's page of recommendations many businesses share (#25 item 1):
the groups among the task force's open items, with how many businesses raised each and
the documents they cite, each with the form that merges it into one policy bottleneck
for a central ministry; and the bottlenecks sent, with the form for the ministry's answer.

The groups are computed when the page is asked for, from the read model's open items:
a group depends on all the open items together (the weight of each word, which groups
are most alike on average), so an item arriving or closing can regroup others, and a
grouping kept up to date would redo this work on every event instead of on each visit
of one person. The most recent GROUPING.max_items (1000) open items are grouped: about
1.3 s measured for 1000 on a shared two-core machine, 0.08 s for 200 (README)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.reporting import grouping, store
from services.reporting.api import Side
from services.reporting.pages.common import Lang
from services.reporting.pages.people import SESSION_PAGE, SHARED, desk
from services.reporting.settings import GROUPING
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
    async with side.db().acquire() as conn:
        rows = await store.open_to_group(conn, task_force=d.cfg.slug,
                                         limit=GROUPING.max_items)
        sent = await store.bottlenecks_of(conn, task_force=d.cfg.slug)
    groups = grouping.shared_recommendations(
        rows, alike=GROUPING.alike, citing_bonus=GROUPING.citing_bonus, floor=GROUPING.floor,
        escalation={str(k): str(v) for k, v in d.cfg.rules.escalation.items()})
    ministries = [a for a in d.cfg.agencies if a.level is AgencyLevel.CENTRAL]
    return d.render(request, side, "people_shared.html", SHARED, groups=groups,
                    considered=len(rows), sent=sent, ministries=ministries,
                    today=to_local(side.now()).date().isoformat())
