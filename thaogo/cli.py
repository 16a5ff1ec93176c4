"""The `thaogo` command: run the whole system, one service, or an operator task."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thaogo.stack import (
    DEFAULT_DATA_DIR,
    DEFAULT_PORTS,
    SERVICES,
    agency_ids,
    create_topics,
    data_dir_of,
    migrate_all,
    print_rebuilt,
    use_running_stack,
)
from thaogo.up import cmd_mailbox, cmd_up

if TYPE_CHECKING:
    import uvicorn
    from faststream.security import BaseSecurity


def _settings(service: str) -> Any:
    module = importlib.import_module(f"services.{service}.settings")
    cls = next(
        v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
    )
    return cls()


# --- thaogo run ------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from shared import logs

    settings = _settings(args.service)
    if args.port:
        settings.http_port = args.port
    logs.configure(args.service, settings.log_level)
    app = importlib.import_module(f"services.{args.service}.main").build(settings)
    server = uvicorn.Server(server_config(app, settings.http_host, settings.http_port))
    server.run()  # handles SIGTERM/SIGINT: stop accepting, finish, run the lifespan's stop
    return 0 if server.started else 1


# An idle keep-alive connection is closed by the client or the proxy in front, never by
# the service first: uvicorn's default (5 s) equals httpx's own expiry and is shorter
# than Caddy's (2 min) and ingress-nginx's (60 s) upstream pools, so a request written
# into a connection the service was closing that instant was reset (httpx ReadError, a
# proxy's 502) although nothing had failed.
KEEP_ALIVE_S = 75


def server_config(app: Any, host: str, port: int) -> uvicorn.Config:
    """How every service is served, by `thaogo run` and the benchmarks alike."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_config=None, lifespan="on",
        timeout_graceful_shutdown=25, timeout_keep_alive=KEEP_ALIVE_S, access_log=False)


# --- thaogo migrate / topics / config --------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.settings import ServiceSettings

    url = args.database_url or ServiceSettings().database_url
    applied = asyncio.run(migrate_all(url))
    print("\n".join(applied) if applied else "all migrations already applied")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from shared.settings import ServiceSettings

    s = ServiceSettings()
    report = asyncio.run(create_topics(args.bootstrap or s.kafka_bootstrap, s.config_dir,
                                 s.kafka_security()))
    bad = {k: v for k, v in report.items() if v not in ("ok", "created")}
    for name, state in sorted(report.items()):
        print(f"{state:>10}  {name}")
    return 1 if bad else 0


def cmd_topics_rebuild(args: argparse.Namespace) -> int:
    """After a cluster was restored without its data: publish again, from the services'
    databases, what their consumers and the agencies need (thaogo/rebuild.py)."""
    from datetime import timedelta

    from services.router.settings import RouterSettings
    from thaogo import rebuild

    s = RouterSettings()
    bootstrap = args.bootstrap or s.kafka_bootstrap
    database_url = args.database_url or s.database_url
    security = s.kafka_security()

    async def run() -> int:
        report = await create_topics(bootstrap, s.config_dir, security)
        held = await rebuild.published_messages(bootstrap, rebuild.DATA_TOPICS,
                                                security=security)
        if held and not args.force:
            print(f"the topics hold {held} messages already: the cluster has its history, and"
                  " a rebuild would only send every open task to its agency again. Use"
                  " --force to rebuild all the same.", file=sys.stderr)
            return 1
        print_rebuilt(await rebuild.rebuild(
            bootstrap, database_url, status_url=s.intake_public_url, security=security,
            known_topics=set(report), retention=timedelta(days=args.retention_days)))
        return 0

    return asyncio.run(run())


def cmd_config_check(args: argparse.Namespace) -> int:
    from shared.provinces import check_dir, default_config_dir

    folder = Path(args.dir) if args.dir else default_config_dir()
    errors = check_dir(folder)
    for e in errors:
        print(str(e), file=sys.stderr)
    if not errors:
        print(f"{folder}: configuration valid")
    return 1 if errors else 0


