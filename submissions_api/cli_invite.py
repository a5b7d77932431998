"""`mlpgrade users invite`: mail one-time sign-in links from the command line, at once (no
worker), printing each user's outcome; or, with `--print` (say when no mail server is set up),
print the links for the instructor to mail themselves. The same limits as the users page."""

from __future__ import annotations

import argparse
import sys

from grader.cli import ExitCode
from submissions_api import sign_in_links
from submissions_api.bootstrap import prepare_database
from submissions_api.errors import ServiceError
from submissions_api.services import csvout, invitations
from submissions_api.settings import Settings, load_settings
from submissions_api.store.db import session_factory

REQUESTED_BY = "command line"


def register(users: argparse._SubParsersAction) -> None:
    """`users invite` under `mlpgrade users`."""
    p = users.add_parser("invite", help="mail users a one-time sign-in link (or --print them)")
    p.add_argument("logins", nargs="*", metavar="LOGIN", help="the users to invite (or --all)")
    p.add_argument("--all", action="store_true",
                   help="every student with an e-mail who has not signed in yet")
    p.add_argument("--print", action="store_true", dest="print_links",
                   help="print the links (CSV) instead of mailing them")
    p.set_defaults(func=cmd_users_invite)


def cmd_users_invite(args: argparse.Namespace) -> int:
    if bool(args.all) == bool(args.logins):
        _say("mlpgrade: name the users to invite (LOGIN ...) or give --all")
        return ExitCode.USAGE
    settings = load_settings()
    problem = (sign_in_links.mail_problem(settings) if not args.print_links else
               None if settings.public_url else sign_in_links.NO_PUBLIC_URL)
    if problem:
        _say(f"mlpgrade: {problem}")
        return ExitCode.USAGE
    prepare_database(settings)
    try:
        if args.print_links:
            return _print_links(settings, args.logins, args.all)
        return _mail_links(settings, args.logins, args.all)
    except ServiceError as exc:
        _say(f"mlpgrade: {exc.message}")
        return ExitCode.USAGE


def _print_links(settings: Settings, logins: list[str], everyone: bool) -> int:
    writer = csvout.Writer(sys.stdout)
    writer.writerow(["login", "email", "link", "expires"])
    with session_factory(settings.database_url)() as session:
        for user in invitations.invitees(session, logins=logins, everyone=everyone):
            link, expires = sign_in_links.print_link(session, settings, user,
                                                     requested_by=REQUESTED_BY)
            writer.writerow([user.login, user.email, link, expires.isoformat()])
        session.commit()
    return ExitCode.OK


def _mail_links(settings: Settings, logins: list[str], everyone: bool) -> int:
    """Queue within the limits, then send each now; CSV of each user's outcome on stdout, the
    round in words on stderr. Exit 3 when a send failed (the users page can send it again)."""
    sessions = session_factory(settings.database_url)
    with sessions() as session:
        targets = invitations.invitees(session, logins=logins, everyone=everyone)
        summary = invitations.queue_invitations(session, settings, targets,
                                                requested_by=REQUESTED_BY)
        session.commit()
    writer = csvout.Writer(sys.stdout)
    writer.writerow(["login", "status", "error"])
    failed = 0
    for login, link_id in zip(summary.queued, summary.link_ids, strict=True):
        outcome = sign_in_links.deliver(sessions, settings, link_id)
        failed += outcome.status != sign_in_links.SENT
        writer.writerow([login, outcome.status, csvout.cell(outcome.error)])
    for login in summary.no_email + summary.inactive + summary.limited + summary.capped:
        writer.writerow([login, "not sent", ""])
    for line in summary.sentences(settings)[1 if summary.queued else 0:]:
        _say(line)
    return ExitCode.INFRASTRUCTURE if failed else ExitCode.OK


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
