"""Every refusal intake counts by name keeps its name on the metric: a field or reason
missing from the closed label sets is counted as `unknown_field` / `other`, and the
dashboard's breakdown loses it (the attachments' and triage's refusals did)."""

from __future__ import annotations

import re
from pathlib import Path

from services.intake.metrics import REFUSAL_FIELDS, REFUSAL_REASONS

INTAKE = Path(__file__).resolve().parents[2] / "services" / "intake"
CALL = re.compile(r'\.refused\(\s*"([^"]+)",\s*"([^"]+)"')


def test_every_named_refusal_is_a_label_of_its_own() -> None:
    calls = {m.groups() for f in INTAKE.rglob("*.py") for m in CALL.finditer(f.read_text())}
    assert len(calls) > 10  # the pattern still finds the calls
    assert sorted(f for f, _ in calls if f not in REFUSAL_FIELDS) == []
    assert sorted(r for _, r in calls if r not in REFUSAL_REASONS) == []
