"""Server-rendered pages for students, TAs and instructors (Jinja2 over the service layer).

Sign-in keeps the API token in an HTTP-only cookie; every page calls the same services as the JSON
API, so permissions and queries live in one place. Charts are inline SVG; a little plain
JavaScript only polls status and sorts tables. Nothing is fetched from another site.
"""

from __future__ import annotations

from fastapi import APIRouter

from submissions_api.pages import (
    account,
    auth,
    course,
    grading,
    instructor,
    lms,
    lti,
    passback,
    rubric,
    sign_in_links,
    similarity,
    staff,
    student,
    users,
)

router = APIRouter(include_in_schema=False)
for _module in (auth, sign_in_links, account, student, staff, grading, rubric, similarity,
                instructor, course, users, lms, lti, passback):
    router.include_router(_module.router)
router.include_router(lti.platform_router)  # posted by the LMS's pages: not same-origin
