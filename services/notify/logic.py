"""Notify's pure rules: what message an event calls for, under which key."""

from __future__ import annotations

from shared.events import DifficultyAssigned


def assignment_message_key(a: DifficultyAssigned) -> str:
    """One notice per assignment and recipient: replays and replicas map to the same key."""
    return f"assignment:{a.assignment_id}:{a.member_id or a.agency_id}"
