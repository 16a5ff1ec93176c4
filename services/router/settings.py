from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_ROUTER_", extra="ignore")

    http_port: int = 8002
    group_id: str = "thaogo-router"
    max_records: int = 1000
    config_reload_interval_s: float = 2.0
    # Where agencies post status updates (intake's public address), named in each task.
    intake_public_url: str = "http://127.0.0.1:8001"
