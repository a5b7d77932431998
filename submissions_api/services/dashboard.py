"""The TA dashboard's students table for a class of hundreds: one row per student (dashboard_row,
the one place a row's data is computed), filtered, searched, sorted and cut into pages on the
server, and the class's failure clusters that the rows link to.

The rows and clusters are kept, and after a change of the class only the changed students'
rows are made again (services/classviews.py); what moves without the class revision moving is
read per request: which students similarity flags (pairs
are computed after grading) and the clusters' hints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from submissions_api.grades import manual_max_score
from submissions_api.services import classviews, feedback, gradebook
from submissions_api.services.similarity import DEFAULT_THRESHOLD
from submissions_api.store import crud
from submissions_api.store.crud import hints as hint_store
from submissions_api.store.crud import similarity as sim
from submissions_api.store.models import Assignment

PER_PAGE = 50
SHOWS = {"": "everyone", "not-submitted": "not submitted", "graded": "graded",
         "awaiting-manual": "awaiting manual points", "late": "late", "extension": "extension",
         "flagged": "flagged by similarity"}
"""The table's filters (`show`), as the page names them."""
COLUMNS = {"login": "Login", "name": "Name", "latest": "Latest", "best": "Best",
           "count": "Submissions", "last": "Last", "late": "Late"}
"""Sortable columns, in the table's order."""


def dashboard_row(row: dict[str, Any], summary: Mapping[str, Any] | None, *, slug: str,
                  extension: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A student's row (gradebook.student_row) with what the table filters on: the tests the
    counted run fails, its failure clusters' keys and whether the student has an extension;
    and those clusters (feedback.clusters)."""
    found = feedback.clusters(slug, summary) if summary else []
    failing = frozenset(t["id"] for t in (summary or {}).get("tests", []) if not t["passed"])
    return {**row, "failing": failing, "clusters": frozenset(c["key"] for c in found),
            "extension": extension}, found


@dataclass(frozen=True)
class ClassTable:
    rows: list[dict[str, Any]]
    """Every student's dashboard_row, by login."""
    clusters: list[dict[str, Any]]
    """Every failure cluster of the counted runs, most students first (count_clusters)."""
    number: int = -1
    """The class source's revision it was made from (classviews.Source)."""
    by_login: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = field(
        default_factory=dict)
    """login → (its row, its clusters): what a later change carries over for the students it
    did not touch."""


def class_table(session: Session, assignment: Assignment) -> ClassTable:
    """The class's rows and clusters, kept, and brought up to date student by student."""
    def compute(earlier: ClassTable | None) -> ClassTable:
        source = classviews.source(session, assignment)
        by_login, changed = classviews.carried(source, earlier)
        todo = {k: v for k, v in source.entries.items() if changed is None or k in changed}
        if todo:
            _, summaries = gradebook.class_stats(session, assignment, "best")  # the best counts
            extended = {u.login for _, u in crud.list_extensions(session,
                                                                  assignment=assignment)}
            for r in gradebook.student_rows(todo, max_score=assignment.max_score,
                                            manual_max=manual_max_score(assignment.slug)):
                by_login[r["login"]] = dashboard_row(
                    r, summaries.get(r["best_id"]), slug=assignment.slug,
                    extension=r["login"] in extended)
        made = [by_login[login] for login in sorted(source.entries) if login in by_login]
        return ClassTable(rows=[row for row, _ in made],
                          clusters=feedback.count_clusters((found for _, found in made), None),
                          number=source.number, by_login=by_login)
    return classviews.updated(session, ("dashboard-table", assignment.id), compute)


@dataclass(frozen=True)
class TableQuery:
    """What the students table shows: a filter, a failing test, a cluster, a search, the sort
    and the page (the page's query string)."""

    show: str = ""
    fails: str = ""
    cluster: str = ""
    q: str = ""
    sort: str = "login"
    desc: bool = False
    page: int = 1

    @classmethod
    def of(cls, params: Mapping[str, str]) -> TableQuery:
        try:
            page = max(int(params.get("page", "1")), 1)
        except ValueError:
            page = 1
        show, sort = params.get("show", ""), params.get("sort", "login")
        return cls(show=show if show in SHOWS else "", fails=params.get("fails", "")[:100],
                   cluster=params.get("cluster", "")[:32], q=params.get("q", "")[:100].strip(),
                   sort=sort if sort in COLUMNS else "login", desc=params.get("desc") == "1",
                   page=page)

    def url(self, **changes: Any) -> str:
        """This query's link with `changes` (the page goes back to 1 unless given)."""
        changed = replace(self, **{"page": 1, **changes})
        params = {k: v for k, v in (("show", changed.show), ("fails", changed.fails),
                                    ("cluster", changed.cluster), ("q", changed.q),
                                    ("sort", "" if changed.sort == "login" else changed.sort),
                                    ("desc", "1" if changed.desc else ""),
                                    ("page", "" if changed.page == 1 else str(changed.page)))
                  if v}
        return "?" + urlencode(params) + "#students" if params else "?#students"


def _keeps(row: dict[str, Any], query: TableQuery, flagged: set[str]) -> bool:
    tests = {"": True, "not-submitted": row["count"] == 0, "graded": row["best"] is not None,
             "awaiting-manual": row["manual_pending"], "late": row["late"],
             "extension": row["extension"], "flagged": row["login"] in flagged}
    needle = query.q.casefold()
    return (tests[query.show] and (not query.fails or query.fails in row["failing"])
            and (not query.cluster or query.cluster in row["clusters"])
            and (not needle or needle in row["login"].casefold()
                 or needle in (row["name"] or "").casefold()))


def _sorted(rows: list[dict[str, Any]], column: str, desc: bool) -> list[dict[str, Any]]:
    """By the column (then login); students without a value last either way."""
    def key(r: dict[str, Any]) -> Any:
        value = r[column]
        return value.casefold() if isinstance(value, str) else value
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    present.sort(key=lambda r: r["login"])
    present.sort(key=key, reverse=desc)
    return present + missing


@dataclass(frozen=True)
class TablePage:
    rows: list[dict[str, Any]]
    matched: int
    page: int
    """The page shown (the query's, or the last there is)."""
    pages: int
    counts: dict[str, int]
    """show → how many students the filter keeps (before the other conditions)."""
    flagged: set[str]


def table_page(session: Session, assignment: Assignment, table: ClassTable, query: TableQuery,
               per_page: int = PER_PAGE) -> TablePage:
    """The query's page of the students table."""
    flagged = sim.flagged_students(session, assignment_id=assignment.id,
                                   threshold=DEFAULT_THRESHOLD)
    counts = {show: sum(1 for r in table.rows if _keeps(r, TableQuery(show=show), flagged))
              for show in SHOWS}
    matched = _sorted([r for r in table.rows if _keeps(r, query, flagged)], query.sort,
                      query.desc)
    pages = max((len(matched) + per_page - 1) // per_page, 1)
    page = min(query.page, pages)
    start = (page - 1) * per_page
    return TablePage(rows=matched[start:start + per_page], matched=len(matched), page=page,
                     pages=pages, counts=counts, flagged=flagged)


def clusters_with_hints(session: Session, assignment: Assignment, clusters: list[dict[str, Any]],
                        limit: int = 20) -> list[dict[str, Any]]:
    """The `limit` largest clusters, each with its hint's text ("" without one)."""
    top = clusters[:limit]
    hints = {h.cluster: h.text for h in hint_store.hints_for(
        session, assignment_id=assignment.id, clusters=[c["key"] for c in top])}
    return [{**c, "hint": hints.get(c["key"], "")} for c in top]
