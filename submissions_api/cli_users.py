"""The command line's users and grades: `users import` (a roster, as LMSs and graders export
it), `users tokens` (list, revoke, rotate), and `gradebook` (the grade CSVs the pages offer,
for the LMS). Everything printed is of the database or the file, so it goes through
`printable`: no terminal escape in a name reaches the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli import ExitCode
from grader.text import printable
from submissions_api import cli_invite
from submissions_api.bootstrap import (
    gradebook_text,
    import_roster,
    prepare_database,
    user_tokens,
)
from submissions_api.services import csvout
from submissions_api.services.exports import FORMATS
from submissions_api.services.roster import decode, parse_roster
from submissions_api.services.roster_formats import BY_KEY, MAPPABLE
from submissions_api.settings import load_settings


def register(sub: argparse._SubParsersAction) -> None:
    """`users import`, `users tokens`, `users invite` and `gradebook`."""
    users = sub.add_parser("users", help="service users").add_subparsers(dest="action",
                                                                         required=True)
    p = users.add_parser("import", help="create or update users from a roster CSV (ours: "
                         "login,name,role[,email]; a Canvas gradebook or people export, a "
                         "Gradescope roster, Moodle's participants); print new tokens")
    p.add_argument("roster", help="the CSV file")
    p.add_argument("--new-tokens", action="store_true",
                   help="existing users get a new token too (their old ones are revoked)")
    p.add_argument("--format", choices=sorted(BY_KEY), default="",
                   help="the CSV's kind (default: recognised from its header)")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help=f"the column of a field: {', '.join(MAPPABLE)} (repeat)")
    p.set_defaults(func=cmd_users_import)
    p = users.add_parser("tokens", help="list, revoke or rotate a user's API tokens")
    p.add_argument("token_action", choices=["list", "revoke", "rotate"],
                   help="list the tokens, revoke some, or rotate (revoke all, print a new one)")
    p.add_argument("login", help="the user")
    p.add_argument("--id", type=int, default=None, help="revoke: this token (see list)")
    p.add_argument("--all", action="store_true", help="revoke: every live token of the user")
    p.set_defaults(func=cmd_users_tokens)
    cli_invite.register(users)

    p = sub.add_parser("gradebook", help="print an assignment's grades as CSV for an LMS")
    p.add_argument("assignment", help="the assignment's slug, e.g. hw1p1-s20")
    p.add_argument("--format", choices=FORMATS, default="mlpgrade",
                   help="mlpgrade (ours), canvas or moodle (their grade import), tests "
                   "(points per test); default mlpgrade")
    p.add_argument("--policy", choices=["best", "latest"], default="best",
                   help="which submission counts (default best)")
    p.add_argument("--feedback", action="store_true",
                   help="moodle: add a feedback column (the score as the pages write it)")
    p.set_defaults(func=cmd_gradebook)


def say(text: str, *, err: bool = False) -> None:
    print(printable(text), file=sys.stderr if err else sys.stdout)


def _mapping(pairs: list[str] | None) -> dict[str, str] | None:
    """`--map login=Email --map name=Name` → {"login": "Email", "name": "Name"}."""
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or field.strip() not in MAPPABLE:
            raise ValueError(f"--map {pair}: give FIELD=COLUMN, FIELD one of "
                             f"{', '.join(MAPPABLE)}")
        out[field.strip()] = column.strip()
    return out


def cmd_users_import(args: argparse.Namespace) -> int:
    """Nothing is imported until every row can be; the header's problem, the rows' errors and
    the skipped rows go to stderr; stdout is CSV: login, role, token, outcome."""
    path = Path(args.roster)
    if not path.is_file():
        say(f"mlpgrade: no such file: {path}", err=True)
        return ExitCode.USAGE
    try:
        mapping = _mapping(args.map)
    except ValueError as exc:
        say(f"mlpgrade: {exc}", err=True)
        return ExitCode.USAGE
    roster = parse_roster(decode(path.read_bytes()), preset=args.format, mapping=mapping)
    for note in roster.notes:
        say(f"mlpgrade: {path}: {note}", err=True)
    if roster.header_error:
        say(f"mlpgrade: {path}: {roster.header_error}", err=True)
        return ExitCode.USAGE
    if roster.errors or not roster.rows:
        for error in roster.errors or ["no one to import"]:
            say(f"mlpgrade: {path}: {error}", err=True)
        say("mlpgrade: nothing was imported: fix these rows and import again", err=True)
        return ExitCode.USAGE
    settings = load_settings()
    prepare_database(settings)
    people, notes = import_roster(settings, roster, new_tokens=args.new_tokens)
    say(f"mlpgrade: read {path} as {roster.label or 'chosen columns'}", err=True)
    for note in notes:
        say(f"mlpgrade: {note}", err=True)
    writer = csvout.Writer(sys.stdout)
    writer.writerow(["login", "role", "token", "outcome"])
    for p in people:
        writer.writerow([p.login, p.role, p.token or "(kept: --new-tokens gives a new one)",
                         p.summary])
    return ExitCode.OK


def cmd_users_tokens(args: argparse.Namespace) -> int:
    """`users tokens list|revoke|rotate LOGIN`: prints CSV (list), the new token (rotate)."""
    if args.token_action == "revoke" and (args.id is None) == (not args.all):
        say("mlpgrade: revoke needs --id N or --all", err=True)
        return ExitCode.USAGE
    settings = load_settings()
    prepare_database(settings)
    try:
        out = user_tokens(settings, args.login, args.token_action, token_id=args.id)
    except LookupError as exc:
        say(f"mlpgrade: {exc}", err=True)
        return ExitCode.USAGE
    writer = csvout.Writer(sys.stdout)
    if isinstance(out, list):
        writer.writerow(["id", "label", "created_at", "revoked_at"])
        for t in out:
            writer.writerow([t.id, t.label, t.created_at.isoformat(),
                             t.revoked_at.isoformat() if t.revoked_at else ""])
    elif isinstance(out, str):
        writer.writerows([["login", "token"], [args.login, out]])
    else:
        say(f"revoked {out} token(s) of {args.login}")
    return ExitCode.USAGE if out == 0 and not args.all else ExitCode.OK  # no such token


def cmd_gradebook(args: argparse.Namespace) -> int:
    """The CSV of `--format` on stdout, as the pages' download gives it."""
    settings = load_settings()
    prepare_database(settings)
    try:
        text = gradebook_text(settings, args.assignment, args.policy, args.format,
                              feedback=args.feedback)
    except LookupError as exc:
        say(f"mlpgrade: {exc}", err=True)
        return ExitCode.USAGE
    sys.stdout.write(text)
    return ExitCode.OK
