"""The `mlpgrade` command: the grader's commands and the service's, composed above both.

The grader's (grade, reference, handout, runtime) come from `grader.cli.register`; the service's
are serve, worker, migrate, users import and submit.

Exit codes are `grader.cli.ExitCode`: 0 done, 2 usage or refused by the server, 3 grading failed on
our side, 4 timed out waiting. A worker is always a separate process (`python -m worker`): this
module never imports the worker package.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import uvicorn
import uvicorn.config

from grader import cli as grader_cli
from grader.cli import ExitCode
from grader.errors import GraderError
from grader.rubric import DEFAULT_ASSIGNMENT, load_assignment
from grader.similarity import report as similarity_report
from submissions_api import cli_lti
from submissions_api.bootstrap import (
    import_roster,
    instructor_token,
    prepare_database,
    user_tokens,
)
from submissions_api.client import submit_and_wait
from submissions_api.jobs import Dispatcher
from submissions_api.services.roster import PRESETS, parse_roster
from submissions_api.settings import load_settings
from submissions_api.warmup import make_golden_sets

PR_SET_PDEATHSIG = 1


def build_parser() -> argparse.ArgumentParser:
    """The grader's commands (grader.cli.register) plus the service's."""
    parser = argparse.ArgumentParser(prog="mlpgrade", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    grader_cli.register(sub)
    register(sub)
    cli_lti.register(sub)
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    """The service's commands."""
    p = sub.add_parser("serve", help="run the API (and two worker processes) on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-worker", action="store_true", help="API only (workers run elsewhere)")
    p.add_argument("--concurrency", type=int, default=os.cpu_count() or 1,
                   help="grading slots of the live worker (default: one per core)")
    p.add_argument("--api-workers", type=int, default=os.cpu_count() or 1,
                   help="API server processes (default: one per core)")
    p.add_argument("--no-access-log", action="store_true", help="do not print one line a request")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a Celery worker against the configured URLs")
    p.add_argument("--queues", default="live,bulk", help="live, bulk or live,bulk")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--name", default=None)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="create or upgrade the service database schema")
    p.set_defaults(func=cmd_migrate)

    users = sub.add_parser("users", help="service users").add_subparsers(dest="action",
                                                                         required=True)
    p = users.add_parser("import", help="create users from a CSV (login,name,role, or a Canvas "
                         "or Gradescope export); print tokens")
    p.add_argument("roster")
    p.add_argument("--new-tokens", action="store_true",
                   help="existing users get a new token too (their old ones are revoked)")
    p.add_argument("--format", choices=sorted(PRESETS), default="",
                   help="the CSV's kind (default: detected from its header)")
    p.add_argument("--map", action="append", metavar="FIELD=COLUMN",
                   help="the column of login, name, first, last or role (repeat)")
    p.set_defaults(func=cmd_users_import)
    p = users.add_parser("tokens", help="list, revoke or rotate a user's API tokens")
    p.add_argument("token_action", choices=["list", "revoke", "rotate"])
    p.add_argument("login")
    p.add_argument("--id", type=int, default=None, help="revoke: this token (see list)")
    p.add_argument("--all", action="store_true", help="revoke: every live token of the user")
    p.set_defaults(func=cmd_users_tokens)

    _register_similarity(sub)

    p = sub.add_parser("submit", help="upload a handin.tar and wait for its score")
    p.add_argument("handin")
    p.add_argument("--server", default=os.environ.get("MLPGRADE_SERVER"))
    p.add_argument("--token", default=os.environ.get("MLPGRADE_TOKEN"))
    p.add_argument("--assignment", default="hw1p1-s20")
    p.add_argument("--no-wait", action="store_true")
    p.add_argument("--timeout", type=float, default=900)
    p.set_defaults(func=cmd_submit)



