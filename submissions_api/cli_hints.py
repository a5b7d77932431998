"""`mlpgrade hints export|import`: carry an assignment's cluster hints (services/hints.py) to the
next semester. `export` writes them as a JSON file (each hint with its failure cluster's kind,
fix-first test and signature, which are what a new semester's clusters are named by); `import`
writes a file's hints into an assignment of this service, an earlier edition's into a later one
too (clusters are named by test ids, which `extends` keeps)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.cli import ExitCode
from submissions_api.bootstrap import prepare_database
from submissions_api.errors import ServiceError
from submissions_api.services import hints
from submissions_api.settings import load_settings
from submissions_api.store.db import session_factory


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hints", help="export an assignment's cluster hints, or import them "
                       "(next semester's)")
    p.add_argument("action", choices=("export", "import"),
                   help="export: write the hints as JSON; import: add them from such a file")
    p.add_argument("--file", default="-",
                   help="the hint file (default: standard output / input)")
    p.add_argument("--assignment", required=True, help="the assignment's slug")
    p.set_defaults(func=cmd_hints)


def cmd_hints(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    try:
        with session_factory(settings.database_url)() as session:
            if args.action == "export":
                text = hints.export_hints(session, args.assignment)
                if args.file == "-":
                    sys.stdout.write(text)
                else:
                    Path(args.file).write_text(text, encoding="utf-8")
                return ExitCode.OK
            data = (sys.stdin.buffer.read(hints.MAX_FILE + 1) if args.file == "-"
                    else _read(Path(args.file)))
            count = hints.import_hints(session, args.assignment, data)
    except (ServiceError, OSError) as exc:
        print(f"mlpgrade: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"imported {count} hints into {args.assignment}")
    return ExitCode.OK


def _read(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(hints.MAX_FILE + 1)
