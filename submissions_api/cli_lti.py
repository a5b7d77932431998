"""`mlpgrade lti ...`: the LMS commands. `register_passback` adds grade passback and roster sync
(`resend`, `scores`, `sync`); the platform commands (`add`, `list`, `remove`) sit beside them."""

from __future__ import annotations

import argparse
import csv
import sys

from sqlalchemy import select

from grader.cli import ExitCode
from submissions_api.bootstrap import prepare_database
from submissions_api.jobs import Dispatcher
from submissions_api.lms import outbox, roster
from submissions_api.settings import Settings, load_settings
from submissions_api.store import crud
from submissions_api.store.db import session_factory
from submissions_api.store.models import User
from submissions_api.store.models_lms import LtiContext, LtiResourceLink, ScoreOutbox


def register(sub: argparse._SubParsersAction) -> None:
    """The `lti` command and its subcommands."""
    lti = sub.add_parser("lti", help="LTI 1.3: the LMS's grade passback and roster sync")
    actions = lti.add_subparsers(dest="action", required=True)
    register_passback(actions)


def register_passback(actions: argparse._SubParsersAction) -> None:
    """`lti resend`, `lti scores`, `lti sync`."""
    p = actions.add_parser("resend", help="send every student's score of an assignment to the "
                           "LMS again (the bulk worker sends them)")
    p.add_argument("--assignment", required=True, metavar="SLUG")
    p.set_defaults(func=cmd_resend)
    p = actions.add_parser("scores", help="per student of an assignment: the score last sent to "
                           "the LMS, pending or failing with the platform's answer (CSV)")
    p.add_argument("--assignment", required=True, metavar="SLUG")
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
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["login", "link", "state", "sent_score", "sent_at", "tries", "last_error"])
    for row, login, link in rows:
        state = "sent" if row.version <= row.sent_version else \
            "failing" if row.tries else "pending"
        writer.writerow([login, link, state, "" if row.sent_score is None else row.sent_score,
                         row.sent_at.isoformat() if row.sent_at else "", row.tries,
                         row.last_error])
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
