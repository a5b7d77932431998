"""The `mlpgrade` command: the grader's commands and the service's, composed above both.

The grader's (grade, reference, handout, runtime) come from `grader.cli.register`; the service's
are serve, worker, migrate, users import and submit.

Exit codes are `grader.cli.ExitCode`: 0 done, 2 usage or refused by the server, 3 grading failed on
our side, 4 timed out waiting. A worker is always a separate process (`python -m worker`): this
module never imports the worker package.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.exc import OperationalError

from grader import cli as grader_cli
from grader.cli import ExitCode
from grader.errors import GraderError
from grader.rubric import DEFAULT_ASSIGNMENT, load_assignment
from grader.similarity import report as similarity_report
from submissions_api import cli_invite, cli_serve
from submissions_api.bootstrap import (
    import_roster,
    instructor_token,
    prepare_database,
    user_tokens,
)
from submissions_api.client import submit_and_wait
from submissions_api.services.roster import PRESETS, parse_roster
from submissions_api.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    """The grader's commands (grader.cli.register) plus the service's."""
    parser = argparse.ArgumentParser(prog="mlpgrade", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    grader_cli.register(sub)
    register(sub)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """The service's commands."""
    cli_serve.register(sub)

    p = sub.add_parser("worker", help="run a Celery worker against the configured URLs",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--queues", default="live,bulk", help="live, bulk or live,bulk")
    p.add_argument("--concurrency", type=int, default=1, help="grading slots (processes)")
    p.add_argument("--name", default=None, help="Celery node name (default: worker@host)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="create or upgrade the service database schema")
    p.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="service users").add_subparsers(dest="action",
                                                                         required=True)
    p = users.add_parser("import", help="create users from a CSV (login,name,role, or a Canvas "
                         "or Gradescope export); print tokens")
    p.add_argument("roster", help="the CSV file")
    p.add_argument("--new-tokens", action="store_true",
                   help="existing users get a new token too (their old ones are revoked)")
    p.add_argument("--format", choices=sorted(PRESETS), default="",
                   help="the CSV's kind (default: detected from its header)")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help="the column of login, name, first, last or role (repeat)")
    p.set_defaults(func=cmd_users_import)
    p = users.add_parser("tokens", help="list, revoke or rotate a user's API tokens")
    p.add_argument("token_action", choices=["list", "revoke", "rotate"],
                   help="list the tokens, revoke some, or rotate (revoke all, print a new one)")
    p.add_argument("login", help="the user")
    p.add_argument("--id", type=int, default=None, help="revoke: this token (see list)")
    p.add_argument("--all", action="store_true", help="revoke: every live token of the user")
    p.set_defaults(func=cmd_users_tokens)
    cli_invite.register(users)

    _register_similarity(sub)

    p = sub.add_parser("submit", help="upload a handin.tar and wait for its score",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("handin", help="the hand-in to upload")
    p.add_argument("--server", default=os.environ.get("MLPGRADE_SERVER"),
                   help="the service's URL (MLPGRADE_SERVER)")
    p.add_argument("--token", default=os.environ.get("MLPGRADE_TOKEN"),
                   help="your token (MLPGRADE_TOKEN; the pages' /account shows it)")
    p.add_argument("--assignment", default="hw1p1-s20", help="the assignment's slug")
    p.add_argument("--no-wait", action="store_true", help="upload, print the receipt, return")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for the score")
    p.set_defaults(func=cmd_submit)


def _register_similarity(sub: argparse._SubParsersAction) -> None:
    """`mlpgrade similarity`: compare hand-ins, or import an archive of earlier ones."""
    p = sub.add_parser("similarity", help="compare hand-ins for copying (or `similarity import "
                       "--assignment SLUG --semester S PATH`: an archive of earlier hand-ins)")
    p.add_argument("paths", nargs="+", metavar="TAR_OR_DIR",
                   help="hand-ins (handin.tar or a folder holding hw1/ and mytorch/)")
    p.add_argument("--base", action="append", default=[], metavar="TAR_OR_DIR",
                   help="code given to everyone (the assignment's starter always is)")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="a table of the closest pairs, or every pair as JSON")
    p.add_argument("--assignment", default=DEFAULT_ASSIGNMENT,
                   help=f"whose starter is left out (default: {DEFAULT_ASSIGNMENT})")
    p.add_argument("--semester", help="with `import`: the semester the archive is from")
    p.add_argument("--as-base", action="store_true",
                   help="with `import`: PATH is one hand-in of base code (it never counts)")
    p.add_argument("--top", type=int, default=20, help="pairs the table shows")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="processes comparing (default: one per core)")
    p.set_defaults(func=cmd_similarity)

