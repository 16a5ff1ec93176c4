from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_REPORTING_", extra="ignore")

    http_port: int = 8003
    group_id: str = "thaogo-reporting"
    max_records: int = 1000
