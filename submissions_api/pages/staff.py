"""TAs' pages: the assignment dashboard, a submission's sources and runs, regrades, gradebook."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import Response

from submissions_api.deps import SessionDep
from submissions_api.pages import summaries as summaries_of
from submissions_api.pages import svg
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.pages.sources import handin_sources
from submissions_api.routes import assignments as assignments_api
from submissions_api.routes import regrades as regrades_api
from submissions_api.routes import submissions as submissions_api
from submissions_api.routes.common import assignment_or_404, submission_out
from submissions_api.schemas import ManualGradeIn, RegradeIn
from submissions_api.security import PageUser, has_role, not_found, require_role
from submissions_api.store import crud
from submissions_api.store.models import Role
from submissions_api.views import test_diff

router = page_router()


@router.get("/staff/assignments/{slug}")
def dashboard(slug: str, request: Request, user: PageUser, session: SessionDep):
    assignment = assignment_or_404(session, slug)
    require_role(user, Role.TA)
    rows = assignments_api.gradebook_table(session, assignment, "best")
    scores = [r["score"] for r in rows if r["score"] != ""]
    stats, summaries = assignments_api.class_stats(session, assignment, rows)
    tests = stats["tests"]
    recent = crud.list_submissions(session, assignment_id=assignment.id, limit=25)
    return render(
        request, "staff_assignment.html", title=f"{assignment.title} — TA dashboard",
        assignment=assignment, stats=stats, scores=scores,
        histogram=svg.histogram(scores, top=stats["max_score"], title="score histogram"),
        rates=svg.rate_bars([(t["name"], t["pass_rate"]) for t in tests]) if tests else None,
        tests=tests, failures=summaries_of.common_failures(summaries),
        students=summaries_of.student_rows(crud.gradebook_rows(session, assignment=assignment)),
        recent=[submission_out(session, s, staff=True) for s in recent],
        instructor=has_role(user, Role.INSTRUCTOR))


@router.get("/staff/assignments/{slug}/gradebook.csv")
def gradebook_csv(slug: str, user: PageUser, session: SessionDep, policy: str = "best"):
    return assignments_api.gradebook_csv(slug, user, session,
                                         policy="latest" if policy == "latest" else "best")


@router.post("/staff/assignments/{slug}/regrade")
def regrade_assignment(slug: str, request: Request, user: PageUser, session: SessionDep,
                       scope: str = Form("latest")):
    regrade = regrades_api.regrade_assignment(slug, RegradeIn(latest_only=scope != "all"),
                                              request, user, session)
    return see_other(f"/staff/regrades/{regrade.id}")


@router.get("/staff/regrades/{regrade_id}")
def regrade_page(regrade_id: int, request: Request, user: PageUser, session: SessionDep):
    regrade = regrades_api.get_regrade(regrade_id, user, session)
    settled = regrade.done + regrade.failed + regrade.skipped
    return render(request, "regrade.html", title=f"Regrade {regrade.id}", regrade=regrade,
                  progress=settled / regrade.total if regrade.total else 1.0,
                  refresh=None if regrade.finished else 2,
                  changed=[i for i in regrade.items if i["tests"] or
                           (i["status"] == "done" and i["before"] != i["after"])])


@router.get("/staff/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, user: PageUser, session: SessionDep):
    """Everything about one submission: staff report, sources, every run and what changed."""
    sub = crud.get_submission(session, submission_id=submission_id)
    if sub is None:
        raise not_found("submission")
    require_role(user, Role.TA)
    out = submission_out(session, sub, staff=True, with_result=True)
    runs = list(crud.list_runs(session, submission_id=sub.id))
    graded = [r for r in runs if r.outcome == "graded"]
    diffs = [(a, b, test_diff(a.report, b.report)) for a, b in zip(graded, graded[1:])]
    data = crud.get_blob(session, sha256=sub.blob_sha256) or b""
    return render(request, "staff_submission.html", title=f"Submission {sub.id} ({sub.user.login})",
                  sub=out, result=out.result or {}, runs=runs, diffs=diffs,
                  sources=handin_sources(data), live=out.status in ("queued", "running"),
                  training_live=out.training == "pending",
                  manual=out.manual, plots=(out.result or {}).get("artifacts", []),
                  run_id=sub.current_run_id, saved=request.query_params.get("saved"))


@router.post("/staff/submissions/{submission_id}/manual/{item_id}")
def set_manual_grade(submission_id: int, item_id: str, user: PageUser, session: SessionDep,
                     points: float = Form(), comment: str = Form("")):
    """The API's manual grading (TAs; 0 to the item's maximum), then back to the submission."""
    submissions_api.set_manual_grade(submission_id, item_id,
                                     ManualGradeIn(points=max(points, 0.0), comment=comment),
                                     user, session)
    return see_other(f"/staff/submissions/{submission_id}?saved={item_id}#manual")


@router.get("/runs/{run_id}/plots/{name}")
def plot(run_id: int, name: str, user: PageUser, session: SessionDep) -> Response:
    """A training plot (PNG) of a run, for its owner and staff (the API's check)."""
    return submissions_api.get_plot(run_id, name, user, session)


@router.post("/staff/submissions/{submission_id}/regrade")
def regrade_one(submission_id: int, request: Request, user: PageUser, session: SessionDep):
    regrade = regrades_api.regrade_one(submission_id, request, user, session)
    return see_other(f"/staff/regrades/{regrade.id}")