# --- thaogo taskforce ---------------------------------------------------------------


def _iso_date(text: str) -> date:
    from shared.calendar import check_date
    from shared.vn import InvalidField

    try:
        d = date.fromisoformat(text)
        check_date(d, "date")
    except InvalidField as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e.reason_en} / {e.reason_vi}") from None
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date YYYY-MM-DD / không phải ngày YYYY-MM-DD") from None
    return d


def cmd_taskforce_dissolve(args: argparse.Namespace) -> int:
    """Set `task_force.dissolved_on` in the province's file; services reload it."""
    from shared.provinces import ConfigError, config_files, default_config_dir, set_dissolved_on
    from shared.settings import ServiceSettings

    folder = Path(args.config_dir) if args.config_dir else ServiceSettings().config_dir
    if folder is None:
        # The shipped files are part of the installed package: an upgrade would undo the
        # edit, and no running stack reads them once `thaogo up` has its own copy.
        print("no configuration to change: no `thaogo up` runs on this data directory"
              f" ({data_dir_of(args.data_dir)}) and neither --config-dir nor"
              f" THAOGO_CONFIG_DIR names one (the shipped files, {default_config_dir()},"
              " are not edited)", file=sys.stderr)
        return 2
    files = {f.stem: f for f in config_files(folder)}
    file = files.get(args.province)
    if file is None:
        print(f"province: no file {args.province}.yaml in {folder}; known: "
              f"{', '.join(sorted(files)) or '(none)'}", file=sys.stderr)
        return 2
    try:
        cfg = set_dissolved_on(file, args.on)
    except ConfigError as e:
        for err in (e, *e.others):
            print(str(err), file=sys.stderr)
        print(f"{file}: not changed", file=sys.stderr)
        return 1
    tf = cfg.task_force
    print(f"{file}: task_force.dissolved_on = {args.on.isoformat()} (mandate"
          f" {tf.effective_from.isoformat()} – {args.on.isoformat()}); running services pick"
          " it up on their next configuration reload")
    return 0


# --- thaogo token -----------------------------------------------------------------


def cmd_token_create(args: argparse.Namespace) -> int:
    from shared import auth
    from shared.provinces import ConfigHolder
    from shared.settings import ServiceSettings

    s = ServiceSettings()
    kind = (auth.TokenKind.AGENCY if args.agency else auth.TokenKind.MEMBER if args.member
            else auth.TokenKind.OPERATOR)
    subject = args.agency or args.member or args.operator
    try:
        token_id, token = asyncio.run(auth.create(
            args.database_url or s.database_url, configs=ConfigHolder(s.config_dir).current,
            kind=kind, subject_id=subject, province=args.province,
            expires_in_days=args.expires_in_days,
        ))
    except ValueError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    scope = f", province {args.province}" if args.province else ""
    print(f"token id: {token_id}  ({kind.value} {subject}{scope}; expires in "
          f"{args.expires_in_days} days)", file=sys.stderr)
    print("the token is shown once; store it now:", file=sys.stderr)
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from shared import auth
    from shared.settings import ServiceSettings

    rows = asyncio.run(auth.list_all(args.database_url or ServiceSettings().database_url))
    for r in rows:
        state = (f"revoked {r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"]
                 else "expired" if r["expired"] else "active")
        scope = f"  province {r['province']}" if r["province"] else ""
        print(f"{r['token_id']}  {r['kind']:<8}  {r['purpose']:<7}  {r['subject_id']:<40}  "
              f"created {r['created_at']:%Y-%m-%d %H:%M}  "
              f"expires {r['expires_at']:%Y-%m-%d %H:%M}  {state}{scope}")
    if not rows:
        print("no tokens", file=sys.stderr)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    import uuid

    from shared import auth
    from shared.settings import ServiceSettings

    try:
        token_id = uuid.UUID(args.token_id)
    except ValueError:
        print(f"not a token id: {args.token_id!r}", file=sys.stderr)
        return 2
    done = asyncio.run(auth.revoke(args.database_url or ServiceSettings().database_url,
                                   token_id))
    print(f"revoked {token_id}" if done else f"no active token {token_id}",
          file=sys.stdout if done else sys.stderr)
    return 0 if done else 1


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from shared import asyncapi

    text = asyncapi.render(agency_ids(None))
    out = Path(args.out) if args.out else asyncapi.DOCUMENT
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


