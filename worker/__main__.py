"""`python -m worker [--queues Q] [--concurrency N] [--name NAME]`: one Celery worker process,
the only way to start one (`mlpgrade worker`, `mlpgrade serve` and compose run this command)."""

from __future__ import annotations

import argparse
import logging
import sys

from submissions_api.store.models import QueueKind
from worker.app import app, settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--queues", default=f"{QueueKind.LIVE},{QueueKind.BULK}",
                        help="live (students' uploads), bulk (regrades, golden sets), or both")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--name", default=None, help="Celery node name (default: worker@host)")
    parser.add_argument("--loglevel", default="INFO")
    args = parser.parse_args(argv)
    names = {QueueKind.LIVE: settings.live_queue, QueueKind.BULK: settings.bulk_queue}
    queues = ",".join(names.get(q.strip(), q.strip()) for q in args.queues.split(","))
    argv = ["worker", "-Q", queues, "-c", str(args.concurrency), "--loglevel", args.loglevel,
            "--without-gossip", "--without-mingle"]
    if args.name:
        argv += ["-n", args.name]
    if settings.log_format == "json":  # every line a JSON object: no banner, warnings logged
        argv = ["--quiet", *argv]
        logging.captureWarnings(True)
    app.worker_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
