from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_NOTIFY_", extra="ignore")

    http_port: int = 8004
    group_id: str = "thaogo-notify"
    max_records: int = 500
