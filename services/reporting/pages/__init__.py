"""Reporting's HTML pages, at module level in one module per audience: the report pages
(reports.py), the workspace's door (workspace.py), an agency's queue (agency.py) and a
difficulty's page (difficulty.py), the people of the task force (people.py), the
business's tracking page (track.py), the public view of a province (public.py), the
recommendations many businesses share (shared.py); what they share is in common.py."""

from __future__ import annotations

from fastapi import APIRouter

from services.reporting.pages import (
    agency,
    difficulty,
    people,
    public,
    reports,
    shared,
    track,
    workspace,
)
from services.reporting.pages.common import TEMPLATES

pages = APIRouter()
pages.include_router(reports.router)
pages.include_router(workspace.router)
pages.include_router(people.router)
pages.include_router(track.router)
pages.include_router(agency.router)
pages.include_router(difficulty.router)
pages.include_router(public.router)
pages.include_router(shared.router)

__all__ = ["TEMPLATES", "pages"]
