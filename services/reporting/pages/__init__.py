"""Reporting's HTML pages, at module level in one module per audience: the report pages
(reports.py) and the workspace's door (workspace.py); what they share is in common.py."""

from __future__ import annotations

from fastapi import APIRouter

from services.reporting.pages import reports, workspace
from services.reporting.pages.common import TEMPLATES

pages = APIRouter()
pages.include_router(reports.router)
pages.include_router(workspace.router)

__all__ = ["TEMPLATES", "pages"]
