"""TAs' pages: the assignment dashboard, a submission's sources and runs, regrades, gradebook."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import Response

from submissions_api.deps import DispatcherDep, PageUser, SessionDep, SettingsDep
from submissions_api.pages import svg
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.security import has_role, require_role
from submissions_api.services import (
    annotations,
    exports,
    fetch,
    golden,
    gradebook,
    health,
    hints,
    manual,
    passback,
    regrades,
    reports,
    rubric_items,
    sources,
    students,
)
from submissions_api.services import dashboard as dashboard_service
from submissions_api.services import submissions as subs_service
from submissions_api.store import crud
from submissions_api.store.models import Role
from submissions_api.store.models_grading import ItemStatus, RunOutcome, TrainingStatus

router = page_router()


@router.get("/staff/assignments/{slug}")
def dashboard(slug: str, request: Request, user: PageUser, session: SessionDep):
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    rows = gradebook.gradebook_table(session, assignment, "best")
    scores = [r["score"] for r in rows if r["score"] != ""]
    stats, _ = gradebook.class_stats(session, assignment, "best")
    tests = stats["tests"]
    table = dashboard_service.class_table(session, assignment)
    query = dashboard_service.TableQuery.of(request.query_params)
    recent = crud.list_submissions(session, assignment_id=assignment.id, limit=25)
    preparing = golden.preparing(session, assignment)
    return render(
        request, "staff_assignment.html", title=f"{assignment.title} — TA dashboard",
        assignment=assignment, stats=stats, scores=scores,
        histogram=svg.histogram(scores, top=stats["max_score"], title="score histogram"),
        rates=svg.rate_bars([(t["name"], t["pass_rate"], query.url(fails=t["id"]))
                             for t in tests]) if tests else None,
        tests=tests, query=query, shows=dashboard_service.SHOWS,
        columns=dashboard_service.COLUMNS,
        failures=dashboard_service.clusters_with_hints(session, assignment, table.clusters),
        table=dashboard_service.table_page(session, assignment, table, query),
        hints=hints.hint_rows(session, assignment),
        cluster=next((c for c in table.clusters if c["key"] == query.cluster), None),
        waiting=sum(1 for r in rows if r["manual_pending"] is True),
        requests_waiting=crud.waiting_requests(session, assignment_id=assignment.id),
        zeroed=request.query_params.get("zeroed"), all_graded=request.query_params.get("graded"),
        recent=subs_service.submission_views(session, recent, staff=True),
        instructor=has_role(user, Role.INSTRUCTOR), preparing=preparing,
        lms_links=bool(passback.links_of(session, assignment)),
        refresh=5 if preparing else None, hint_saved=request.query_params.get("hint"))


@router.post("/staff/assignments/{slug}/hints")
def write_hint(slug: str, user: PageUser, session: SessionDep, cluster: str = Form(...),
               text: str = Form("")):
    """Write, change or (empty) remove the hint of one failure cluster."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)  # before the class's rows are read
    table = dashboard_service.class_table(session, assignment)
    hints.write_hint(session, user, slug, cluster, text,
                     {c["key"]: c for c in table.clusters})
    return see_other(f"/staff/assignments/{slug}?hint={cluster}#failures")


@router.get("/staff/queue")
def queue_health(request: Request, user: PageUser, session: SessionDep):
    figures = health.queue_health(session, user)
    return render(request, "staff_queue.html", title="Queue health", figures=figures,
                  failed=regrades.failed_ours(session, user),
                  regraded=request.query_params.get("regraded"), refresh=10)


@router.post("/staff/queue/regrade")
def regrade_failed(user: PageUser, session: SessionDep, dispatcher: DispatcherDep,
                   ids: list[int] = Form([])):
    """Grade again the chosen submissions that failed through our fault."""
    started = regrades.regrade_chosen(session, dispatcher, user, ids)
    return see_other(f"/staff/queue?regraded={sum(r.total for r in started)}")


@router.get("/staff/assignments/{slug}/gradebook.csv")
def gradebook_csv(slug: str, user: PageUser, session: SessionDep, policy: str = "best",
                  format: str = "mlpgrade", feedback: bool = False):
    policy = "latest" if policy == "latest" else "best"
    text, filename = exports.gradebook_export(session, user, slug, policy, format,
                                              feedback=feedback)
    return Response(text, media_type="text/csv", headers=exports.download_headers(filename))


@router.get("/staff/assignments/{slug}/tests/{test_id}")
def failing_students(slug: str, test_id: str, request: Request, user: PageUser,
                     session: SessionDep):
    result = exports.failing(session, user, slug, test_id, "best")
    return render(request, "staff_failing.html", title=f"Who fails {result['test']['name']}",
                  slug=slug, result=result)


