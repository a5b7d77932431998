"""`mlpgrade similarity`: compare hand-ins for copying on this machine (no service needed), or
import an archive of earlier semesters' hand-ins into the service, where the bulk queue compares
them with this semester's."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.cli import ExitCode
from grader.errors import GraderError
from grader.rubric import DEFAULT_ASSIGNMENT
from grader.similarity import report as similarity_report
from submissions_api.settings import load_settings
from submissions_api.store import rubrics


def register(sub: argparse._SubParsersAction) -> None:
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
