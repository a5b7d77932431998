"""`python -m worker [--queues Q] [--concurrency N] [--name NAME]`: one Celery worker process,
the only way to start one (`mlpgrade worker`, `mlpgrade serve` and compose run this command).

A worker of the bulk queue alone (regrades, training runs, golden sets) runs at nice
`BULK_NICE`, and so do its sandboxes (their cgroups take its weight): on a host it shares with
live workers it takes the CPU they leave, so a deadline's uploads are not graded at half speed
while the training runs of earlier ones go on. Its verdicts do not change: limits are CPU time,
and its share under full live load (about a tenth of a core at nice 10, against two live jobs on
two cores) stays above what the wall clock takes for a hung test (under 5 %, grader/inside). Its
training runs and similarity jobs also wait while live gradings are queued or running (at most a
minute each, worker/admission.py `after_live`): what they spend outside the niced sandboxes and
the worker's share at nice 10 would otherwise still come out of the live gradings' cores.

A worker of the live queue may have more grading slots (`--concurrency`) than `--cores`: a
grading beyond the cores starts only while a running one sleeps (worker/admission.py).

Every temporary file a worker's jobs make is under its scratch folder (worker/scratch.py): removed
on a graceful stop, and by the next worker started on the host if this one is killed; so are the
empty cgroups of its sandbox slots (grader/sandbox/linux/cgroup.py `sweep_cgroups`)."""

from __future__ import annotations

import argparse
import logging
import multiprocessing.util
import os
import sys
import time
import warnings

from celery.exceptions import SecurityWarning
from celery.signals import worker_ready

from grader.sandbox.linux.cgroup import cgroups_usable, sweep_cgroups
from grader.settings import load_settings as load_grader_settings
from submissions_api.jobs import Dispatcher
from submissions_api.store.models_grading import QueueKind
from worker import admission
from worker.app import app, settings
from worker.scratch import claim_scratch

BULK_NICE = 10
DECLARE_ATTEMPTS = 10
log = logging.getLogger(__name__)


def declare_queues() -> None:
    """With the embedded broker, both queues exist before Celery's consumer declares its own:
    kombu's sqlalchemy transport selects, then inserts, so two processes declaring one queue at
    once make one of them fail on the table's unique name, and Celery treats that as an
    unrecoverable error at start (seen in CI: a worker started beside the API died). Declaring
    them ourselves, again after such a failure, leaves the consumer only queues that exist.
    Other brokers declare atomically; one that is not up yet is left to Celery, which waits."""
    if not settings.broker_url.startswith("sqla+"):
        return
    for _ in range(DECLARE_ATTEMPTS):
        try:
            Dispatcher(settings).declare_queues()
            return
        except Exception:  # noqa: BLE001 - the race above, or a broker not up yet
            time.sleep(0.2)
    log.warning("could not declare the queues before starting; Celery will")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--queues", default=f"{QueueKind.LIVE},{QueueKind.BULK}",
                        help="live (students' uploads), bulk (regrades, golden sets), or both")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="grading slots (pool processes)")
    parser.add_argument("--cores", type=int, default=len(os.sched_getaffinity(0)),
                        help="live gradings computing at once on this host; the slots beyond "
                        "them start a grading only while another sleeps")
    parser.add_argument("--name", default=None, help="Celery node name (default: worker@host)")
    parser.add_argument("--loglevel", default="INFO")
    parser.add_argument("--quiet", action="store_true",
                        help="no banner and no warning about running as root (`mlpgrade serve` "
                        "prints its own lines; its sandboxes drop root anyway)")
    args = parser.parse_args(argv)
    if {q.strip() for q in args.queues.split(",")} == {QueueKind.BULK}:
        os.nice(BULK_NICE)
        admission.defer_bulk_jobs()
    else:  # before the pool forks: its processes inherit the gate
        admission.enable(admission.Admission(
            settings.home / "admission", args.cores,
            sees_sandboxes=load_grader_settings().sandbox != "docker"))
    names = {QueueKind.LIVE: settings.live_queue, QueueKind.BULK: settings.bulk_queue}
    queues = ",".join(names.get(q.strip(), q.strip()) for q in args.queues.split(","))
    argv = ["worker", "-Q", queues, "-c", str(args.concurrency), "--loglevel", args.loglevel,
            "--without-gossip", "--without-mingle"]
    if args.name:
        argv += ["-n", args.name]
    if settings.log_format == "json" or args.quiet:  # no banner; warnings are logged
        argv = ["--quiet", *argv]
        logging.captureWarnings(True)
    if args.quiet:
        warnings.filterwarnings("ignore", category=SecurityWarning)
    declare_queues()
    scratch = claim_scratch()  # before any job: its temporary files go there
    # a cgroup once, by its name (not once per controller of cgroup v1)
    left = [*map(str, scratch.removed), *sorted({
        f"cgroup {d.parent.name}/{d.name}" for d in (sweep_cgroups() if cgroups_usable() else [])})]

    @worker_ready.connect(weak=False)
    def _say_scratch(**_: object) -> None:  # once Celery set up the log's format (json or text)
        log.info("scratch folder %s", scratch.path)
        if left:
            log.warning("removed what dead workers left: %s", ", ".join(left))

    try:
        app.worker_main(argv)
    finally:  # a graceful stop (SIGTERM, Ctrl-C): the pool's children are gone by now
        # multiprocessing keeps its own temporary folder (pymp-*) in the scratch folder: its
        # exit finalizers remove it first, or they would fail at exit on a folder already gone
        # (a traceback on serve's console)
        multiprocessing.util._run_finalizers()
        scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
