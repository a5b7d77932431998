"""Rubric grading over the pages' forms (issue 28 items 1, 2 and 6), on SQLite and PostgreSQL:
rubric items score a manual item and an edited item re-scores everyone who has it (gradebook,
CSV and the LMS outbox follow); a save against an item or a grade another TA changed is refused
with what changed; annotations and regrade requests, with hostile text escaped; annotations
survive a regrade and lines a file no longer has are quoted, not lost."""

from __future__ import annotations

from sqlalchemy import select

from grader.results import GradeReport
from grader.rubric import load_assignment
from submissions_api.store import crud, lifecycle
from submissions_api.store.models import Role, utcnow
from submissions_api.store.models_grading import TrainingStatus
from submissions_api.store.models_lms import ScoreOutbox
from submissions_api.store.models_rubric import Annotation, RubricItem
from tests.api.test_exports import rows
from tests.api.test_staff_pages import as_user
from tests.handins import make_handin_tar
from tests.lms.platform import PlatformState

SLUG = "hw1p1-s20"
ITEM = "training_statistics"
TESTS = load_assignment(SLUG).tests
HOSTILE = '<script>alert(1)</script>\x1b[31m"&'


def seed(sessions, logins: list[str]) -> dict[str, int]:
    """A student per login (made if new) with the reference hand-in graded 95/95 by a
    recorded run, as a worker records it, its training run done (no page waits for it):
    {login: submission id}."""
    data = make_handin_tar()
    report = {"assignment": SLUG, "golden_version": "g1", "score": 95.0, "max_score": 95.0,
              "grader_version": "0",
              "tests": [{"id": t.id, "name": t.name, "passed": True, "points": t.points,
                         "max_points": t.points, "feedback": "", "checks": []} for t in TESTS]}
    out = {}
    with sessions() as session:
        assignment = crud.get_assignment(session, slug=SLUG)
        for login in logins:
            user = crud.get_user_by_login(session, login=login) or crud.create_user(
                session, login=login, name=login.title(), role=Role.STUDENT)
            sub = crud.create_submission(session, user=user, assignment=assignment, data=data,
                                         filename="handin.tar", received_at=utcnow(),
                                         late=False, penalty=0.0)
            session.commit()
            assert lifecycle.claim_submission(session, submission_id=sub.id, attempt=1,
                                              owner="w", lease_seconds=30)
            session.commit()
            assert lifecycle.record_graded(session, submission=sub, attempt=1, owner="w",
                                           report=GradeReport.from_dict(report),
                                           started_at=utcnow())
            session.refresh(sub)
            crud.get_run(session, run_id=sub.current_run_id).training = TrainingStatus.DONE
            session.commit()
            out[login] = sub.id
    return out


def link_to_lms(sessions, logins: list[str]) -> None:
    """The assignment placed in an LMS course whose students are `logins` (no platform runs:
    only the outbox rows are looked at)."""
    from tests.lms.fixtures import make_course
    state = PlatformState(issuer="https://lms.example", client_id="tool",
                          base_url="http://127.0.0.1:9", tool_jwks_url="")
    make_course(sessions, state, given_lineitem=False, logins=tuple(logins))


def outbox_versions(sessions) -> dict[int, int]:
    with sessions() as session:
        return dict(session.execute(select(ScoreOutbox.user_id, ScoreOutbox.version)).all())


def add_item(c, points: float, description: str, key: str) -> int:
    assert c.post(f"/staff/assignments/{SLUG}/rubric", data={
        "item_id": ITEM, "points": points, "description": description, "key": key},
        follow_redirects=False).status_code == 303
    return int(c.get(f"/staff/assignments/{SLUG}/rubric").text.split(
        f'value="{key}"')[0].rsplit('form="edit-', 1)[1].split('"')[0])


def seen(sessions) -> str:
    with sessions() as session:
        return ",".join(f"{r.id}:{r.version}" for r in session.scalars(select(RubricItem)))


def give(c, sub_id: int, items: list[int], adjust: float, version: int, seen_items: str,
         comment: str = ""):
    return c.post(f"/staff/submissions/{sub_id}/manual/{ITEM}", data={
        "rubric": [str(i) for i in items], "points": adjust, "seen": seen_items,
        "version": version, "comment": comment}, follow_redirects=False)


def manual_points(c, users, sub_id: int, login: str) -> float | None:
    return c.get(f"/api/v1/submissions/{sub_id}", headers=users.headers(login)).json()[
        "manual_score"]


