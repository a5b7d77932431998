"""The dashboard's students table (services/dashboard.py) over a class seeded in bulk
(bench/dashboard.py), on SQLite and PostgreSQL: every filter keeps exactly the students seeded
that way, sorting leaves students without a value last, pages are clamped."""

from __future__ import annotations

from bench.dashboard import PROFILES, seed_class, seed_copies
from submissions_api.services import dashboard
from submissions_api.store import crud

SLUG = "hw1p1-s20"


def page(session, assignment, per_page=1000, **query):
    table = dashboard.class_table(session, assignment)
    return dashboard.table_page(session, assignment, table, dashboard.TableQuery(**query),
                                per_page=per_page)


def logins(result) -> set[str]:
    return {r["login"] for r in result.rows if r["login"].startswith("s")}


def test_dashboard_filters_keep_exactly_the_seeded_students(backend, sessions, users):
    kinds = seed_class(backend.database_url, students=120, prefix="s")
    copies = seed_copies(backend.database_url, copies=3, prefix="dup")
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        for show in ("not-submitted", "awaiting-manual", "extension"):
            assert logins(page(session, assignment, show=show)) == set(kinds[show]), show
        assert logins(page(session, assignment, show="late")) == set(kinds.get("late", []))
        graded = {login for k, v in kinds.items() if k.startswith("profile-") for login in v}
        assert logins(page(session, assignment, show="graded")) == graded
        flagged = page(session, assignment, show="flagged")
        assert {r["login"] for r in flagged.rows} == set(copies) == flagged.flagged
        fails = page(session, assignment, fails="batch_norm_inference")
        assert logins(fails) == {login for i, p in enumerate(PROFILES)
                                 if "batch_norm_inference" in p[1]
                                 for login in kinds.get(f"profile-{i}", [])}
        top = dashboard.class_table(session, assignment).clusters[0]
        assert page(session, assignment, cluster=top["key"]).matched == top["students"]
        assert [r["login"] for r in page(session, assignment, q="TUDENT 0007").rows] == ["s0007"]


def test_dashboard_sorts_with_missing_values_last_and_clamps_pages(backend, sessions, users):
    seed_class(backend.database_url, students=60, prefix="s")
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        for desc in (False, True):
            rows = page(session, assignment, sort="best", desc=desc).rows
            values = [r["best"] for r in rows]
            present = [v for v in values if v is not None]
            assert present == sorted(present, reverse=desc)
            assert values[len(present):] == [None] * (len(values) - len(present))
        names = [r["name"] for r in page(session, assignment, sort="name", desc=True).rows]
        assert names == sorted(names, key=str.casefold, reverse=True)
        last = page(session, assignment, per_page=25, page=99)
        assert (last.page, last.pages) == (3, 3) and len(last.rows) == 62 - 50  # + alice, bob
