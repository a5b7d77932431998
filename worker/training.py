"""The training run of a graded submission: get_training_stats in the sandbox, its checks and
plots attached to the run as evidence for the TA who grades the manual item.

It runs after the automatic tests, on the bulk queue, so the students' scores never wait for a
few seconds of training. Recorded once per run (compare-and-set on `training = 'pending'`);
our failures are retried with backoff, then recorded as `failed` with the reason for the TA.
"""

from __future__ import annotations

import copy
import logging

from grader.golden.archive import materialize
from submissions_api.store import crud
from worker.context import WorkerContext

log = logging.getLogger(__name__)


def train_run(ctx: WorkerContext, *, run_id: int, tries: int = 0) -> str:
    """done, failed, retry or stale (nothing pending for this run: a duplicate message)."""
    from grader.grade import train_handin
    from grader.rubric import load_assignment
    from grader.sandbox import get_sandbox

    with ctx.sessions() as session:
        run = crud.get_run(session, run_id=run_id)
        if run is None or run.training != "pending":
            return "stale"
        sub = crud.get_submission(session, submission_id=run.submission_id)
        slug, report = sub.assignment.slug, copy.deepcopy(run.report)
        data = crud.get_blob(session, sha256=sub.blob_sha256)
        golden = next((g for g in crud.list_golden_sets(session, assignment=sub.assignment)
                       if g.version == run.golden_version and g.archive_sha256), None)
        archive = crud.get_blob(session, sha256=golden.archive_sha256) if golden else None
    try:
        gold = materialize(root=ctx.settings.home / "golden", assignment=slug, version=run.golden_version,
                           archive=archive) if archive else None
        result = train_handin(data, assignment=slug, golden=gold, sandbox=get_sandbox())
        evidence, artifacts = result.evidence, result.plots
        status = "done"
    except Exception as exc:  # noqa: BLE001 - ours: retried, then reported to the TA
        log.exception("training run of run %s failed on our side", run_id)
        if tries < ctx.settings.infra_retries:
            ctx.dispatcher.send_training(run_id, tries + 1,
                                         countdown=ctx.settings.retry_backoff * 2 ** tries)
            return "retry"
        evidence, artifacts, status = {"checks": [], "error": f"{type(exc).__name__}: {exc}"[
            :2000]}, {}, "failed"
    for item in report.get("manual", []):
        if item.get("id") == load_assignment(slug).training_id:
            item["evidence"] = evidence
    report["artifacts"] = sorted(artifacts)
    with ctx.sessions() as session:
        if not crud.record_training(session, run_id=run_id, report=report, artifacts=artifacts,
                                    status=status):
            session.rollback()
            return "stale"
        session.commit()
    log.info("run %s: training %s", run_id, status)
    return status
