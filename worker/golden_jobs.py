"""Golden-set jobs: generate one from our reference, and run the canary before it may be used."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from grader.golden.archive import materialize, pack_golden
from submissions_api.store import crud
from worker.context import WorkerContext

log = logging.getLogger(__name__)


def prepare_golden_set(ctx: WorkerContext, *, golden_id: int, action: str) -> str:
    """`generate` (then verify) or `verify`; the row ends ready, canary_failed or error."""
    try:
        if action == "generate":
            generate(ctx, golden_id=golden_id)
        return verify(ctx, golden_id=golden_id)
    except Exception as exc:  # noqa: BLE001 - shown to the instructor on the row
        log.exception("golden set %s: %s failed", golden_id, action)
        with ctx.sessions() as session:
            golden = crud.get_golden_set(session, golden_id=golden_id)
            crud.update_golden_set(session, golden=golden, values={
                "status": "error", "error": f"{type(exc).__name__}: {exc}"[:4000]})
            session.commit()
        return "error"


def generate(ctx: WorkerContext, *, golden_id: int) -> None:
    from grader.golden.canary import generate_golden
    from grader.rubric import load_assignment

    with ctx.sessions() as session:
        slug = crud.get_assignment_by_id(session, assignment_id=crud.get_golden_set(
            session, golden_id=golden_id).assignment_id).slug
    with tempfile.TemporaryDirectory(prefix="mlpgrade-generate-") as tmp:
        made = generate_golden(load_assignment(slug), Path(tmp))
        archive = pack_golden(made.path)
    with ctx.sessions() as session:
        golden = crud.get_golden_set(session, golden_id=golden_id)
        sha = crud.put_blob(session, data=archive)
        crud.update_golden_set(session, golden=golden, values={
            "status": "verifying", "version": made.version, "sha256": made.sha256,
            "numpy_version": made.manifest.get("numpy"), "manifest": made.manifest,
            "archive_sha256": sha})
        session.commit()


def verify(ctx: WorkerContext, *, golden_id: int) -> str:
    """Run the canary (reference full marks, starter 0, every known mistake exact)."""
    from grader.golden.canary import verify_golden
    from grader.rubric import load_assignment
    from grader.sandbox import get_sandbox

    with ctx.sessions() as session:
        golden = crud.get_golden_set(session, golden_id=golden_id)
        slug = crud.get_assignment_by_id(session, assignment_id=golden.assignment_id).slug
        archive = crud.get_blob(session, sha256=golden.archive_sha256)
        version = golden.version
    loaded = materialize(root=ctx.settings.home / "golden", assignment=slug, version=version,
                         archive=archive)
    result = verify_golden(load_assignment(slug), loaded, get_sandbox())
    status = "ready" if result["passed"] else "canary_failed"
    with ctx.sessions() as session:
        golden = crud.get_golden_set(session, golden_id=golden_id)
        crud.update_golden_set(session, golden=golden, values={
            "status": status, "canary": result, "canary_passed": bool(result["passed"])})
        session.commit()
    return status