def cmd_similarity(args: argparse.Namespace) -> int:
    """Compare hand-ins (no service needed), or import an archive into the service."""
    if args.paths[0] == "import":
        return _similarity_import(args)
    try:
        assignment = load_assignment(args.assignment)
        pairs = similarity_report.compare_paths(args.paths, args.base, assignment, args.jobs)
    except GraderError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.format == "json":
        print(similarity_report.to_json(pairs))
    else:
        print(similarity_report.render_table(pairs, args.top))
    return ExitCode.OK


def _similarity_import(args: argparse.Namespace) -> int:
    from submissions_api.services.similarity import import_archive
    if len(args.paths) != 2 or not args.semester:
        print("mlpgrade: usage: mlpgrade similarity import --assignment SLUG --semester S PATH",
              file=sys.stderr)
        return ExitCode.USAGE
    settings = load_settings()
    try:
        count = import_archive(settings, args.assignment, args.semester, Path(args.paths[1]),
                               base=args.as_base)
    except (GraderError, LookupError) as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"imported {count} hand-ins of {args.semester} into {args.assignment}; their pairs "
          "are being compared on the bulk queue")
    return ExitCode.OK


def cmd_worker(args: argparse.Namespace) -> int:
    """Become the worker process (exec): signals reach Celery directly, as under compose."""
    argv = cli_serve.worker_argv(args.queues, args.concurrency, args.name)
    os.execv(argv[0], argv)
    return ExitCode.INFRASTRUCTURE  # not reached: execv replaces this process or raises


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    if settings.instructor_token:
        instructor_token(settings, token=settings.instructor_token)
    print("database is at the latest schema")
    return ExitCode.OK


def cmd_users_import(args: argparse.Namespace) -> int:
    path = Path(args.roster)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return ExitCode.USAGE
    mapping = dict(m.split("=", 1) for m in args.map) if args.map else None
    roster = parse_roster(path.read_text(errors="replace"), preset=args.format, mapping=mapping)
    if roster.errors:  # nothing is imported until every row can be
        for error in roster.errors:
            print(f"mlpgrade: {path}: {error}", file=sys.stderr)
        return ExitCode.USAGE
    settings = load_settings()
    prepare_database(settings)
    created = import_roster(settings, roster.rows, new_tokens=args.new_tokens)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["login", "role", "token"])
    for login, role, token in created:
        writer.writerow([login, role, token or "(exists: use --new-tokens)"])
    return ExitCode.OK


def cmd_users_tokens(args: argparse.Namespace) -> int:
    """`users tokens list|revoke|rotate LOGIN`: prints CSV (list), the new token (rotate)."""
    if args.token_action == "revoke" and (args.id is None) == (not args.all):
        print("mlpgrade: revoke needs --id N or --all", file=sys.stderr)
        return ExitCode.USAGE
    settings = load_settings()
    prepare_database(settings)
    try:
        out = user_tokens(settings, args.login, args.token_action, token_id=args.id)
    except LookupError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if isinstance(out, list):
        writer.writerow(["id", "label", "created_at", "revoked_at"])
        for t in out:
            writer.writerow([t.id, t.label, t.created_at.isoformat(),
                             t.revoked_at.isoformat() if t.revoked_at else ""])
    elif isinstance(out, str):
        writer.writerows([["login", "token"], [args.login, out]])
    else:
        print(f"revoked {out} token(s) of {args.login}")
    return ExitCode.USAGE if out == 0 and not args.all else ExitCode.OK  # no such token


def cmd_submit(args: argparse.Namespace) -> int:
    if not args.server or not args.token:
        print("mlpgrade: --server and --token are needed (or MLPGRADE_SERVER, MLPGRADE_TOKEN)",
              file=sys.stderr)
        return ExitCode.USAGE
    path = Path(args.handin)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        return submit_and_wait(args.server, args.token, path, assignment=args.assignment,
                               wait=not args.no_wait, timeout=args.timeout, clock=time.monotonic)
    except httpx.TransportError as exc:  # no answer at all: a wrong URL, or the service is down
        print(f"mlpgrade: cannot reach {args.server} ({type(exc).__name__}: {exc}); check "
              "--server (MLPGRADE_SERVER) and that the service is up, then submit again",
              file=sys.stderr)
        return ExitCode.INFRASTRUCTURE


def main(argv: list[str] | None = None) -> int:
    """`mlpgrade`: parse, then run the command as the grader's commands run (its errors become
    exit codes)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `similarity import --assignment A --semester S PATH`: PATH comes after the options
    if extra and getattr(args, "command", "") == "similarity" and not any(
            e.startswith("-") for e in extra):
        args.paths += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return grader_cli.run(args)
    except OperationalError as exc:  # the service's database is down or the URL is wrong
        print(f"mlpgrade: cannot use the database ({str(exc.orig or exc).splitlines()[0]}); "
              "start it or fix MLPGRADE_DATABASE_URL, then run this again", file=sys.stderr)
        return ExitCode.INFRASTRUCTURE
    except KeyboardInterrupt:  # Ctrl-C: stopped by the user, not a failure to explain
        return 130


if __name__ == "__main__":
    sys.exit(main())
