from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_INTAKE_", extra="ignore")

    http_port: int = 8001
    db_pool_max: int = 20
    max_body_bytes: int = 256 * 1024
    max_import_bytes: int = 20 * 1024 * 1024
    outbox_batch_size: int = 1000
    assignments_group_id: str = "thaogo-intake-assignments"
