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


def test_a_taken_port_is_said_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import socket

    from thaogo.cli import main

    # The embedded broker is what meets the taken port (not a server the suite names).
    monkeypatch.delenv("THAOGO_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("THAOGO_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        try:
            code = main(["up", "--data-dir", str(tmp_path), "--kafka-port", str(port)])
        finally:
            signal.signal(signal.SIGINT, handlers[0])
            signal.signal(signal.SIGTERM, handlers[1])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} is taken" in err and "Traceback" not in err