def test_rubric_items_score_and_an_edit_rescores_everyone_through_the_outbox(
        client, users, sessions):
    subs = seed(sessions, ["alice", "bob"])
    link_to_lms(sessions, ["alice", "bob"])
    c = as_user(client, users, "ta1")
    right, labels, high = (add_item(c, 3, "Curves fall and level off", "c"),
                           add_item(c, 2, "Validation close to training", "v"),
                           add_item(c, -1, "Accuracy below the reference", "a"))
    s = seen(sessions)
    assert give(c, subs["alice"], [right, labels], 0, 0, s).status_code == 303
    assert give(c, subs["bob"], [right, high], 0.5, 0, s).status_code == 303
    assert manual_points(c, users, subs["alice"], "alice") == 5.0
    assert manual_points(c, users, subs["bob"], "bob") == 2.5
    before = outbox_versions(sessions)
    page = c.get(f"/staff/assignments/{SLUG}/rubric").text
    assert page.count('<td class="num count">2</td>') == 1  # two students have "right"

    with sessions() as session:
        version = session.get(RubricItem, right).version
    edit = c.post(f"/staff/rubric/{right}", data={"version": version, "points": 1.5,
                                                   "description": "Curves fall", "key": "c",
                                                   "slug": SLUG}, follow_redirects=False)
    assert "changed" not in edit.headers["location"]
    assert manual_points(c, users, subs["alice"], "alice") == 3.5
    assert manual_points(c, users, subs["bob"], "bob") == 1.0
    after = outbox_versions(sessions)
    assert set(after) == set(before) and all(after[u] > before[u] for u in before)
    book = {r[0]: r for r in rows(client.get(f"/api/v1/assignments/{SLUG}/gradebook.csv",
                                             headers=users.headers("ta1")).text)}
    assert [float(book[x][book["login"].index("score")]) for x in ("alice", "bob")] == [
        98.5, 96.0]
    # deleting an item re-scores too, and the CSV of grades says what each student has
    with sessions() as session:
        version = session.get(RubricItem, high).version
    c.post(f"/staff/rubric/{high}", data={"version": version, "points": -1, "key": "a",
                                          "description": "x", "slug": SLUG,
                                          "action": "delete"})
    assert manual_points(c, users, subs["bob"], "bob") == 2.0
    table = rows(c.get(f"/staff/assignments/{SLUG}/rubric.csv").text)
    assert table[0] == ["login", "item", "points", "rubric_items", "adjustment", "comment"]
    assert table[1][:5] == ["alice", ITEM, "3.5",
                            "Curves fall (+1.5); Validation close to training (+2)", "0"]
    assert table[2][:5] == ["bob", ITEM, "2", "Curves fall (+1.5)", "0.5"]


def test_a_save_against_a_changed_item_or_grade_is_told_what_changed(client, users, sessions):
    subs = seed(sessions, ["alice"])
    c = as_user(client, users, "ta1")
    item = add_item(c, 3, "Curves fall", "c")
    stale = seen(sessions)
    with sessions() as session:  # a second TA edits the item meanwhile
        crud.create_user(session, login="ta2", name="TA Two", role=Role.TA)
        row = session.get(RubricItem, item)
        row.points, row.version = 2.0, row.version + 1
        session.commit()
    refused = give(c, subs["alice"], [item], 0, 0, stale)
    page = c.get(refused.headers["location"]).text
    assert "not saved: “Curves fall” (+2, key c) changed by ta1 meanwhile" in page
    assert manual_points(c, users, subs["alice"], "alice") is None
    assert give(c, subs["alice"], [item], 0, 0, seen(sessions)).status_code == 303
    # another TA saved this student's points after the page was shown: the second save waits
    again = give(c, subs["alice"], [], 1, 0, seen(sessions))
    assert "ta1 saved alice&#39;s points meanwhile (now 2/5)" in c.get(
        again.headers["location"]).text
    # an item the save does not touch may change meanwhile: the save goes through
    other = add_item(c, 1, "Plots labelled", "p")
    fresh = seen(sessions)
    with sessions() as session:
        row = session.get(RubricItem, other)
        row.description, row.version = "Plots labelled and titled", row.version + 1
        session.commit()
    assert "changed" not in give(c, subs["alice"], [item], 0, 1, fresh).headers["location"]
    # an item edit against an older version is refused, not applied
    old = c.post(f"/staff/rubric/{item}", data={"version": 1, "points": 5, "key": "c",
                                                "description": "x", "slug": SLUG})
    assert "not saved: “Curves fall” (+2, key c) changed" in old.text
    assert manual_points(c, users, subs["alice"], "alice") == 2.0


