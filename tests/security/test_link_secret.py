"""The report-link secret: a placeholder or a short one is refused at start-up, with the
way to make a good one; `thaogo up` makes and keeps one per data directory."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest

from services.reporting import access, main
from services.reporting.settings import ReportingSettings
from thaogo.up import link_secret

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / ".env.example"


@pytest.mark.parametrize("weak", ["change-me", "CHANGE-ME", "changeme", "secret",
                                  "short-but-random-Xq3", "x" * 31])
def test_placeholders_and_short_secrets_are_refused(weak: str) -> None:
    with pytest.raises(access.WeakSecret, match="token_urlsafe"):
        access.LinkSigner.create(weak, ttl_days=60)
    with pytest.raises(access.WeakSecret):
        main.build(ReportingSettings(link_secret=weak))  # type: ignore[arg-type]


def test_a_random_secret_is_taken() -> None:
    signer = access.LinkSigner.create(secrets.token_urlsafe(32), ttl_days=60)
    assert len(signer.secret) >= access.MIN_SECRET_LENGTH


def test_the_compose_example_ships_no_usable_secret() -> None:
    values = dict(line.partition("=")[::2] for line in ENV_EXAMPLE.read_text().splitlines()
                  if line and not line.startswith("#"))
    shipped = values["THAOGO_REPORTING_LINK_SECRET"]
    # Empty: compose's ${...:?} refuses to start until it is filled in.
    assert shipped == ""


def test_thaogo_up_makes_one_secret_per_data_dir_and_keeps_it(tmp_path: Path) -> None:
    first = link_secret(tmp_path)
    access.check_secret(first)
    assert link_secret(tmp_path) == first  # links mailed before a restart still open
    assert stat.S_IMODE((tmp_path / "link-secret").stat().st_mode) == 0o600
    (tmp_path / "other").mkdir()
    assert link_secret(tmp_path / "other") != first
