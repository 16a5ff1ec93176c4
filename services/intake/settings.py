from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_INTAKE_", extra="ignore")

    http_port: int = 8001
    db_pool_max: int = 20
    max_import_bytes: int = 20 * 1024 * 1024
    max_import_rows: int = 10_000
    import_chunk_rows: int = 1_000  # rows per transaction in a bulk import
    outbox_batch_size: int = 1000
    assignments_group_id: str = "thaogo-intake-assignments"
    # Per client IP: requests per minute, refilled evenly, with bursts up to `burst`.
    # Generous by default (a form submits once); the benchmarks must not trip it.
    rate_limit_per_minute: float = 600.0
    rate_limit_burst: float = 600.0
    rate_limit_enabled: bool = True
    # The business's answers on its tracking page, as reporting's /track.
    track_rate_limit_per_minute: float = 60.0
    track_rate_limit_burst: float = 30.0
    config_reload_interval_s: float = 2.0
    # Where the workspace pages are (reporting's public URL): after a workspace form,
    # intake sends the browser back there. Empty when both are one origin (compose and
    # Kubernetes route /workspace/ by path); `thaogo up` sets reporting's port.
    workspace_url: str = ""
    # Documents attached to a difficulty (#20 item 10): each file at most this size, at
    # most this many with one submission, answer or resolution. A request carrying files
    # may be as large as all of them at their largest, plus its text.
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 5
