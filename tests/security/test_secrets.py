"""Secrets come only from the environment: no secret-bearing setting of any service has a
default that holds a secret, and none is ever rendered by repr(), str() or model_dump()
(where a settings object ends up in a log line or an error report). No I/O."""

from __future__ import annotations

import json
import re
from importlib import import_module
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from shared.settings import ServiceSettings

SERVICES = ("intake", "router", "reporting", "notify")
# Names that say a setting holds a credential; a new one (a signing key, an HMAC secret)
# is caught by its name without anyone having to list it here.
SECRET_NAME = re.compile(r"password|secret|token|(^|_)key$|credential|database_url|dsn")
MARKER = "s3cr3t-M4RKER"


def settings_classes() -> list[type[ServiceSettings]]:
    found: list[type[ServiceSettings]] = [ServiceSettings]
    for service in SERVICES:
        module = import_module(f"services.{service}.settings")
        found += [v for v in vars(module).values() if isinstance(v, type)
                  and issubclass(v, ServiceSettings) and v is not ServiceSettings]
    return found


def secret_fields(cls: type[ServiceSettings]) -> dict[str, FieldInfo]:
    return {n: f for n, f in cls.model_fields.items() if SECRET_NAME.search(n)}


def test_every_service_and_its_secret_settings_are_found() -> None:
    classes = settings_classes()
    assert len(classes) == 1 + len(SERVICES)
    names = set().union(*(secret_fields(c) for c in classes))
    # The ones known today; the checks below apply to any that is added.
    assert {"database_url", "kafka_sasl_password", "smtp_password", "webhook_secret",
            "zalo_access_token"} <= names


@pytest.mark.parametrize("cls", settings_classes(), ids=lambda c: c.__name__)
def test_secret_settings_have_no_default_and_are_never_rendered(
    cls: type[ServiceSettings],
) -> None:
    values: dict[str, str] = {}
    for name, info in secret_fields(cls).items():
        hidden = info.annotation is not None and SecretStr in getattr(
            info.annotation, "__args__", (info.annotation,))
        assert hidden or (info.repr is False and info.exclude is True), (
            f"{cls.__name__}.{name} must be a SecretStr (or excluded from repr and dump)")
        if name == "database_url":
            # A local default is allowed only without a password in it.
            assert urlsplit(str(info.default)).password is None, name
            values[name] = f"postgresql://thaogo:{MARKER}@db.invalid:5432/thaogo"
        else:
            assert info.default is None, f"{cls.__name__}.{name} has a default"
            values[name] = MARKER
    settings = cls(**values)  # type: ignore[arg-type]
    for rendered in (repr(settings), str(settings), json.dumps(settings.model_dump(),
                                                                default=str),
                     settings.model_dump_json()):
        assert MARKER not in rendered, cls.__name__
    # ...and the value is still there for the code that needs it.
    assert MARKER in settings.database_url
