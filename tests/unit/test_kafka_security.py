"""Every Kafka client of a service authenticates the same way, from the environment."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

import shared.kafka.producer
from shared.kafka import Producer
from shared.service import Runtime
from shared.settings import ServiceSettings

SCRAM = {
    "THAOGO_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "THAOGO_KAFKA_SASL_USERNAME": "thaogo-router",
    "THAOGO_KAFKA_SASL_PASSWORD": "s3cret-from-the-KafkaUser-secret",
}


def _env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for k, v in values.items():
        monkeypatch.setenv(k, v)


def _consumer_options(rt: Runtime) -> dict[str, Any]:
    builder = rt.broker.config.broker_config.builder  # type: ignore[attr-defined]
    return dict(builder.keywords)


def test_plaintext_by_default_adds_no_security_options() -> None:
    s = ServiceSettings()
    assert s.kafka_security() is None
    opts = _consumer_options(Runtime.create("router", s))
    assert "sasl_mechanism" not in opts


def test_scram_reaches_the_consumers_and_the_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, SCRAM)
    s = ServiceSettings()
    rt = Runtime.create("router", s)
    opts = _consumer_options(rt)
    assert opts["security_protocol"] == "SASL_PLAINTEXT"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_username"] == "thaogo-router"
    assert opts["sasl_plain_password"] == SCRAM["THAOGO_KAFKA_SASL_PASSWORD"]

    seen: dict[str, Any] = {}

    class Recording:
        def __init__(self, **kwargs: Any) -> None:
            seen.update(kwargs)

        async def start(self) -> None:
            return None

    monkeypatch.setattr(shared.kafka.producer, "AIOKafkaProducer", Recording)


    asyncio.run(rt.producer.start())
    assert isinstance(rt.producer, Producer)
    assert seen["sasl_mechanism"] == "SCRAM-SHA-512"
    assert seen["sasl_plain_username"] == "thaogo-router"
    assert seen["security_protocol"] == "SASL_PLAINTEXT"


def test_password_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, SCRAM)
    s = ServiceSettings()
    assert SCRAM["THAOGO_KAFKA_SASL_PASSWORD"] not in repr(s)
    assert SCRAM["THAOGO_KAFKA_SASL_PASSWORD"] not in str(s.model_dump())


def test_sasl_ssl_uses_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, {**SCRAM, "THAOGO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                       "THAOGO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256"})
    sec = ServiceSettings().kafka_security()
    assert sec is not None and sec.use_ssl and sec.ssl_context is not None


def test_sasl_without_credentials_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THAOGO_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(ValidationError, match="kafka_sasl_username and kafka_sasl_password"):
        ServiceSettings()


def test_unknown_protocol_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THAOGO_KAFKA_SECURITY_PROTOCOL", "SASL_TLS")
    with pytest.raises(ValidationError, match="kafka_security_protocol"):
        ServiceSettings()