async def _tail(bootstrap: str, topic: str, group: str | None, from_start: bool,
                security: BaseSecurity | None) -> None:
    import json

    from aiokafka import AIOKafkaConsumer
    from faststream.kafka.security import parse_security

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=bool(group),
        auto_offset_reset="earliest" if from_start else "latest", **parse_security(security),
    )
    await consumer.start()
    try:
        async for rec in consumer:
            headers = {k: v.decode("utf-8", "replace") for k, v in rec.headers}
            try:
                body = json.loads(rec.value or b"null")
            except ValueError:
                body = (rec.value or b"").decode("utf-8", "replace")
            print(json.dumps({"partition": rec.partition, "offset": rec.offset,
                              "type": headers.get("ce_type"), "id": headers.get("ce_id"),
                              "data": body}, ensure_ascii=False), flush=True)
    finally:
        await consumer.stop()


def cmd_tail(args: argparse.Namespace) -> int:
    from shared.settings import ServiceSettings

    s = ServiceSettings()
    asyncio.run(_tail(args.bootstrap or s.kafka_bootstrap, args.topic, args.group,
                      args.from_start, s.kafka_security()))
    return 0


# --- thaogo demo -----------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    import httpx

    from thaogo.demo import demo_submissions

    url = args.url or args.stack.get("intake_url") or f"http://127.0.0.1:{DEFAULT_PORTS['intake']}"
    ok = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        for body in demo_submissions():
            try:
                r = client.post("/v1/difficulties", json=body,
                                headers={"Accept-Language": "en"})
            except httpx.TransportError as e:
                print(f"thaogo demo: intake does not answer at {url} ({e}); is `thaogo up` "
                      "running (`--data-dir`, THAOGO_DATA_DIR) or is `--url` right?",
                      file=sys.stderr)
                return 2
            if r.status_code == 202:
                ok += 1
                answer = r.json()
                print(f"202  {answer['tracking_code']}  {body['province']:<12} "
                      f"{body.get('zone_type') or '-':<4} {body['title'][:60]}")
            else:
                print(f"{r.status_code}  {body['title'][:60]}: {r.text[:200]}")
    print(f"{ok} difficulties accepted")
    if not ok:
        return 1
    return _fill_workspaces(args, url)


def _fill_workspaces(args: argparse.Namespace, intake_url: str) -> int:
    """The demo province's workspaces, filled through the running stack (thaogo.demo)."""
    import os

    from shared.provinces import ConfigHolder
    from shared.settings import ServiceSettings
    from thaogo import demo
    from thaogo.up import link_secret

    reporting = args.stack.get("reporting_url")
    if not reporting:
        print("thaogo demo: no running `thaogo up` found in its data directory: the "
              "workspaces were not filled (start it, or pass --data-dir)", file=sys.stderr)
        return 2
    configs = ConfigHolder().current
    if demo.DEMO_PROVINCE not in configs:
        print(f"thaogo demo: {demo.DEMO_PROVINCE} is not configured: workspaces not filled")
        return 0
    try:
        asyncio.run(demo.fill_workspaces(
            intake_url=intake_url, reporting_url=reporting,
            database_url=ServiceSettings().database_url,
            secret=os.environ.get("THAOGO_REPORTING_LINK_SECRET")
            or link_secret(data_dir_of(args.data_dir)), configs=configs))
    except demo.DemoFailed as e:
        print(f"thaogo demo: {e}", file=sys.stderr)
        return 1
    print(f"workspaces of {demo.DEMO_PROVINCE} filled: sign in with the links `thaogo up` "
          "printed")
    return 0


