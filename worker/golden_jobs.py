"""Golden sets on the worker side: generate one from our reference and run the canary before it
may be used (a grading reads the database's active set, the only registry in the service, when
it claims its attempt: worker.grading).

An assignment without an active set gets one from the golden job on the bulk queue
(`ensure_active`), the only maker: it leases the set (`golden_lifecycle.ensure_golden_set`)
and renews the lease while it generates, runs the canary and activates, so a maker that dies is
replaced within the lease. A grading that finds no active set never makes or waits for one: it is
postponed (worker.grading, costing no retry) and asks for the job.

A first golden set whose maker fails on a sick host (worker/health.py) is given up and its job
sent again at once, for a host that is well, while this process waits for its own check.
"""

from __future__ import annotations

import enum
import logging
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from grader.errors import InfrastructureError
from grader.golden.archive import materialize, pack_golden
from grader.golden.canary import generate_golden, verify_golden
from submissions_api.store import crud, golden_lifecycle, rubrics
from submissions_api.store.models_golden import GoldenStatus
from worker import health
from worker.context import WorkerContext
from worker.lease import golden_lease
from worker.retry import Retry, next_attempt

log = logging.getLogger(__name__)

GENERATE, VERIFY = "generate", "verify"
"""The actions of a golden-set job: `generate` (then verify) a new set, or `verify` an upload."""


class Outcome(enum.StrEnum):
    """What became of one golden-set message."""

    READY = GoldenStatus.READY
    CANARY_FAILED = GoldenStatus.CANARY_FAILED
    ERROR = GoldenStatus.ERROR
    """Ours failed and the retry budget is spent (the reason is on the row)."""
    RETRY = "retry"


def prepare_golden_set(ctx: WorkerContext, *, golden_id: int, action: str, tries: int = 0
                       ) -> Outcome:
    """The job behind an instructor's upload or regenerate: the row ends ready, canary_failed
    or (after the retry policy gave up) error."""
    try:
        return Outcome(build(ctx, golden_id=golden_id, generate=action == GENERATE))
    except Exception as exc:
        log.exception("golden set %s: %s failed", golden_id, action)
        decision = next_attempt(tries + 1, ctx.settings)
        if isinstance(decision, Retry):
            ctx.dispatcher.send_golden(golden_id, action, tries + 1, countdown=decision.delay)
            return Outcome.RETRY
        with ctx.sessions() as session:
            golden_lifecycle.golden_failed(session, golden_id=golden_id,
                                    error=f"{type(exc).__name__}: {exc}")
            session.commit()
        return Outcome.ERROR


def build(ctx: WorkerContext, *, golden_id: int, generate: bool) -> GoldenStatus:
    """Generate (when asked) and verify one set; ready or canary_failed."""
    if generate:
        _generate(ctx, golden_id=golden_id)
    return _verify(ctx, golden_id=golden_id)


def _generate(ctx: WorkerContext, *, golden_id: int) -> None:
    with ctx.sessions() as session:
        slug = _slug(session, golden_id)
    with tempfile.TemporaryDirectory(prefix="mlpgrade-generate-") as tmp:
        made = generate_golden(rubrics.assignment(slug), Path(tmp), ctx.grader)
        archive = pack_golden(made.path)
    with ctx.sessions() as session:
        if not golden_lifecycle.golden_generated(session, golden_id=golden_id, version=made.version,
                                          sha256=made.sha256, manifest=made.manifest,
                                          archive_sha256=crud.put_blob(session, data=archive)):
            raise InfrastructureError(f"golden set {golden_id} was no longer generating")
        session.commit()


def _verify(ctx: WorkerContext, *, golden_id: int) -> GoldenStatus:
    """Run the canary (reference full marks, starter 0, every known mistake exact)."""
    with ctx.sessions() as session:
        golden = crud.get_golden_set(session, golden_id=golden_id)
        slug = _slug(session, golden_id)
        archive = ctx.golden_archive(golden.archive_sha256)
        version = golden.version
    loaded = materialize(root=ctx.golden_cache, assignment=slug, version=version,
                         archive=archive)
    result = verify_golden(rubrics.assignment(slug), loaded, ctx.sandbox_factory(),
                           ctx.grader)
    with ctx.sessions() as session:
        status = golden_lifecycle.golden_verified(session, golden_id=golden_id, canary=result)
        if status is None:
            raise InfrastructureError(f"golden set {golden_id} was no longer verifying")
        session.commit()
    return status


def _slug(session: Session, golden_id: int) -> str:
    golden = crud.get_golden_set(session, golden_id=golden_id)
    return crud.get_assignment_by_id(session, assignment_id=golden.assignment_id).slug


def request_golden(ctx: WorkerContext, *, assignment_id: int) -> bool:
    """Send the golden job unless a living maker is at it (its lease holds): what a grading
    that found no active set does, so a maker that died is replaced within its lease."""
    with ctx.sessions() as session:
        if golden_lifecycle.golden_being_made(session, assignment_id=assignment_id,
                                       now=crud.db_now(session)) is not None:
            return False
    return ctx.dispatcher.send_ensure_golden(assignment_id)


def ensure_active(ctx: WorkerContext, *, assignment_id: int, owner: str) -> str:
    """The golden job (bulk queue), the only maker of the set the service makes for itself:
    `serve` sends it at start, a grading that finds no active set sends it again. Nothing to
    do when the assignment has an active set or a living maker; else this worker leases a new
    set (replacing one whose maker died), makes it under a heartbeat and activates it. A
    failure is only logged: the next grading that waits sends the job again."""
    with ctx.sessions() as session:
        golden, mine = golden_lifecycle.ensure_golden_set(
            session, assignment_id=assignment_id, owner=owner,
            lease_seconds=ctx.settings.lease_seconds)
        session.commit()
        golden_id, maker = golden.id, golden.lease_owner
        making = golden.status in (GoldenStatus.GENERATING, GoldenStatus.VERIFYING)
    if not mine:
        return f"golden set {golden_id} " + (f"being made by {maker}" if making else "active")
    log.info("no active golden set for assignment %s: making set %s", assignment_id, golden_id)
    try:
        with golden_lease(ctx.sessions, golden_id=golden_id, owner=owner,
                          lease_seconds=ctx.settings.lease_seconds):
            _make_and_activate(ctx, golden_id=golden_id)
    except Exception:
        log.exception("assignment %s: making golden set %s failed", assignment_id, golden_id)
        # the set is given up (error): a well host makes the next one now
        health.hand_over_if_sick(ctx, lambda: ctx.dispatcher.send_ensure_golden(assignment_id))
        return "failed"
    return f"golden set {golden_id} active"


def _make_and_activate(ctx: WorkerContext, *, golden_id: int) -> None:
    try:
        status = build(ctx, golden_id=golden_id, generate=True)
    except Exception as exc:
        with ctx.sessions() as session:
            golden_lifecycle.golden_failed(session, golden_id=golden_id,
                                    error=f"{type(exc).__name__}: {exc}")
            session.commit()
        raise
    if status != GoldenStatus.READY:
        raise InfrastructureError(f"the canary of golden set {golden_id} failed")
    with ctx.sessions() as session:
        golden_lifecycle.activate_if_none(session, golden=crud.get_golden_set(session,
                                                                       golden_id=golden_id))
        session.commit()
