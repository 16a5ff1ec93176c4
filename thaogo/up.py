"""`thaogo up`: the whole system on one machine, on the embedded broker and PostgreSQL
(or servers named by THAOGO_KAFKA_BOOTSTRAP and THAOGO_DATABASE_URL), with a local
mailbox, demo sign-in links per role, and a supervisor that restarts what crashes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from thaogo.launcher import ServiceProcess, stop_all
from thaogo.stack import (
    SERVICES,
    STACK_FILE,
    create_topics,
    data_dir_of,
    migrate_all,
    rebuild_if_needed,
)


def cmd_up(args: argparse.Namespace) -> int:
    from thaogo.embedded import EmbeddedBroker, EmbeddedPostgres

    data_dir = data_dir_of(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    pg: EmbeddedPostgres | None = None
    children: dict[str, ServiceProcess] = {}
    mail: subprocess.Popen[bytes] | None = None
    database_url: str | None = None
    stopping = False

    def on_signal(signum: int, _: Any) -> None:
        nonlocal stopping
        stopping = True

    given = os.environ.get("THAOGO_REPORTING_LINK_SECRET")
    if given:
        from services.reporting.access import WeakSecret, check_secret

        try:
            check_secret(given)
        except WeakSecret as e:
            print(e, file=sys.stderr)
            return 2
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bootstrap = os.environ.get("THAOGO_KAFKA_BOOTSTRAP")
        if not bootstrap:
            broker = EmbeddedBroker(port=args.kafka_port, log_file=data_dir / "broker.log").start()
            bootstrap = broker.bootstrap
            print(MEMORY_ONLY, flush=True)
        database_url = os.environ.get("THAOGO_DATABASE_URL")
        if not database_url:
            pg = EmbeddedPostgres(data_dir / "postgres").start()
            database_url = pg.url
        env = dict(os.environ, THAOGO_KAFKA_BOOTSTRAP=bootstrap, THAOGO_DATABASE_URL=database_url)
        # One link-signing key for this data directory, so report links mailed by notify
        # open, after a restart too.
        if not env.get("THAOGO_REPORTING_LINK_SECRET"):
            env["THAOGO_REPORTING_LINK_SECRET"] = link_secret(data_dir)
        # The configuration the stack reads, and `thaogo taskforce dissolve` edits: a copy
        # in the data directory, never the files of the installed package.
        if not env.get("THAOGO_CONFIG_DIR"):
            env["THAOGO_CONFIG_DIR"] = str(own_config_dir(data_dir))
        config_dir = Path(env["THAOGO_CONFIG_DIR"])
        os.environ.update(env)
        ports = {svc: getattr(args, f"{svc}_port") for svc in SERVICES}
        env["THAOGO_ROUTER_INTAKE_PUBLIC_URL"] = f"http://127.0.0.1:{ports['intake']}"
        reporting_url = f"http://127.0.0.1:{ports['reporting']}"
        asyncio.run(migrate_all(database_url))
        mailbox_url = None
        if not env.get("THAOGO_NOTIFY_SMTP_HOST"):
            # No mail server on a fresh machine: notify mails a local mailbox instead.
            mail = _start_mailbox(data_dir, smtp_port=args.smtp_port, port=args.mailbox_port)
            mailbox_url = f"http://127.0.0.1:{args.mailbox_port}/"
            env.update(THAOGO_NOTIFY_SMTP_HOST="127.0.0.1",
                       THAOGO_NOTIFY_SMTP_PORT=str(args.smtp_port),
                       THAOGO_NOTIFY_SMTP_STARTTLS="false",
                       THAOGO_REPORTING_MAILBOX_URL=mailbox_url)
        sign_in = asyncio.run(_demo_links(database_url, config_dir, reporting_url,
                                          env["THAOGO_REPORTING_LINK_SECRET"]))

        def topics_ready() -> None:
            print(f"creating topics on {bootstrap} …", flush=True)
            known = set(asyncio.run(create_topics(bootstrap, config_dir)))
            asyncio.run(rebuild_if_needed(
                bootstrap, database_url, known_topics=known,
                status_url=env["THAOGO_ROUTER_INTAKE_PUBLIC_URL"]))

        topics_ready()
        env["THAOGO_NOTIFY_REPORT_BASE_URL"] = f"http://127.0.0.1:{ports['reporting']}"
        # The workspace pages (reporting) post their forms to intake, which sends the
        # browser back to them.
        env["THAOGO_INTAKE_WORKSPACE_URL"] = env["THAOGO_NOTIFY_REPORT_BASE_URL"]
        env["THAOGO_REPORTING_INTAKE_URL"] = f"http://127.0.0.1:{ports['intake']}"
        logs_dir = data_dir / "logs"
        logs_dir.mkdir(exist_ok=True)

        def spawn(svc: str) -> ServiceProcess:
            return ServiceProcess(svc, ports[svc], env, logs_dir / f"{svc}.log").start()

        for svc in SERVICES:
            children[svc] = spawn(svc)
        # The addresses are printed (and the stack file that the other commands read is
        # written) once the services answer: a `thaogo demo` typed at once then works.
        waiting = set(SERVICES)
        deadline = time.monotonic() + 180
        while waiting and not stopping and time.monotonic() < deadline:
            for svc in sorted(waiting):
                if children[svc].ready():
                    waiting.discard(svc)
                elif children[svc].exited:
                    print(f"{svc} exited while starting; see {logs_dir / (svc + '.log')}",
                          flush=True)
                    waiting.discard(svc)
            time.sleep(0.3)
        _write_stack_file(data_dir, bootstrap, database_url, ports, config_dir=config_dir,
                          mailbox_url=mailbox_url)
        _print_urls(ports, bootstrap, database_url, logs_dir, mailbox_url=mailbox_url,
                    sign_in=sign_in, config_dir=config_dir)
        restarts: dict[str, float] = {}
        while not stopping:
            time.sleep(0.5)
            if broker is not None and broker.crashed and not stopping:
                # Every message and committed offset went with it. The services stop
                # (there is nothing they can do meanwhile) and start again once the
                # topics are rebuilt, so that nothing new overtakes the history.
                print(f"the embedded broker exited with {broker.returncode}: its messages"
                      " and consumer offsets are lost; restarting it and the services",
                      flush=True)
                stop_all(children.values(), timeout=10)
                broker.stop()
                broker.start()
                topics_ready()
                for svc in SERVICES:
                    children[svc] = spawn(svc)
                print("thaogo is running again", flush=True)
            for svc, child in list(children.items()):
                # Supervise: a crashed service comes back; its consumers resume from
                # their committed offsets and the outbox from its unsent rows.
                crashed = child.exited and not stopping
                if crashed and time.monotonic() - restarts.get(svc, 0) > 5:
                    print(f"{svc} exited with {child.returncode}; restarting "
                          f"(see {logs_dir / (svc + '.log')})", flush=True)
                    restarts[svc] = time.monotonic()
                    children[svc] = spawn(svc)
        print("\nstopping …", flush=True)
        return 0
    finally:
        (data_dir / STACK_FILE).unlink(missing_ok=True)
        stop_all(children.values())
        if mail is not None:
            mail.terminate()
            mail.wait(10)
        if database_url is not None:
            # The printed sign-in links live while the stack runs, and no longer.
            with contextlib.suppress(Exception):
                asyncio.run(_revoke_demo_links(database_url))
        if broker:
            broker.stop()
        if pg:
            pg.stop()
        print("stopped: nothing left running", flush=True)


def _write_stack_file(data_dir: Path, bootstrap: str, database_url: str,
                      ports: dict[str, int], *, config_dir: Path,
                      mailbox_url: str | None) -> None:
    import json

    path = data_dir / STACK_FILE
    path.write_text(json.dumps({
        "THAOGO_KAFKA_BOOTSTRAP": bootstrap, "THAOGO_DATABASE_URL": database_url,
        "THAOGO_CONFIG_DIR": str(config_dir),
        **{f"{svc}_url": f"http://127.0.0.1:{port}" for svc, port in ports.items()},
        **({"mailbox_url": mailbox_url} if mailbox_url else {}),
    }, indent=2), encoding="utf-8")
    path.chmod(0o600)  # the database URL may carry a password


def own_config_dir(data_dir: Path) -> Path:
    """`<data dir>/provinces`: on first start a copy of the shipped province files, then
    the operator's (edit them, or `thaogo taskforce dissolve`; services reload them)."""
    import shutil

    from shared.provinces import config_files, default_config_dir

    folder = data_dir / "provinces"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        for f in config_files(default_config_dir()):
            shutil.copy2(f, folder / f.name)
    return folder


