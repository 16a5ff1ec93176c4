"""Configuration from environment variables, one prefix per service.

Settings every service has in common (broker, database, province
configuration, log level) may be given once without a service prefix
(`THAOGO_KAFKA_BOOTSTRAP`) or per service (`THAOGO_ROUTER_KAFKA_BOOTSTRAP`),
the latter winning. Secrets come only from the environment; none has a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

COMMON_PREFIX = "THAOGO_"
DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/thaogo"
COMMON_FIELDS = frozenset({
    "kafka_bootstrap", "database_url", "config_dir", "log_level", "kafka_security_protocol",
    "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password",
})


class _CommonEnv(EnvSettingsSource):
    """`THAOGO_<NAME>` for the common fields only, so that a stray `THAOGO_HTTP_PORT`
    cannot silently move every service to one port."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k in COMMON_FIELDS}


class ServiceSettings(BaseSettings):
    """Base of each service's settings; each subclass sets its own `env_prefix`."""

    # Empty values count as unset: compose passes `${VAR:-}` for channels nobody configured.
    model_config = SettingsConfigDict(env_prefix="THAOGO_BASE_", extra="ignore",
                                      env_ignore_empty=True)

    kafka_bootstrap: str = DEFAULT_KAFKA
    # PLAINTEXT here; SASL_PLAINTEXT or SASL_SSL with SCRAM where ACLs are enforced
    # (Strimzi KafkaUser per service).
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    config_dir: Path | None = None  # province configuration; None means the shipped files
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    db_pool_min: int = 1
    db_pool_max: int = 10
    # How people reach this service from outside (links in messages and tasks).
    public_base_url: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        common = _CommonEnv(settings_cls, env_prefix=COMMON_PREFIX)
        return (init_settings, env_settings, common, file_secret_settings)

    def kafka_client_options(self) -> dict[str, Any]:
        """aiokafka options for authentication; empty on a plaintext cluster."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return {}
        return {
            "security_protocol": self.kafka_security_protocol,
            "sasl_mechanism": self.kafka_sasl_mechanism,
            "sasl_plain_username": self.kafka_sasl_username,
            "sasl_plain_password": self.kafka_sasl_password,
        }

    def base_url(self) -> str:
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::") else self.http_host
        return (self.public_base_url or f"http://{host}:{self.http_port}").rstrip("/")
