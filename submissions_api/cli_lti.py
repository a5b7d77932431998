"""`mlpgrade lti ...`: the course's LMS. `add|list|remove` register it as an LTI 1.3 platform and
print what the LMS needs from the tool (the same as the /staff/lms page); `resend|scores|sync` steer
grade passback and roster sync (docs/lms.md)."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import select

from grader.cli import ExitCode
from submissions_api.bootstrap import prepare_database
from submissions_api.errors import ServiceError
from submissions_api.jobs import Dispatcher
from submissions_api.lms import outbox, registry, roster
from submissions_api.services import csvout
from submissions_api.settings import Settings, load_settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory
from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiContext, LtiResourceLink, ScoreOutbox


def register(sub: argparse._SubParsersAction) -> None:
    lti = sub.add_parser("lti", help="the course's LMS (LTI 1.3 platforms)").add_subparsers(
        dest="action", required=True)
    p = lti.add_parser("add", help="register a platform; print what the LMS needs from us")
    p.add_argument("--issuer", required=True, help="the platform's issuer (platform id)")
    p.add_argument("--client-id", required=True, help="the client id the LMS gave the tool")
    p.add_argument("--deployment-id", action="append", required=True, metavar="ID",
                   help="a deployment id of the tool in the LMS (repeat for several)")
    p.add_argument("--auth-login-url", required=True,
                   help="the platform's OIDC authentication request URL")
    p.add_argument("--auth-token-url", required=True, help="the platform's access token URL")
    p.add_argument("--key-set-url", required=True, help="the platform's public keyset URL")
    p.add_argument("--name", default="", help="a name to show (default: the issuer's host)")
    p.add_argument("--token-audience", default="",
                   help="the access token's audience when not the token URL (Moodle, D2L)")
    p.set_defaults(func=cmd_lti_add)
    p = lti.add_parser("list", help="the registered platforms, and the tool's URLs")
    p.set_defaults(func=cmd_lti_list)
    p = lti.add_parser("remove", help="forget a registered platform (accounts stay)")
    p.add_argument("platform_id", type=int, help="its id (see `mlpgrade lti list`)")
    p.set_defaults(func=cmd_lti_remove)
    register_passback(lti)


def _base_url(settings: Settings) -> str:
    return settings.public_url or "http://127.0.0.1:8000"


def print_tool(settings: Settings) -> None:
    urls = registry.tool_urls(_base_url(settings))
    if not settings.public_url:
        print("(MLPGRADE_PUBLIC_URL is not set: the URLs below assume the default address; "
              "set it to the URL students reach)")
    print(f"login initiation URL: {urls.login}\nlaunch (redirect) URL: {urls.launch}\n"
          f"deep-linking URL:     {urls.deep_linking}\npublic keyset URL:    {urls.jwks}")
    print("\nCanvas developer key JSON (Admin > Developer Keys > + LTI Key > Paste JSON):")
    print(json.dumps(registry.canvas_config(urls), indent=2))
    print("\nMoodle (Site administration > Plugins > External tool > Manage tools > "
          "configure a tool manually):")
    for label, value in registry.moodle_config(urls):
        print(f"  {label}: {value}")


def cmd_lti_add(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    fields = registry.PlatformFields(
        issuer=args.issuer, client_id=args.client_id, deployment_ids=tuple(args.deployment_id),
        auth_login_url=args.auth_login_url, auth_token_url=args.auth_token_url,
        key_set_url=args.key_set_url, name=args.name, auth_audience=args.token_audience)
    with session_factory(settings.database_url)() as session:
        try:
            platform = registry.add_platform(session, fields)
        except ServiceError as exc:
            print(f"mlpgrade: {exc.message}", file=sys.stderr)
            return ExitCode.USAGE
        session.commit()
        print(f"registered platform {platform.id}: {platform.name} ({platform.issuer}, client "
              f"id {platform.client_id})\n")
    print_tool(settings)
    return ExitCode.OK


def cmd_lti_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    with session_factory(settings.database_url)() as session:
        platforms = registry.list_platforms(session)
        for p in platforms:
            deployments = " ".join(d.deployment_id for d in p.deployments)
            print(f"{p.id}\t{p.name}\tissuer={p.issuer}\tclient_id={p.client_id}\t"
                  f"deployments={deployments}\tkeys={p.key_set_url}")
        if not platforms:
            print("no platform registered (mlpgrade lti add ...)")
    print()
    print_tool(settings)
    return ExitCode.OK


def cmd_lti_remove(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    with session_factory(settings.database_url)() as session:
        try:
            platform = registry.remove_platform(session, args.platform_id)
        except ServiceError as exc:
            print(f"mlpgrade: {exc.message}", file=sys.stderr)
            return ExitCode.USAGE
        session.commit()
    print(f"removed platform {args.platform_id} ({platform.name})")
    return ExitCode.OK


def register_passback(actions: argparse._SubParsersAction) -> None:
    """`lti resend`, `lti scores`, `lti sync`."""
    p = actions.add_parser("resend", help="send every student's score of an assignment to the "
                           "LMS again (the bulk worker sends them)")
    p.add_argument("--assignment", required=True, metavar="SLUG",
                   help="the assignment's slug, e.g. hw1p1-s20")
    p.set_defaults(func=cmd_resend)
    p = actions.add_parser("scores", help="per student of an assignment: the score last sent to "
                           "the LMS, pending or failing with the platform's answer (CSV)")
    p.add_argument("--assignment", required=True, metavar="SLUG",
                   help="the assignment's slug, e.g. hw1p1-s20")
    p.set_defaults(func=cmd_scores)
    p = actions.add_parser("sync", help="sync the roster of the LMS's courses (NRPS) now: add "
                           "new members, update names and roles, deactivate those who left")
    p.add_argument("--context", metavar="ID", help="one course: its LMS context id (default: "
                   "every course the LMS launched from)")
    p.set_defaults(func=cmd_sync)


def _ready() -> Settings:
    settings = load_settings()
    prepare_database(settings)
    return settings


def cmd_resend(args: argparse.Namespace) -> int:
    settings = _ready()
    outbox.notify_after_commit(settings.database_url, Dispatcher(settings).send_scores)
    with session_factory(settings.database_url)() as session:
        assignment = crud.get_assignment(session, slug=args.assignment)
        if assignment is None:
            print(f"mlpgrade: no assignment {args.assignment!r}", file=sys.stderr)
            return ExitCode.USAGE
        count = outbox.resend(session, assignment.id)
        session.commit()
    if not count:
        print(f"mlpgrade: no LMS student of {args.assignment} to send: bind an LMS link to it "
              "(deep linking) and let students launch it, or sync the roster", file=sys.stderr)
        return ExitCode.USAGE
    print(f"{count} score(s) of {args.assignment} will be sent again by the bulk worker")
    return ExitCode.OK


def cmd_scores(args: argparse.Namespace) -> int:
    settings = _ready()
    with session_factory(settings.database_url)() as session:
        assignment = crud.get_assignment(session, slug=args.assignment)
        if assignment is None:
            print(f"mlpgrade: no assignment {args.assignment!r}", file=sys.stderr)
            return ExitCode.USAGE
        rows = session.execute(select(ScoreOutbox, User.login, LtiResourceLink.resource_link_id)
                               .join(User, User.id == ScoreOutbox.user_id)
                               .join(LtiResourceLink,
                                     LtiResourceLink.id == ScoreOutbox.resource_link_pk)
                               .where(LtiResourceLink.assignment_id == assignment.id)
                               .order_by(User.login)).all()
    writer = csvout.Writer(sys.stdout)
    writer.writerow(["login", "link", "state", "sent_score", "sent_at", "tries", "last_error"])
    for row, login, link in rows:
        state = "sent" if row.version <= row.sent_version else \
            "failing" if row.tries else "pending"
        writer.writerow([login, link, state, "" if row.sent_score is None else row.sent_score,
                         row.sent_at.isoformat() if row.sent_at else "", row.tries,
                         csvout.cell(row.last_error)])
    return ExitCode.OK


def cmd_sync(args: argparse.Namespace) -> int:
    settings = _ready()
    sessions = session_factory(settings.database_url)
    with sessions() as session:
        query = select(LtiContext.id, LtiContext.context_id).order_by(LtiContext.id)
        if args.context:
            query = query.where(LtiContext.context_id == args.context)
        contexts = session.execute(query).all()
    if not contexts:
        print("mlpgrade: no LMS course" + (f" {args.context!r}" if args.context else "") +
              ": launch a link of the course from the LMS once first", file=sys.stderr)
        return ExitCode.USAGE
    status = ExitCode.OK
    for pk, context_id in contexts:
        try:
            changes = roster.sync_context(sessions, pk)
        except roster.RosterError as exc:
            print(f"mlpgrade: {context_id}: {exc}", file=sys.stderr)
            status = ExitCode.USAGE
            continue
        print(f"{context_id}: {roster.Changes(**changes).text()}")
    return status