def _start_mailbox(data_dir: Path, *, smtp_port: int, port: int) -> subprocess.Popen[bytes]:
    from thaogo.embedded import PortTaken, port_free, wait_for_port

    for p, flag in ((smtp_port, "--smtp-port"), (port, "--mailbox-port")):
        if not port_free(p):
            raise PortTaken(f"port {p} is taken; choose another with {flag}, or set"
                            " THAOGO_NOTIFY_SMTP_HOST to mail a real server")
    (data_dir / "logs").mkdir(exist_ok=True)
    with open(data_dir / "logs" / "mailbox.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "thaogo.cli", "mailbox", "--dir", str(data_dir / "mailbox"),
             "--smtp-port", str(smtp_port), "--port", str(port)],
            stdout=log, stderr=log)
    wait_for_port(smtp_port)
    wait_for_port(port)
    return proc


# The demo roles `thaogo up` prints a sign-in link for, in a seed province.
DEMO_PROVINCE = "binh-duong"
DEMO_OPERATOR = "up-demo"


async def _demo_links(database_url: str, config_dir: Path, reporting_url: str,
                      secret: str) -> list[tuple[str, str]]:
    """(role, link) for an agency officer, a member, the permanent deputy, the head and an
    operator of a seed province: links signed like report links and bound to tokens
    issued for them (purpose "up"), which the stack revokes when it stops, and this
    start revokes if the last one could not (killed)."""
    from datetime import UTC, datetime, timedelta

    import asyncpg

    from services.reporting.access import LinkSigner
    from shared import auth
    from shared.events import ZoneType
    from shared.provinces import ConfigHolder

    configs = ConfigHolder(config_dir).current
    slug = DEMO_PROVINCE if DEMO_PROVINCE in configs else next(iter(configs), None)
    if slug is None:
        return []
    cfg = configs[slug]
    members = cfg.task_force.active_members()
    roles: list[tuple[str, auth.TokenKind, str, str | None]] = [
        ("agency officer", auth.TokenKind.AGENCY,
         cfg.rules.lead_by_zone_type[ZoneType.KCN], None),
        *([("member", auth.TokenKind.MEMBER, members[0].id, None)] if members else []),
        ("permanent deputy", auth.TokenKind.AGENCY, cfg.rules.triage, None),
        ("head", auth.TokenKind.AGENCY, cfg.rules.head, None),
        ("operator", auth.TokenKind.OPERATOR, DEMO_OPERATOR, slug),
    ]
    # Valid while the stack runs: the token's revocation ends the link, not its expiry.
    signer = LinkSigner(secret.encode(), timedelta(days=30), timedelta(days=30))
    conn = await asyncpg.connect(database_url)
    try:
        await auth.revoke_purpose(conn, purpose=auth.Purpose.UP)
        out = []
        for role, kind, subject, province in roles:
            token_id, _ = await auth.insert_token(
                conn, kind=kind, subject_id=subject, province=province, expires_in_days=30,
                purpose=auth.Purpose.UP)
            out.append((f"{role} ({subject})", signer.url(
                reporting_url, "/workspace/enter", now=datetime.now(UTC), token_id=token_id)))
        return out
    finally:
        await conn.close()


