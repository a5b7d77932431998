"""The `mlpgrade` command: the grader's commands and the service's, composed above both.

The grader's (grade, reference, handout, runtime) come from `grader.cli.register`; the service's
are serve, worker, migrate, submit and similarity; `users` and `gradebook` are in cli_users.py.

Exit codes are `grader.cli.ExitCode`: 0 done, 2 usage or refused by the server, 3 grading failed on
our side, 4 timed out waiting. A worker is always a separate process (`python -m worker`): this
module never imports the worker package.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.exc import OperationalError

from grader import cli as grader_cli
from grader.cli import ExitCode
from grader.errors import GraderError
from grader.rubric import DEFAULT_ASSIGNMENT
from grader.similarity import report as similarity_report
from submissions_api import cli_lti, cli_serve, cli_users
from submissions_api.bootstrap import instructor_token, prepare_database
from submissions_api.client import submit_and_wait
from submissions_api.settings import load_settings
from submissions_api.store import rubrics


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

    cli_users.register(sub)
    _register_similarity(sub)
    cli_lti.register(sub)  # mlpgrade lti add|list|remove

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
        assignment = rubrics.assignment(args.assignment)
        run = similarity_report.compare_paths(args.paths, args.base, assignment, args.jobs)
    except GraderError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.format == "json":
        print(similarity_report.to_json(run))
    else:
        print(similarity_report.render_table(run, args.top))
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
