"""The router splices agency tasks from JSON it encoded once; what it splices must be
exactly what the model would have written, or agencies would read something else."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from bench.common import difficulty
from services.router import logic
from services.router.handlers import task_body
from shared.events import AgencyTask, deterministic_id
from shared.provinces import ConfigHolder


@pytest.mark.parametrize("status_url", [
    "http://127.0.0.1:8001/v1/difficulties/x/status",
    "https://một-cửa.example.vn/v1/difficulties/\"quoted\"\\/status",
])
def test_a_spliced_task_is_byte_for_byte_the_models_json(status_url: str) -> None:
    configs = ConfigHolder().current
    for n in range(8):  # every zone type, several categories
        d = difficulty(n)
        decided = logic.decide(d, configs.for_difficulty(d.province_code, d.task_force),
                               config_version=configs.version, now=datetime.now(UTC))
        for a in decided:
            task = AgencyTask(assignment=a, difficulty=d, status_url=status_url)
            spliced = task_body(a.model_dump_json().encode(), d.model_dump_json().encode(),
                                status_url)
            assert spliced == task.model_dump_json().encode()
            assert AgencyTask.model_validate_json(spliced) == task


@pytest.mark.parametrize("parts", [
    ("3f0c6a1e-9a53-4d6e-8f0e-2f4b8f1c0a11", "lead", "binh-duong.bql-kcn", None, None),
    ("3f0c6a1e-9a53-4d6e-8f0e-2f4b8f1c0a11", "member", "binh-duong.to-cong-tac", "thành-viên-1",
     uuid.UUID("6f1c2f0e-5b0a-4e53-9a43-3c1d1f0a7b11")),
])
def test_assignment_ids_are_the_shared_deterministic_ids(parts: tuple[object, ...]) -> None:
    assert str(logic.assignment_uuid(*parts)) == deterministic_id(*parts)
