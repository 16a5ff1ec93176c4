"""The operator guide documents every setting every service reads, so a new setting
cannot ship undocumented."""

from __future__ import annotations

import importlib
import re

import pytest

from shared.settings import COMMON_FIELDS, ServiceSettings
from tests.deploy.deploy_helpers import DEPLOY

SERVICES = ("intake", "router", "reporting", "notify")


def _settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    found = [v for v in vars(module).values() if isinstance(v, type)
             and issubclass(v, ServiceSettings) and v is not ServiceSettings]
    assert len(found) == 1, found
    return found[0]


def _documented(readme: str, prefix: str, name: str) -> bool:
    """`THAOGO_INTAKE_MAX_IMPORT_ROWS`, or in a shared row as `_MAX_IMPORT_ROWS`."""
    return f"`{prefix}{name}`" in readme or re.search(rf"`_{name}`", readme) is not None


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_is_in_the_operator_guide(service: str) -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    cls = _settings_class(service)
    prefix = str(cls.model_config.get("env_prefix"))
    base = set(ServiceSettings.model_fields)
    missing = []
    for field in cls.model_fields:
        name = field.upper()
        if field in COMMON_FIELDS:
            ok = f"`THAOGO_{name}`" in readme
        elif field in base:
            ok = _documented(readme, "THAOGO_<SERVICE>_", name)
        else:
            ok = _documented(readme, prefix, name)
        if not ok:
            missing.append(f"{prefix}{name}")
    assert not missing, "settings missing from deploy/README.md: " + ", ".join(missing)
