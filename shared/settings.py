"""Configuration from environment variables, one prefix per service.

Settings every service has in common (broker, database, province
configuration, log level) may be given once without a service prefix
(`THAOGO_KAFKA_BOOTSTRAP`) or per service (`THAOGO_ROUTER_KAFKA_BOOTSTRAP`),
the latter winning. Secrets come only from the environment; none has a default.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.http import Network, parse_networks

COMMON_PREFIX = "THAOGO_"
DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/thaogo"
COMMON_FIELDS = frozenset({
    "kafka_bootstrap", "database_url", "config_dir", "log_level", "kafka_security_protocol",
    "kafka_sasl_mechanism", "kafka_sasl_username", "kafka_sasl_password", "kafka_ssl_cafile",
    "kafka_compression", "trusted_proxies",
})
Compression = Literal["none", "gzip", "lz4", "zstd"]
DEFAULT_COMPRESSION: Compression = "zstd"
_SASL: dict[str, type[SASLPlaintext] | type[SASLScram256] | type[SASLScram512]] = {
    "PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512,
}


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
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = (
        "PLAINTEXT")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None  # the cluster's CA; the system's store if unset
    # Of the record batches this service produces. Every consumer decompresses whatever
    # it is given, so it may differ between services and change at any time.
    kafka_compression: Compression = DEFAULT_COMPRESSION
    # May carry the database password: kept out of repr() and model_dump() (a str, not a
    # SecretStr, because every pool and relay takes it as a DSN). The default has none.
    database_url: str = Field(DEFAULT_DATABASE_URL, repr=False, exclude=True)
    config_dir: Path | None = None  # province configuration; None means the shipped files
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    db_pool_min: int = 1
    db_pool_max: int = 10
    # How people reach this service from outside (links in messages and tasks).
    public_base_url: str | None = None
    # Largest request body (413 above); nothing larger is read into memory.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Comma-separated networks (CIDR) of the proxies in front of the service, e.g. the
    # ingress controller's pods: their X-Forwarded-For names the client for rate limits.
    # Empty: the peer address is the client and the header is ignored.
    trusted_proxies: str = ""

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

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: str) -> str:
        parse_networks(v)  # refused at start-up, not at the first request
        return v

    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> ServiceSettings:
        # Refused at start-up, not at the first connection attempt minutes later.
        if self.kafka_security_protocol.startswith("SASL_") and not (
                self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"kafka_security_protocol {self.kafka_security_protocol} needs "
                             "kafka_sasl_username and kafka_sasl_password")
        return self

    def kafka_security(self) -> BaseSecurity | None:
        """How every Kafka client of the service authenticates: the broker's consumers,
        the producer and the admin client all take this one object, so none can
        connect differently from the others. None on a plaintext cluster."""
        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        use_ssl = self.kafka_security_protocol.endswith("SSL")
        context = (ssl.create_default_context(
            cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
            if use_ssl else None)
        if self.kafka_security_protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        assert self.kafka_sasl_username and self.kafka_sasl_password  # by the validator
        return _SASL[self.kafka_sasl_mechanism](
            self.kafka_sasl_username, self.kafka_sasl_password.get_secret_value(),
            ssl_context=context, use_ssl=use_ssl)

    def base_url(self) -> str:
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::") else self.http_host
        return (self.public_base_url or f"http://{host}:{self.http_port}").rstrip("/")
