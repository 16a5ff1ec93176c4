from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THAOGO_REPORTING_", extra="ignore")

    http_port: int = 8003
    group_id: str = "thaogo-reporting"
    max_records: int = 1000
    outbox_batch_size: int = 500
    # How often the weekly publisher looks for a passed cutoff (and so its worst delay).
    schedule_poll_interval_s: float = 30.0
    # How often the province files are checked for edits (a dissolution, new members).
    config_reload_interval_s: float = 2.0
    # How often the open/overdue gauges are refreshed from the database.
    gauges_interval_s: float = 30.0
    # How often each task force's shared recommendations are regrouped if their open
    # items changed (the permanent deputy's page reads the stored groups).
    regroup_interval_s: float = Field(default=30.0, gt=0)
    # Signs the report links notify mails (and the head forwards). The same on every
    # replica; unset, each process makes up its own and links die with it. A placeholder
    # or a value under 32 characters is refused at start-up.
    link_secret: SecretStr | None = None
    # The link in the published report, mailed by notify.
    link_ttl_days: int = Field(default=60, ge=1, le=400)
    # A link handed to a reader in a JSON answer: bound to the reader's token as well.
    link_json_ttl_hours: int = Field(default=24, ge=1, le=24 * 31)
    # The page of a local mailbox where mailed sign-in links can be read (`thaogo up` sets
    # it to its own); named on the page that says a link was sent. Unset in production.
    mailbox_url: str | None = None
    # Intake's public URL, where the workspace's forms post (`/workspace/act/…`); empty
    # when a proxy serves both under one origin (`thaogo up` sets it to intake's port).
    intake_url: str = ""
    # Requests per client address per minute (refilled evenly) and burst, by route:
    # the sign-in (a token guessed by brute force), the tracking of one difficulty (a
    # tracking code and tax code guessed), and the rest of the JSON API and the pages.
    sign_in_rate_limit_per_minute: float = Field(default=10.0, gt=0)
    sign_in_rate_limit_burst: float = Field(default=10.0, ge=1)
    track_rate_limit_per_minute: float = Field(default=60.0, gt=0)
    track_rate_limit_burst: float = Field(default=30.0, ge=1)
    rate_limit_per_minute: float = Field(default=600.0, gt=0)
    rate_limit_burst: float = Field(default=600.0, ge=1)
    rate_limit_enabled: bool = True


@dataclass(frozen=True)
class Grouping:
    """The thresholds of the shared recommendations' grouping (#25 item 1). Fixed, not
    per deployment: the figures the README quotes were measured with them
    (`python -m tests.data.recommendations`), and a deputy's groups must not change
    with an environment variable."""

    alike: float  # cosine at which two texts raise the same obstacle
    citing_bonus: float  # added to the cosine of two items citing the same document
    floor: float  # a pair less alike than this counts as not alike (grouping.group)
    max_items: int  # the open items grouped, most recent first


GROUPING = Grouping(alike=0.15, citing_bonus=0.05, floor=0.05, max_items=1000)
