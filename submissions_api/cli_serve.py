"""`mlpgrade serve`: the service on one machine (API processes and two worker processes), with
a quiet console: what started, where its data are, the golden sets' progress, and errors. The
access log is off unless asked for (`--access-log`); Ctrl-C stops everything without tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn
import uvicorn.config

from grader.cli import ExitCode
from grader.errors import InfrastructureError
from grader.runtime import runtime_python
from grader.settings import load_settings as load_grader_settings
from submissions_api.bootstrap import instructor_token, prepare_database
from submissions_api.jobs import Dispatcher
from submissions_api.settings import load_settings
from submissions_api.store import rubrics
from submissions_api.warmup import make_golden_sets

PR_SET_PDEATHSIG = 1


def register(sub: argparse._SubParsersAction) -> None:
    """`mlpgrade serve` and its options (each with its default in --help)."""
    p = sub.add_parser("serve", help="run the API (and two worker processes) on this machine",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="The service on this machine: API, pages and workers. Its "
                       "data (database, golden sets, student runtime) live in MLPGRADE_HOME "
                       "(as root /var/lib/mlpgrade, else ~/.local/share/mlpgrade); "
                       "docs/service.md lists every MLPGRADE_* variable.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--no-worker", action="store_true", help="API only (workers run elsewhere)")
    p.add_argument("--concurrency", type=int, default=2 * (os.cpu_count() or 1),
                   help="grading slots of the live worker: two per core, those beyond the "
                   "cores used only while gradings sleep (worker/admission.py)")
    p.add_argument("--api-workers", type=int, default=os.cpu_count() or 1,
                   help="API server processes (one per core)")
    p.add_argument("--access-log", action="store_true",
                   help="print one line per request (off: the console shows only what matters)")
    p.set_defaults(func=cmd_serve)


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
    """Refuse a data folder without the student runtime; else migrate, start the workers, make
    missing golden sets, serve until stopped, and say where the service is once it listens."""
    settings = load_settings()
    if not args.no_worker and (missing := missing_runtime()):
        print(f"mlpgrade: {missing}", file=sys.stderr)
        return ExitCode.INFRASTRUCTURE
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
    print(f"data folder {settings.home}; database {_redact(settings.database_url)}")
    print(f"instructor token: {token}", flush=True)
    # before the first upload needs them; their progress is printed here
    make_golden_sets(settings, Dispatcher(settings), say=lambda line: print(line, flush=True))
    # uvicorn re-raises SIGTERM once it has shut down; make that an exit that runs `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    api_workers = max(1, args.api_workers)
    if api_workers > 1:  # /metrics adds up the latency every API process measured
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_folder(settings.home))
    threading.Thread(target=_say_when_listening, daemon=True, args=(
        args.host, args.port, f"mlpgrade service at {url}  (API docs {url}/docs)")).start()
    try:
        uvicorn.run("submissions_api.main:create_app", factory=True, host=args.host,
                    port=args.port, log_config=log_config(settings.log_format),
                    access_log=args.access_log, workers=api_workers)
    finally:
        _stop(workers)
        print("mlpgrade service stopped", flush=True)
    return ExitCode.OK


def _say_when_listening(host: str, port: int, line: str, timeout: float = 600.0) -> None:
    """Print `line` (the service's address) once the API accepts connections on the port: a
    link printed before (while the golden sets were made, or the API processes started) was
    refused when opened."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                print(line, flush=True)
                return
        except OSError:
            time.sleep(0.1)


def missing_runtime() -> str:
    """Why this machine's workers could not run students' code, with the command that fixes
    it; "" when they can. The student runtime lives in the data folder (MLPGRADE_HOME), so
    pointing that at a new folder needs its own `runtime install` (the docker backend carries
    the runtime in its image)."""
    grader_settings = load_grader_settings()  # this command's, read as it starts
    if grader_settings.sandbox == "docker" or grader_settings.runtime_python is not None:
        return ""
    missing = []
    for slug in rubrics.slugs():
        try:
            runtime_python(rubrics.assignment(slug).packages, grader_settings)
        except InfrastructureError:
            missing.append(slug)
    if not missing:
        return ""
    home, command = grader_settings.home, sys.argv[0] if sys.argv[0].endswith("mlpgrade") \
        else "mlpgrade"
    fix = " && ".join(f"MLPGRADE_HOME={home} {command} runtime install --assignment {slug}"
                      for slug in missing)
    return (f"the student runtime of {', '.join(missing)} is not installed in the data folder "
            f"{home}: run `{fix}` (a minute each), then start again")


def log_config(kind: str = "text") -> dict:
    """uvicorn's logging with warnings only from the server and, on stdout, the access log
    (`--access-log`): one line a request with its time, client, request line and status
    (never a token: those travel in headers and cookies, not in URLs). `json`
    (MLPGRADE_LOG_FORMAT) makes every line one JSON object (submissions_api/logs.py)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["access"]["fmt"] = (
        '%(asctime)s %(client_addr)s "%(request_line)s" %(status_code)s')
    config["formatters"]["access"]["datefmt"] = "%Y-%m-%dT%H:%M:%S%z"
    if kind == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": "submissions_api.logs.JsonFormatter"}
    config["filters"] = {"links": {"()": "submissions_api.logs.HideSignInLinks"}}
    config["handlers"]["access"]["filters"] = ["links"]  # no usable sign-in link in a log
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
    # Its log (warnings and errors) goes to stderr; stdout only carries Celery's own prints
    # ("worker: Warm shutdown"), which `serve`'s console leaves out.
    argv = worker_argv(queues, concurrency, f"{queues}-{os.getpid()}@%h", "WARNING")
    return subprocess.Popen([*argv, "--quiet"], preexec_fn=_die_with_parent, process_group=0,
                            stdout=subprocess.DEVNULL)


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: `serve`'s finally still stops the workers on a clean exit
        pass


COLD_GRACE = 10.0
"""Seconds a worker has, after a cold shutdown began, to remove its scratch folder and go."""


def _stop(workers: list[subprocess.Popen], grace: float = 20.0) -> None:
    """Stop the live worker warm (SIGTERM: a running grading may finish) for `grace` seconds and
    the bulk worker cold at once (SIGQUIT: its long training runs are cut; the reaper re-sends
    them). A worker still running after its grace is stopped cold, and last SIGKILL goes to its
    whole process group: a pool child busy with a task would otherwise outlive its killed
    parent. A cold stop still removes the worker's scratch folder. Nothing is lost: a grading or
    golden set cut short is redone (the reaper re-queues the one, the next asker rebuilds the
    other)."""
    live, *bulk = workers
    live.terminate()
    for proc in bulk:
        proc.send_signal(signal.SIGQUIT)
    deadline = time.monotonic() + grace
    for proc in workers:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=COLD_GRACE)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader: its pool
        proc.wait()


def _redact(url: str) -> str:
    head, sep, tail = url.partition("@")
    return (head.split(":")[0] + ":***@" + tail) if sep and ":" in head.split("//")[-1] else url