def _register_similarity(sub: argparse._SubParsersAction) -> None:
    """`mlpgrade similarity`: compare hand-ins, or import an archive of earlier ones."""
    p = sub.add_parser("similarity", help="compare hand-ins for copying (or `similarity import "
                       "--assignment SLUG --semester S PATH`: an archive of earlier hand-ins)")
    p.add_argument("paths", nargs="+", metavar="TAR_OR_DIR",
                   help="hand-ins (handin.tar or a folder holding hw1/ and mytorch/)")
    p.add_argument("--base", action="append", default=[], metavar="TAR_OR_DIR",
                   help="code given to everyone (the assignment's starter always is)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    p.add_argument("--semester", help="with `import`: the semester the archive is from")
    p.add_argument("--as-base", action="store_true",
                   help="with `import`: PATH is one hand-in of base code (it never counts)")
    p.add_argument("--top", type=int, default=20, help="pairs the table shows")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
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


def worker_argv(queues: str, concurrency: int, name: str | None = None,
                loglevel: str | None = None) -> list[str]:
    """The command line of a worker process: the one way a worker starts."""
    argv = [sys.executable, "-m", "worker", "--queues", queues, "--concurrency", str(concurrency)]
    if name:
        argv += ["--name", name]
    if loglevel:
        argv += ["--loglevel", loglevel]
    return argv


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    if settings.instructor_token:
        instructor_token(settings, token=settings.instructor_token)
        token = "(MLPGRADE_INSTRUCTOR_TOKEN)"
    else:
        token = instructor_token(settings) or \
            "(already issued; `mlpgrade users tokens rotate instructor` makes a new one)"
    workers: list[subprocess.Popen] = []
    if not args.no_worker:
        Dispatcher(settings).declare_queues()  # broker tables exist before workers race
        workers = [_spawn_worker("live", args.concurrency), _spawn_worker("bulk", 1)]
    url = settings.public_url or f"http://{args.host}:{args.port}"
    print(f"mlpgrade service at {url}  (API docs {url}/docs)")
    print(f"data folder {settings.home}; database {_redact(settings.database_url)}")
    print(f"instructor token: {token}", flush=True)
    # before the first upload needs them; their progress is printed here
    make_golden_sets(settings, Dispatcher(settings), say=lambda line: print(line, flush=True))
    # uvicorn re-raises SIGTERM once it has shut down; make that an exit that runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api_workers = max(1, args.api_workers)
    if api_workers > 1:  # /metrics adds up the latency every API process measured
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_folder(settings.home))
    try:
        uvicorn.run("submissions_api.main:create_app", factory=True, host=args.host,
                    port=args.port, log_config=log_config(settings.log_format),
                    access_log=not args.no_access_log, workers=api_workers)
    finally:
        _stop(workers)
    return ExitCode.OK


def log_config(kind: str = "text") -> dict:
    """uvicorn's logging with warnings only from the server and, on stdout, an access log: one
    line a request with its time, client, request line and status (never a token: those travel
    in headers and cookies, not in URLs). `json` (MLPGRADE_LOG_FORMAT) makes every line one
    JSON object (submissions_api/logs.py)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["access"]["fmt"] = (
        '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s')
    config["formatters"]["access"]["datefmt"] = "%Y-%m-%dT%H:%M:%S%z"
    if kind == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "submissions_api.logs.JsonFormatter"}
    config["loggers"]["uvicorn"]["level"] = "WARNING"
    config["loggers"]["uvicorn.error"]["level"] = "WARNING"
    config["root"] = {"handlers": ["default"], "level": "WARNING"}  # the service's own warnings
    return config


def metrics_folder(home: Path) -> Path:
    """The API processes' shared metric files (prometheus_client's multiprocess mode), empty
    at each start: a histogram counts this run's requests."""
    folder = home / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _spawn_worker(queues: str, concurrency: int) -> subprocess.Popen:
    # A real worker process (not a thread): the same command as `mlpgrade worker`. It gets
    # SIGTERM when `serve` dies however it dies (uvicorn re-raises SIGTERM past our `finally`).
    # Its own process group holds it and its pool, so `_stop` can end them all at once (a
    # terminal's Ctrl-C reaches `serve` alone, which stops the workers warm).
    return subprocess.Popen(worker_argv(queues, concurrency, f"{queues}-{os.getpid()}@%h",
                                        "WARNING"), preexec_fn=_die_with_parent,
                            process_group=0)


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: `serve`'s finally still stops the workers on a clean exit
        pass


def _stop(workers: list[subprocess.Popen], grace: float = 20.0) -> None:
    """Warm shutdown (SIGTERM: running tasks may finish) for `grace` seconds, then SIGKILL to
    each worker's whole process group: a pool child busy with a task would otherwise outlive
    its killed parent. Nothing is lost: a grading or golden set cut short is redone (the
    reaper re-queues the one, the next asker rebuilds the other)."""
    for proc in workers:
        proc.terminate()
    deadline = time.monotonic() + grace
    for proc in workers:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader: its pool
        proc.wait()


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    return (head.split(":")[0] + ":***@" + tail) if sep and ":" in head.split("//")[-1] else url


def cmd_worker(args: argparse.Namespace) -> int:
    """Become the worker process (exec): signals reach Celery directly, as under compose."""
    argv = worker_argv(args.queues, args.concurrency, args.name)
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
    return submit_and_wait(args.server, args.token, path, assignment=args.assignment,
                           wait=not args.no_wait, timeout=args.timeout, clock=time.monotonic)


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
    return grader_cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
