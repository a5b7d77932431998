"""Manual grading at class scale (TAs): points from a submission's page (then, if asked, on to
the next student who waits), the queue of what waits, reusable comments, bulk zero for hand-ins
whose training never ran."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Form, Request

from submissions_api.deps import PageUser, SessionDep
from submissions_api.errors import Conflict
from submissions_api.pages.base import page_router, see_other
from submissions_api.services import fetch, manual, rubric_items

router = page_router()


@router.post("/staff/submissions/{submission_id}/manual/{item_id}")
def set_manual_grade(submission_id: int, item_id: str, user: PageUser, session: SessionDep,
                     points: float = Form(0.0), comment: str = Form(""), keep: str = Form(""),
                     then: str = Form(""), seen: str = Form(""),
                     version: int | None = Form(None), rubric: list[int] = Form([])):
    """Manual grading (TAs): the rubric items ticked (`rubric`, repeated) and `points` beside
    them, compared with what the page showed (`seen`: item:version,…; `version`: the grade's);
    `keep` saves the comment for reuse; `then=next` goes on to the next student who waits,
    else back to the submission. A change made meanwhile comes back as a notice."""
    seen_items = dict(tuple(map(int, p.split(":"))) for p in seen.split(",") if p.count(":") == 1
                      and p.replace(":", "").isdigit())
    try:
        sub = rubric_items.grade(session, user, submission_id, item_id, applied=set(rubric),
                                 adjustment=points, comment=comment[:5000],
                                 seen_items=seen_items, seen_version=version)
    except Conflict as exc:
        session.rollback()
        return see_other(f"/staff/submissions/{submission_id}?"
                         f"{urlencode({'changed': exc.message})}#manual")
    slug = sub.assignment.slug
    if keep and comment.strip():
        manual.save_comment(session, user, slug, item_id, comment)
    if then == "next":
        return see_other(f"/staff/assignments/{slug}/grading/next?after={submission_id}")
    return see_other(f"/staff/submissions/{submission_id}?saved={item_id}#manual")


@router.get("/staff/assignments/{slug}/grading/next")
def next_ungraded(slug: str, user: PageUser, session: SessionDep, after: int | None = None):
    """The next submission that counts whose student waits for manual points."""
    target, _ = manual.next_ungraded(session, user, slug, after)
    if target is None:
        return see_other(f"/staff/assignments/{slug}?graded=all#manual-queue")
    return see_other(f"/staff/submissions/{target}#manual")


@router.post("/staff/assignments/{slug}/grading/zero-untrained")
def zero_untrained(slug: str, user: PageUser, session: SessionDep,
                   comment: str = Form("get_training_stats did not run to the end: 0 points.")):
    count = manual.bulk_zero_untrained(session, user, slug, comment=comment)
    return see_other(f"/staff/assignments/{slug}?zeroed={count}#manual-queue")


@router.post("/staff/assignments/{slug}/comments")
def save_comment(slug: str, request: Request, user: PageUser, session: SessionDep,
                 item_id: str = Form(), text: str = Form(), back: int | None = Form(None)):
    manual.save_comment(session, user, slug, item_id, text)
    return see_other(f"/staff/submissions/{back}#manual" if back else f"/staff/assignments/{slug}")


@router.post("/staff/assignments/{slug}/comments/{comment_id}/delete")
def delete_comment(slug: str, comment_id: int, user: PageUser, session: SessionDep,
                   back: int | None = Form(None)):
    fetch.assignment(session, slug)
    manual.delete_comment(session, user, slug, comment_id)
    return see_other(f"/staff/submissions/{back}#manual" if back else f"/staff/assignments/{slug}")
