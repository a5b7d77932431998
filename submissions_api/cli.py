"""The service's `mlpgrade` subcommands: serve, worker, users import, submit, migrate.

`grader/cli.py` calls `register(subparsers)`; each command returns an exit code:
0 done, 2 usage or refused by the server, 3 grading failed on our side, 4 timed out waiting.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXIT_USAGE, EXIT_INFRA, EXIT_TIMEOUT = 2, 3, 4
log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the API (and, embedded, a worker) on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-worker", action="store_true", help="API only (workers run elsewhere)")
    p.add_argument("--concurrency", type=int, default=1, help="grading slots of the live worker")
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
    p = users.add_parser("import", help="create users from a CSV (login,name,role); print tokens")
    p.add_argument("roster")
    p.add_argument("--new-tokens", action="store_true", help="also new tokens for existing users")
    p.set_defaults(func=cmd_users_import)

    p = sub.add_parser("submit", help="upload a handin.tar and wait for its score")
    p.add_argument("handin")
    p.add_argument("--server", default=os.environ.get("MLPGRADE_SERVER"))
    p.add_argument("--token", default=os.environ.get("MLPGRADE_TOKEN"))
    p.add_argument("--assignment", default="hw1p1-s20")
    p.add_argument("--no-wait", action="store_true")
    p.add_argument("--timeout", type=float, default=900)
    p.set_defaults(func=cmd_submit)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from submissions_api.bootstrap import instructor_token, prepare_database
    from submissions_api.jobs import Dispatcher
    from submissions_api.settings import load_settings

    settings = load_settings()
    prepare_database(settings)
    if settings.instructor_token:
        instructor_token(settings, token=settings.instructor_token)
        token = "(MLPGRADE_INSTRUCTOR_TOKEN)"
    else:
        token = instructor_token(settings)
    workers: list[subprocess.Popen] = []
    if not args.no_worker:
        Dispatcher(settings).declare_queues()  # broker tables exist before workers race
        workers = [_spawn_worker("live", args.concurrency), _spawn_worker("bulk", 1)]
    url = settings.public_url or f"http://{args.host}:{args.port}"
    print(f"mlpgrade service at {url}  (API docs {url}/docs)")
    print(f"data folder {settings.home}; database {_redact(settings.database_url)}")
    print(f"instructor token: {token}", flush=True)
    # uvicorn re-raises SIGTERM once it has shut down; make that an exit that runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run("submissions_api.main:create_app", factory=True, host=args.host,
                    port=args.port, log_level="warning")
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # nothing is lost: the reaper re-queues its work
                proc.kill()
                proc.wait()
    return 0


def _spawn_worker(queues: str, concurrency: int) -> subprocess.Popen:
    # A real worker process (not a thread): the same code path as `mlpgrade worker`. It gets
    # SIGTERM when `serve` dies however it dies (uvicorn re-raises SIGTERM past our `finally`).
    return subprocess.Popen([sys.executable, "-m", "worker", "--queues", queues,
                             "--concurrency", str(concurrency), "--name",
                             f"{queues}-{os.getpid()}@%h", "--loglevel", "WARNING"],
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: `serve`'s finally still stops the workers on a clean exit
        pass


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    return (head.split(":")[0] + ":***@" + tail) if sep and ":" in head.split("//")[-1] else url


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.__main__ import main  # the CLI may start a worker; the API app never imports it

    argv = ["--queues", args.queues, "--concurrency", str(args.concurrency)]
    return main(argv + (["--name", args.name] if args.name else []))


def cmd_migrate(args: argparse.Namespace) -> int:
    from submissions_api.bootstrap import prepare_database
    from submissions_api.settings import load_settings

    settings = load_settings()
    prepare_database(settings)
    if settings.instructor_token:
        from submissions_api.bootstrap import instructor_token

        instructor_token(settings, token=settings.instructor_token)
    print("database is at the latest schema")
    return 0


def cmd_users_import(args: argparse.Namespace) -> int:
    from submissions_api.bootstrap import import_roster, prepare_database
    from submissions_api.settings import load_settings

    path = Path(args.roster)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "login" not in rows[0]:
        print("mlpgrade: the roster needs a header line: login,name,role", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    prepare_database(settings)
    try:
        created = import_roster(settings, rows, new_tokens=args.new_tokens)
    except ValueError as exc:
        print(f"mlpgrade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["login", "role", "token"])
    for login, role, token in created:
        writer.writerow([login, role, token or "(exists: use --new-tokens)"])
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from submissions_api.client import submit_and_wait

    if not args.server or not args.token:
        print("mlpgrade: --server and --token are needed (or MLPGRADE_SERVER, MLPGRADE_TOKEN)",
              file=sys.stderr)
        return EXIT_USAGE
    path = Path(args.handin)
    if not path.is_file():
        print(f"mlpgrade: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    return submit_and_wait(args.server, args.token, path, assignment=args.assignment,
                           wait=not args.no_wait, timeout=args.timeout, clock=time.monotonic)
