"""Intake's pure rules: turning a validated submission into an event, tracking
codes, and the fingerprint that makes `Idempotency-Key` safe."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from shared import vn
from shared.events import Contact, DifficultyReceived

# Crockford's alphabet without I, L, O, U: nothing a business could misread on the phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_code() -> str:
    """A short human code the business keeps, e.g. "TG-4K7M-9QXR" (40 random bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"TG-{raw[:4]}-{raw[4:]}"


def request_fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_received(
    submission: dict[str, Any], *, difficulty_id: uuid.UUID, code: str, now: datetime
) -> DifficultyReceived:
    """The event for an accepted submission. `submission` has passed the request model;
    here the province is resolved (InvalidField if unknown) and the tax code normalised."""
    province = vn.resolve_province(submission["province"])
    contact = submission["contact"]
    return DifficultyReceived(
        difficulty_id=difficulty_id,
        tracking_code=code,
        received_at=now,
        province_code=province.code,
        province_name=province.name,
        task_force=province.task_force_slug,
        tax_code=vn.normalize_tax_code(submission["tax_code"]),
        enterprise_name=submission["enterprise_name"],
        zone_type=submission.get("zone_type"),
        zone_name=submission.get("zone_name"),
        category=submission["category"],
        kind=submission["kind"],
        title=submission["title"],
        description=submission["description"],
        urgency=submission["urgency"],
        contact=Contact(**contact),
        employees=submission.get("employees"),
        sector=submission.get("sector"),
        ward=submission.get("ward"),
        district=submission.get("district"),
        channel=submission.get("channel"),
    )
