from __future__ import annotations

from datetime import time

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Everything notify does is configurable here; the defaults are the task force's."""

    model_config = SettingsConfigDict(env_prefix="THAOGO_NOTIFY_", extra="ignore")

    http_port: int = 8004
    group_id: str = "thaogo-notify"
    max_records: int = 500

    # --- e-mail (SMTP) ---
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # None: STARTTLS when the server offers it; True: required; False: never.
    smtp_starttls: bool | None = None
    smtp_from: str = "Tổ công tác thaogo <no-reply@thaogo.invalid>"
    smtp_timeout_s: float = 30.0

    # --- webhook ---
    webhook_secret: SecretStr | None = None  # used when a contact names no secret_env
    webhook_timeout_s: float = 15.0

    # --- Zalo Official Account ---
    zalo_api_url: str = "https://openapi.zalo.me/v3.0/oa/message/cs"
    zalo_access_token: SecretStr | None = None
    zalo_timeout_s: float = 15.0

    # --- Zalo Notification Service: template messages to businesses (#20 item 6) ---
    # The app's id and secret key, and the OA's first refresh token (from the OA's
    # authorisation of the app). Each refresh returns a new refresh token, single-use, which
    # notify keeps in its database (`zalo_tokens`) and uses from then on; this one only
    # seeds it. Without all three, ZNS messages fail (not retried) and e-mails still go.
    zalo_app_id: str | None = None
    zalo_secret_key: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None
    zalo_oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    zns_api_url: str = "https://business.openapi.zalo.me/message/template"

    # --- what is sent, when ---
    # Reporting's public address: links to the report pages, and to the business's
    # tracking page (/track) in its notices.
    report_base_url: str = "http://127.0.0.1:8003"
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)
    # Office hours on working days: outside them a business's own urgent flag waits for
    # them to reach the head and the permanent deputy (what an officer or a member
    # vouched for does not).
    work_start: time = time(7, 30)
    work_end: time = time(17, 0)
    # Weekly report reminders, "weekday HH:MM" (0 = Monday), before the Friday cutoff.
    weekly_reminders: tuple[str, ...] = ("3 16:00", "4 09:00")
    # How long after the cutoff the missing list may still go out (a notify that
    # was down at 12:00 sends it when it is back, not a week later).
    missing_list_grace_s: float = 6 * 3600

    # --- dispatch ---
    dispatch_interval_s: float = 1.0
    sweep_interval_s: float = 30.0
    dispatch_batch: int = 100
    dispatch_concurrency: int = 10
    lease_s: float = 120.0
    max_attempts: int = 8
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
