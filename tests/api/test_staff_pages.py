"""The staff pages' rules without a browser (the browser tests are in tests/pages): who may open
them, the grading queue, saved comments, bulk zero, rosters, sources from the grader's reader."""

from __future__ import annotations

from submissions_api.deps import SESSION_COOKIE
from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import GradingRun, RunOutcome
from tests.api.test_staff import graded
from tests.handins import make_handin_tar
from tests.reports import made_report

SLUG = "hw1p1-s20"


def as_user(client, users, login):
    client.cookies.set(SESSION_COOKIE, users.tokens[login])
    return client


def test_staff_pages_permissions(client, users):
    for login, users_page, student_page in [("alice", 403, 403), ("ta1", 403, 200),
                                            ("prof", 200, 200)]:
        c = as_user(client, users, login)
        assert c.get("/staff/users").status_code == users_page, login
        assert c.get("/staff/students/bob").status_code == student_page, login
    assert as_user(client, users, "ta1").post("/staff/users/bob/revoke").status_code == 403
    assert as_user(client, users, "alice").get(
        f"/staff/assignments/{SLUG}/grading/next", follow_redirects=False).status_code == 403


def test_grading_queue_comments_and_bulk_zero(client, users, sessions):
    first = graded(sessions, "alice", 90.0)
    second = graded(sessions, "bob", 80.0)
    with sessions() as session:  # bob's training never ran; alice's did
        for sub_id, ran in ((first, True), (second, False)):
            sub = crud.get_submission(session, submission_id=sub_id)
            report = made_report(sub.score, manual=[
                {"id": "training_statistics", "name": "Training statistics", "max_points": 5.0,
                 "evidence": {"checks": [{"name": "ran", "passed": ran}]}}])
            run = GradingRun(submission_id=sub_id, attempt=1, outcome=RunOutcome.GRADED,
                             score=sub.score, report=report.to_dict())
            session.add(run)
            session.flush()
            sub.current_run_id = run.id
        session.commit()
    c = as_user(client, users, "ta1")
    assert c.get(f"/staff/assignments/{SLUG}").text.count('id="waiting"><strong>2<') == 1
    nxt = c.get(f"/staff/assignments/{SLUG}/grading/next", follow_redirects=False)
    assert nxt.headers["location"] == f"/staff/submissions/{first}#manual"  # alice, by login
    saved = c.post(f"/staff/submissions/{first}/manual/training_statistics",
                   data={"points": "5", "comment": "curves fall nicely", "keep": "1",
                         "then": "next"}, follow_redirects=False)
    assert saved.headers["location"].endswith(f"grading/next?after={first}")
    page = c.get(f"/staff/submissions/{second}").text
    assert '<option value="curves fall nicely">' in page  # the saved comment, reusable
    assert "No other student waits" in page
    zero = c.post(f"/staff/assignments/{SLUG}/grading/zero-untrained", follow_redirects=False)
    assert zero.headers["location"].endswith("zeroed=1#manual-queue")
    done = c.get(f"/staff/assignments/{SLUG}/grading/next", follow_redirects=False)
    assert "graded=all" in done.headers["location"]
    mine = client.get(f"/api/v1/submissions/{second}", headers=users.headers("bob")).json()
    assert (mine["manual_score"], mine["final_score"]) == (0.0, 80.0)
    assert mine["manual"][0]["comment"].startswith("get_training_stats did not run")


def test_roster_preview_then_import_on_the_page(client, users):
    c = as_user(client, users, "prof")
    bad = "Student,ID,SIS User ID,SIS Login ID,Section\n\"Doe, Jo\",1,1,jo,A\n\"X\",2,2,,A\n"
    page = c.post("/staff/users/roster", data={"text": bad, "step": "preview"})
    assert page.status_code == 200 and "line 3: no login" in page.text and " disabled>" in page.text
    assert c.post("/staff/users/roster", data={"text": bad, "step": "import"}).status_code == 422
    good = bad.replace('"X",2,2,,A', '"Roe, Al",2,2,al@cmu.edu,A')
    page = c.post("/staff/users/roster", data={"text": good, "step": "import"})
    assert page.status_code == 200 and page.text.count('<code class="token">mlp_') == 2
    assert {u["login"] for u in client.get("/api/v1/users", headers=users.headers("prof")
                                           ).json()} >= {"jo", "al"}


def test_sources_show_what_the_grader_read_with_diffs(client, users, sessions):
    data = make_handin_tar({"mytorch/linear.py": ("def forward(self, x):",
                                                  "def forward(self, x):  # mine")},
                           extra={"notes/secret.py": "x = 1\n"})  # not a hand-in folder
    with sessions() as session:
        user = crud.get_user_by_login(session, login="alice")
        assignment = crud.get_assignment(session, slug=SLUG)
        ids = []
        for blob in (make_handin_tar(), data):
            ids.append(crud.create_submission(session, user=user, assignment=assignment,
                                              data=blob, filename="handin.tar",
                                              received_at=utcnow(), late=False,
                                              penalty=0.0).id)
        session.commit()
    page = as_user(client, users, "ta1").get(f"/staff/submissions/{ids[1]}").text
    assert "notes/secret.py" not in page and "mytorch/linear.py" in page
    assert 'id="src-mytorch-linear-py-1"' in page  # numbered lines, anchors for tracebacks
    assert '<span class="add">+    def forward(self, x):  # mine</span>' in page  # vs previous
    assert f"Diff against submission {ids[0]}" in page and "Diff against the starter" in page
    tar = client.get(f"/staff/submissions/{ids[1]}/handin.tar")
    assert tar.status_code == 200 and tar.content == data
    assert as_user(client, users, "bob").get(f"/staff/submissions/{ids[1]}/handin.tar"
                                             ).status_code == 403