@router.get("/staff/assignments/{slug}/tests/{test_id}/failing.csv")
def failing_csv(slug: str, test_id: str, user: PageUser, session: SessionDep):
    text = exports.failing_csv(exports.failing(session, user, slug, test_id, "best"))
    return Response(text, media_type="text/csv",
                    headers=exports.download_headers(f"{slug}-{test_id}-failing.csv"))


@router.post("/staff/assignments/{slug}/regrade")
def regrade_assignment(slug: str, user: PageUser, session: SessionDep, dispatcher: DispatcherDep,
                       scope: str = Form("latest")):
    regrade = regrades.regrade_assignment(session, dispatcher, user, slug,
                                          latest_only=scope != "all")
    return see_other(f"/staff/regrades/{regrade.id}")


@router.get("/staff/regrades/{regrade_id}")
def regrade_page(regrade_id: int, request: Request, user: PageUser, session: SessionDep):
    regrade = regrades.get_regrade(session, user, regrade_id)
    settled = regrade.done + regrade.failed + regrade.skipped
    return render(request, "regrade.html", title=f"Regrade {regrade.id}", regrade=regrade,
                  progress=settled / regrade.total if regrade.total else 1.0,
                  refresh=None if regrade.finished else 2,
                  changed=[i for i in regrade.items if i["tests"] or
                           (i["status"] == ItemStatus.DONE and i["before"] != i["after"])])


@router.get("/staff/submissions/{submission_id}")
def submission_page(submission_id: int, request: Request, user: PageUser, session: SessionDep,
                    settings: SettingsDep):
    """Everything about one submission: staff report, sources, every run and what changed."""
    sub = fetch.submission(session, submission_id)
    require_role(user, Role.TA)
    out = subs_service.submission_view(session, sub, staff=True, with_result=True)
    runs = list(crud.list_runs(session, submission_id=sub.id))
    graded = [r for r in runs if r.outcome == RunOutcome.GRADED]
    diffs = [(a, b, reports.test_diff(reports.read_report(a), reports.read_report(b)))
             for a, b in zip(graded, graded[1:], strict=False)]
    files = sources.handin_sources(session, sub, max_bytes=settings.upload_max_bytes,
                                   marked=annotations.marked(session, sub))
    previous = crud.previous_submission(session, submission=sub)
    previous_id = previous.id if previous else None
    return render(request, "staff_submission.html", title=f"Submission {sub.id} ({sub.user.login})",
                  sub=out, number=crud.submission_number(session, submission=sub),
                  result=out.result or {}, runs=runs, diffs=diffs,
                  sources=files, paths={f.path for f in files}, previous_id=previous_id,
                  traced=sources.named_files(out.result), highlight_css=sources.highlight_css(),
                  code_links=sources.code_links(files),
                  live=out.status in subs_service.LIVE,
                  training_live=out.training == TrainingStatus.PENDING,
                  manual=out.manual, plots=(out.result or {}).get("artifacts", []),
                  run_id=sub.current_run_id, saved=request.query_params.get("saved"),
                  counts=gradebook.counting(session, sub.assignment, sub.user),
                  queue=manual.next_ungraded(session, user, sub.assignment.slug, sub.id),
                  comments=manual.saved_comments(session, user, sub.assignment.slug),
                  grading=rubric_items.grading_view(session, user, sub),
                  notes=annotations.view(session, sub, files),
                  changed=request.query_params.get("changed", ""))


@router.get("/staff/submissions/{submission_id}/handin.tar")
def download_handin(submission_id: int, user: PageUser, session: SessionDep) -> Response:
    """The stored hand-in, as uploaded (staff)."""
    require_role(user, Role.TA)
    sub, data = subs_service.handin(session, user, submission_id)
    return Response(data, media_type="application/x-tar", headers={
        "Content-Disposition": f'attachment; filename="handin-{sub.id}-{sub.user.login}.tar"'})


@router.get("/runs/{run_id}/plots/{name}")
def plot(run_id: int, name: str, user: PageUser, session: SessionDep) -> Response:
    """A training plot (PNG) of a run, for its owner and staff."""
    return Response(subs_service.plot(session, user, run_id, name), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=86400"})


@router.post("/staff/submissions/{submission_id}/regrade")
def regrade_one(submission_id: int, user: PageUser, session: SessionDep,
                dispatcher: DispatcherDep):
    regrade = regrades.regrade_one(session, dispatcher, user, submission_id)
    return see_other(f"/staff/regrades/{regrade.id}")


@router.get("/staff/students/{login}")
def student_page(login: str, request: Request, user: PageUser, session: SessionDep,
                 assignment: str | None = None, page: int = 1):
    """One student: standing per assignment, history with paging (TAs)."""
    overview = students.student_overview(session, user, login, assignment=assignment or None,
                                         page=page)
    return render(request, "staff_student.html", title=f"Student {login}", **overview)
