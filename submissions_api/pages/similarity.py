"""Staff pages of similarity detection: ranked pairs of an assignment, a pair side by side, and
the review form. Thin over services.similarity (which refuses anyone below TA)."""

from __future__ import annotations

from fastapi import Form, Request

from submissions_api.deps import PageUser, SessionDep
from submissions_api.pages.base import page_router, render, see_other
from submissions_api.services import fetch
from submissions_api.services import similarity as service
from submissions_api.store.models_similarity import Review

router = page_router()


@router.get("/staff/assignments/{slug}/similarity")
def pairs_page(slug: str, request: Request, user: PageUser, session: SessionDep,
               threshold: float = service.DEFAULT_THRESHOLD, review: str = ""):
    rows = service.pair_rows(session, user, slug, threshold=max(0.0, min(1.0, threshold)),
                             review=review or None)
    groups = service.group_rows(session, user, slug, threshold=max(0.0, min(1.0, threshold)),
                                review=review or None)
    assignment = fetch.assignment(session, slug)
    return render(request, "similarity_pairs.html", title=f"{assignment.title} — similarity",
                  assignment=assignment, rows=rows, groups=groups, threshold=threshold,
                  review=review,
                  reviews=list(Review), token_only=service.token_only(session, user, slug))


@router.get("/staff/similarity/pairs/{pair_id}")
def pair_page(pair_id: int, request: Request, user: PageUser, session: SessionDep,
              saved: int = 0):
    pair, a, b = service.pair_view(session, user, pair_id)
    assignment = fetch.assignment_by_id(session, pair.assignment_id)
    return render(request, "similarity_pair.html", title=f"Pair {a.label} ~ {b.label}",
                  pair=pair, a=a, b=b, assignment=assignment, reviews=list(Review),
                  saved=bool(saved))


@router.get("/staff/similarity/groups/{entry_id}")
def group_page(entry_id: int, request: Request, user: PageUser, session: SessionDep,
               threshold: float = service.DEFAULT_THRESHOLD):
    """A group of copies: its members, the source they share (once) and its pairs."""
    threshold = max(0.0, min(1.0, threshold))
    row, shared, pairs = service.group_view(session, user, entry_id, threshold)
    assignment = fetch.assignment_by_id(session, pairs[0].assignment_id)
    return render(request, "similarity_group.html",
                  title=f"Group of {len(row.members)} similar hand-ins", assignment=assignment,
                  group=row, shared=shared, pairs=pairs, threshold=threshold)


@router.post("/staff/similarity/pairs/{pair_id}/review")
def review_pair(pair_id: int, user: PageUser, session: SessionDep, review: str = Form(...),
                note: str = Form("")):
    service.review_pair(session, user, pair_id, review, note)
    return see_other(f"/staff/similarity/pairs/{pair_id}?saved=1")
