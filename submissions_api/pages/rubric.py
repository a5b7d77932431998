"""Rubric items, annotations and regrade requests on the pages: TAs keep an assignment's rubric
items (with how many students have each), annotate a hand-in's lines and answer regrade
requests; students ask for a regrade of a manual item."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import Response

from submissions_api.deps import PageUser, SessionDep, SettingsDep
from submissions_api.errors import Conflict
from submissions_api.grades import manual_items
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.services import annotations, regrade_requests, rubric_items
from submissions_api.services.exports import download_headers

router = page_router()


def _back(slug: str, back: int | None, **notice: str) -> str:
    query = f"?{urlencode(notice)}" if notice else ""
    if back:
        return f"/staff/submissions/{back}{query}#manual"
    return f"/staff/assignments/{slug}/rubric{query}"


@router.get("/staff/assignments/{slug}/rubric")
def rubric_page(slug: str, request: Request, user: PageUser, session: SessionDep):
    """The assignment's rubric items per manual item: points, key, how many students have each;
    edit or delete one (everyone who has it is re-scored), add one."""
    return render(request, "staff_rubric.html", title=f"Rubric items · {slug}", slug=slug,
                  items=rubric_items.items_view(session, user, slug), manual=manual_items(slug),
                  changed=request.query_params.get("changed", ""))


@router.get("/staff/assignments/{slug}/rubric.csv")
def rubric_csv(slug: str, user: PageUser, session: SessionDep) -> Response:
    """Each student's manual grades with the rubric items applied (TAs)."""
    return Response(rubric_items.rubric_csv(session, user, slug), media_type="text/csv",
                    headers=download_headers(f"{slug}-rubric.csv"))


@router.post("/staff/assignments/{slug}/rubric")
def create_item(slug: str, user: PageUser, session: SessionDep, item_id: str = Form(),
                points: float = Form(), description: str = Form(), key: str = Form(""),
                back: int | None = Form(None)):
    rubric_items.create_item(session, user, slug, item_id, points=points,
                             description=description, key=key)
    return see_other(_back(slug, back))


@router.post("/staff/rubric/{rubric_id}")
def edit_item(rubric_id: int, user: PageUser, session: SessionDep, version: int = Form(),
              points: float = Form(), description: str = Form(), key: str = Form(""),
              slug: str = Form(), action: str = Form("save")):
    """Save or delete (`action`) an item, compared with the version the page showed."""
    try:
        if action == "delete":
            rubric_items.delete_item(session, user, rubric_id, seen_version=version)
        else:
            rubric_items.edit_item(session, user, rubric_id, seen_version=version,
                                   points=points, description=description, key=key)
    except Conflict as exc:
        session.rollback()
        return see_other(_back(slug, None, changed=exc.message))
    return see_other(_back(slug, None))


@router.post("/staff/submissions/{submission_id}/annotations")
def annotate(submission_id: int, user: PageUser, session: SessionDep, settings: SettingsDep,
             path: str = Form(), first: int = Form(), last: int = Form(), comment: str = Form(),
             rubric_item: str = Form("")):
    note = annotations.annotate(session, user, submission_id, path=path, first=first,
                                last=last, comment=comment,
                                rubric_item_id=int(rubric_item) if rubric_item.isdigit() else None,
                                max_bytes=settings.upload_max_bytes)
    return see_other(f"/staff/submissions/{submission_id}#note-{note.id}")


@router.post("/staff/annotations/{annotation_id}/delete")
def delete_annotation(annotation_id: int, user: PageUser, session: SessionDep):
    submission_id = annotations.delete(session, user, annotation_id)
    return see_other(f"/staff/submissions/{submission_id}#sources")


@router.get("/staff/assignments/{slug}/regrade-requests")
def requests_page(slug: str, request: Request, user: PageUser, session: SessionDep):
    """The queue of the students' regrade requests, waiting ones first."""
    return render(request, "staff_regrade_requests.html", title=f"Regrade requests · {slug}",
                  slug=slug, requests=regrade_requests.queue(session, user, slug))


@router.post("/staff/regrade-requests/{request_id}")
def answer_request(request_id: int, user: PageUser, session: SessionDep,
                   points: float = Form(), answer: str = Form("")):
    done = regrade_requests.answer(session, user, request_id, points=points, text=answer)
    slug = done.submission.assignment.slug
    return see_other(f"/staff/assignments/{slug}/regrade-requests#request-{request_id}")


@router.post("/submissions/{submission_id}/regrade-requests/{item_id}")
def ask_regrade(submission_id: int, item_id: str, user: PageUser, session: SessionDep,
                reason: str = Form("")):
    regrade_requests.ask(session, user, submission_id, item_id, reason)
    return see_other(f"/submissions/{submission_id}#request-{item_id}")