def test_annotations_and_a_regrade_request_with_hostile_text(client, users, sessions):
    subs = seed(sessions, ["alice"])
    c = as_user(client, users, "ta1")
    sub = subs["alice"]
    item = add_item(c, 4, HOSTILE, "h")
    assert c.post(f"/staff/submissions/{sub}/annotations", data={
        "path": "mytorch/linear.py", "first": 3, "last": 5, "comment": HOSTILE,
        "rubric_item": str(item)}, follow_redirects=False).status_code == 303
    assert c.post(f"/staff/submissions/{sub}/annotations", data={
        "path": "mytorch/linear.py", "first": 1, "last": 99999, "comment": "x"}
    ).status_code == 422
    staff_page = c.get(f"/staff/submissions/{sub}").text
    assert "<script>alert" not in staff_page and "\x1b" not in staff_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;[31m&#34;&amp;" in staff_page
    student = as_user(client, users, "alice")
    assert 'id="annotations"' not in student.get(f"/submissions/{sub}").text  # not graded yet
    assert student.get(f"/staff/assignments/{SLUG}/rubric").status_code == 403
    assert student.post(f"/staff/submissions/{sub}/annotations", data={
        "path": "mytorch/linear.py", "first": 1, "last": 1, "comment": "x"}).status_code == 403
    c = as_user(client, users, "ta1")
    give(c, sub, [item], 0, 0, seen(sessions), comment=HOSTILE)
    student = as_user(client, users, "alice")
    mine = student.get(f"/submissions/{sub}").text
    assert 'id="annotations"' in mine and "lines 3–5" in mine and "<script>alert" not in mine
    asked = student.post(f"/submissions/{sub}/regrade-requests/{ITEM}",
                         data={"reason": "My curves <b>do</b> level off."})
    assert asked.status_code == 200 and "My curves &lt;b&gt;do&lt;/b&gt; level off." in asked.text
    assert student.post(f"/submissions/{sub}/regrade-requests/{ITEM}",
                        data={"reason": "again"}).status_code == 422  # once per item
    c = as_user(client, users, "ta1")
    queue = c.get(f"/staff/assignments/{SLUG}/regrade-requests").text
    assert "<strong>1</strong> waiting of 1" in queue
    request_id = int(queue.split('id="request-')[1].split('"')[0])
    c.post(f"/staff/regrade-requests/{request_id}", data={"points": 5, "answer": "Agreed."})
    assert manual_points(c, users, sub, "alice") == 5.0
    student = as_user(client, users, "alice")
    assert "(4 → 5/5)" in student.get(f"/submissions/{sub}").text
    table = rows(as_user(client, users, "ta1").get(f"/staff/assignments/{SLUG}/rubric.csv").text)
    assert table[1][3] == "<script>alert(1)</script>[31m\"& (+4)" and "\x1b" not in table[1][5]


def test_annotations_survive_a_regrade_and_lines_gone_are_quoted(client, users, sessions):
    sub = seed(sessions, ["bob"])["bob"]
    c = as_user(client, users, "ta1")
    c.post(f"/staff/submissions/{sub}/annotations", data={
        "path": "mytorch/linear.py", "first": 2, "last": 2, "comment": "Kept."})
    with sessions() as session:  # what a regrade keeping fewer or shorter files leaves
        for path, line in [("mytorch/gone.py", 3), ("mytorch/linear.py", 9999)]:
            session.add(Annotation(submission_id=sub, path=path, first_line=line,
                                   last_line=line, quote=f"old line of {path}",
                                   comment=f"On {path}."))
        session.commit()
    assert c.post(f"/staff/submissions/{sub}/regrade", follow_redirects=False
                  ).status_code == 303
    give(c, sub, [], 3, 0, "")
    for page in (c.get(f"/staff/submissions/{sub}").text,
                 as_user(client, users, "bob").get(f"/submissions/{sub}").text):
        assert page.count('class="annotation"') == 1 and "Kept." in page
        assert page.count('class="annotation gone"') == 2
        assert "old line of mytorch/gone.py" in page and "old line of mytorch/linear.py" in page
        assert "no longer" in page