async def _revoke_demo_links(database_url: str) -> None:
    import asyncpg

    from shared import auth

    conn = await asyncpg.connect(database_url)
    try:
        await auth.revoke_purpose(conn, purpose=auth.Purpose.UP)
    finally:
        await conn.close()


def cmd_mailbox(args: argparse.Namespace) -> int:
    from thaogo.mailbox import serve

    serve(Path(args.dir), smtp_port=args.smtp_port, http_port=args.port)
    return 0


def link_secret(data_dir: Path) -> str:
    """The report-link signing key kept in `data_dir` (made on first use, readable by its
    owner only)."""
    path = data_dir / "link-secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    secret = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


MEMORY_ONLY = (
    "The embedded broker keeps messages in memory only: when it stops (Ctrl-C, a crash),"
    " every topic's messages and every consumer group's offsets are lost. The databases"
    " keep every case, and at the next start the topics are rebuilt from them: open"
    " tasks go back on their agencies' topics under their original event ids. For"
    " production, use a Kafka cluster (THAOGO_KAFKA_BOOTSTRAP)."
)


def masked_url(url: str) -> str:
    """The URL whole (an embedded server's socket directory is in its query) with the
    password, if any, replaced: the banner goes to terminals, logs and screenshots."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _print_urls(ports: dict[str, int], bootstrap: str, database_url: str, logs_dir: Path,
                *, mailbox_url: str | None, sign_in: list[tuple[str, str]],
                config_dir: Path) -> None:
    i, r, ro, n = (f"http://127.0.0.1:{ports[s]}" for s in SERVICES)
    db_shown = masked_url(database_url)
    links = "".join(f"\n    {role:<42} {url}" for role, url in sign_in)
    mailbox = f"\n  Mailbox (mail sent)        {mailbox_url}" if mailbox_url else ""
    print(
        f"""
thaogo is running (Ctrl-C stops everything).

  Sign in by e-mail          {ro}/workspace/sign-in{mailbox}
  Sign in as (while this runs):{links}

  Web form (businesses)      {i}/
  Tracking page (businesses) {ro}/track
  Intake API (OpenAPI)       {i}/docs
  Report page (weekly)       {ro}/reports
  Reporting API (OpenAPI)    {ro}/docs
  Router API                 {r}/docs
  Notify API                 {n}/docs
  Metrics                    {i}/metrics  {r}/metrics  {ro}/metrics  {n}/metrics
  Kafka broker               {bootstrap}
  PostgreSQL                 {db_shown}
  Configuration              {config_dir}
  Logs                       {logs_dir}

Try it:  .venv/bin/thaogo demo
""",
        flush=True,
    )