# --- thaogo verify -----------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from faststream.kafka.security import parse_security

    from shared.provinces import ConfigHolder
    from shared.settings import ServiceSettings
    from thaogo.verify import verify, verify_audit

    s = ServiceSettings()
    if args.audit:
        report = asyncio.run(verify_audit(
            args.bootstrap or s.kafka_bootstrap, args.database_url or s.database_url,
            **parse_security(s.kafka_security())))
        print(report.summary())
        return 0 if report.ok else 1
    report = asyncio.run(verify(
        args.bootstrap or s.kafka_bootstrap, args.database_url or s.database_url,
        ConfigHolder(s.config_dir).current, settle_timeout=args.settle,
        **parse_security(s.kafka_security())))
    print(report.summary())
    return 0 if report.ok else 1


# --- argument parsing --------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="thaogo", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    # Every command that talks to the stack finds a running `thaogo up` by this.
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument("--data-dir", default=None,
                       help=f"of the running `thaogo up` (default: THAOGO_DATA_DIR, else "
                            f"{DEFAULT_DATA_DIR})")

    up = sub.add_parser("up", help="start everything on this machine (embedded broker and db)",
                        parents=[stack])
    up.add_argument("--kafka-port", type=int, default=9092)
    for svc in SERVICES:
        up.add_argument(f"--{svc}-port", type=int, default=DEFAULT_PORTS[svc])
    up.add_argument("--smtp-port", type=int, default=2525,
                    help="the local mailbox's SMTP port (unless THAOGO_NOTIFY_SMTP_HOST is set)")
    up.add_argument("--mailbox-port", type=int, default=8025,
                    help="the local mailbox's page")
    up.set_defaults(func=cmd_up)

    mbox = sub.add_parser("mailbox", help="a local mailbox: an SMTP server keeping what it is"
                          " sent, and a page listing it (thaogo up starts one)")
    mbox.add_argument("--dir", required=True, help="the Maildir to keep messages in")
    mbox.add_argument("--smtp-port", type=int, default=2525)
    mbox.add_argument("--port", type=int, default=8025)
    mbox.set_defaults(func=cmd_mailbox)

    run = sub.add_parser("run", help="run one service in the foreground")
    run.add_argument("service", choices=SERVICES)
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", help="apply every service's database migrations",
                     parents=[stack])
    mig.add_argument("--database-url", default=None)
    mig.set_defaults(func=cmd_migrate)

    top = sub.add_parser("topics", help="create or check the topics and their partitions",
                     parents=[stack])
    top.add_argument("--bootstrap", default=None)
    top.set_defaults(func=cmd_topics)
    top_sub = top.add_subparsers(dest="topics_command")
    reb = top_sub.add_parser(
        "rebuild", help="after a cluster lost its data: publish again, from the databases,"
                        " what consumers and agencies need", parents=[stack])
    reb.add_argument("--bootstrap", default=None)
    reb.add_argument("--database-url", default=None)
    reb.add_argument("--retention-days", type=float, default=7.0,
                     help="events of this many days back (open tasks whatever their age)")
    reb.add_argument("--force", action="store_true",
                     help="rebuild even if the topics hold messages")
    reb.set_defaults(func=cmd_topics_rebuild)

    cfg = sub.add_parser("config", help="province configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    chk = cfg_sub.add_parser("check", help="validate a configuration directory")
    chk.add_argument("dir", nargs="?", default=None)
    chk.set_defaults(func=cmd_config_check)

    tf = sub.add_parser("taskforce", help="the task force's lifecycle")
    tf_sub = tf.add_subparsers(dest="taskforce_command", required=True)
    dis = tf_sub.add_parser(
        "dissolve", help="set the date the task force is dissolved (giải thể) in its file",
        parents=[stack])
    dis.add_argument("province", help="province slug, the file's name: binh-duong")
    dis.add_argument("--on", required=True, type=_iso_date, metavar="YYYY-MM-DD",
                     help="first day without the task force: intake refuses new difficulties"
                          " from then on, and reporting compiles the final report")
    dis.add_argument("--config-dir", default=None,
                     help="configuration directory (default: the running stack's, else "
                          "THAOGO_CONFIG_DIR)")
    dis.set_defaults(func=cmd_taskforce_dissolve)

    doc = sub.add_parser("asyncapi", help="regenerate the AsyncAPI document of the topics")
    doc.add_argument("--out", default=None)
    doc.set_defaults(func=cmd_asyncapi)

    tok = sub.add_parser("token", help="agency, member and operator API tokens")
    tok_sub = tok.add_subparsers(dest="token_command", required=True)
    tc = tok_sub.add_parser("create", help="issue a token (printed once; only a hash is kept)",
                            parents=[stack])
    who = tc.add_mutually_exclusive_group(required=True)
    who.add_argument("--agency", help="agency id, e.g. binh-duong.bql-kcn")
    who.add_argument("--member", help="task-force member id, e.g. binh-duong.m01")
    who.add_argument("--operator", help="operator name, a short slug, e.g. ops-desk")
    tc.add_argument("--province", default=None,
                    help="operators only: limit the token to one province (slug, e.g. "
                    "thanh-hoa); without it an operator's token covers every province")
    tc.add_argument("--expires-in-days", type=int, default=180,
                    help="days until the token stops working (default 180, at most 3650)")
    tc.add_argument("--database-url", default=None)
    tc.set_defaults(func=cmd_token_create)
    tl = tok_sub.add_parser("list", help="list tokens (ids and holders, never the tokens)",
                            parents=[stack])
    tl.add_argument("--database-url", default=None)
    tl.set_defaults(func=cmd_token_list)
    tr = tok_sub.add_parser("revoke", help="revoke a token at once", parents=[stack])
    tr.add_argument("token_id")
    tr.add_argument("--database-url", default=None)
    tr.set_defaults(func=cmd_token_revoke)

    tail = sub.add_parser("tail", help="print the events of a topic as JSON lines",
                      parents=[stack])
    tail.add_argument("topic")
    tail.add_argument("--bootstrap", default=None)
    tail.add_argument("--group", default=None, help="consume as this group (commits offsets)")
    tail.add_argument("--from-start", action="store_true")
    tail.set_defaults(func=cmd_tail)

    ver = sub.add_parser(
        "verify", help="hold every service's state against the events on the topics",
        parents=[stack])
    ver.add_argument("--bootstrap", default=None)
    ver.add_argument("--database-url", default=None)
    ver.add_argument("--settle", type=float, default=60, metavar="SECONDS",
                     help="how long to wait for the services to catch up first")
    ver.add_argument("--audit", action="store_true",
                     help="only recompute every difficulty's history chain and hold it against"
                          " the chain heads the weekly reports published; names each"
                          " edited, inserted or deleted row")
    ver.set_defaults(func=cmd_verify)

    demo = sub.add_parser("demo", help="submit realistic difficulties from the seed provinces"
                          " and fill a seed province's workspaces",
                      parents=[stack])
    demo.add_argument("--url", default=None,
                      help="intake's (default: the running stack's, else 127.0.0.1:8001)")
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.stack = {}
    if args.command not in ("up", "run", "mailbox"):
        args.stack = use_running_stack(data_dir_of(getattr(args, "data_dir", None)))
    from thaogo.embedded import PortTaken

    try:
        with contextlib.suppress(KeyboardInterrupt):
            return int(args.func(args))
    except PortTaken as e:
        # A person's mistake, said as such: no traceback.
        print(f"thaogo {args.command}: {e}", file=sys.stderr)
        return 2
    return 130


if __name__ == "__main__":
    sys.exit(main())
