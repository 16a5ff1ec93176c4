"""`thaogo up`'s banner: the database URL shown whole, its password never."""

from __future__ import annotations

from pathlib import Path

import pytest

from thaogo.up import _print_urls, masked_url


def test_an_external_database_password_is_masked(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    url = "postgresql://thaogo:s3cr%40t-pw@db.example.vn:5432/thaogo?sslmode=require"
    _print_urls({"intake": 1, "router": 2, "reporting": 3, "notify": 4}, "k:9092", url,
                tmp_path, mailbox_url=None, sign_in=[], config_dir=tmp_path)
    out = capsys.readouterr().out
    assert "s3cr" not in out
    assert "postgresql://thaogo:***@db.example.vn:5432/thaogo?sslmode=require" in out


def test_the_embedded_socket_url_is_shown_whole() -> None:
    url = "postgresql://postgres:@/postgres?host=/tmp/thaogo/postgres/run"
    assert masked_url(url) == url
    assert masked_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert (masked_url("postgresql://u:p@[::1]:5432/db?host=/s")
            == "postgresql://u:***@[::1]:5432/db?host=/s")
