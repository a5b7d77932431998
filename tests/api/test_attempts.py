"""Issue 29 item 4: a student downloads the handout and compares two of their own submissions;
nobody compares someone else's."""

from __future__ import annotations

import io
import tarfile

from grader.fixtures import starter_files
from grader.rubric import load_assignment
from submissions_api.store import crud
from tests.api.test_staff_pages import as_user
from tests.handins import make_handin_tar

SLUG = "hw1p1-s20"


def store(sessions, login: str, data: bytes) -> int:
    with sessions() as session:
        sub = crud.create_submission(
            session, user=crud.get_user_by_login(session, login=login),
            assignment=crud.get_assignment(session, slug=SLUG), data=data,
            filename="handin.tar", received_at=crud.db_now(session), late=False, penalty=0.0)
        session.commit()
        return sub.id


def test_handout_is_the_starter_with_create_tarball(client, users):
    reply = as_user(client, users, "alice").get(f"/assignments/{SLUG}/handout.tar")
    assert reply.status_code == 200
    assert f'filename="{SLUG}-handout.tar"' in reply.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(reply.content)) as tar:
        names = {m.name: m for m in tar.getmembers()}
        script = names[f"{SLUG}-handout/create_tarball.sh"]
        assert script.mode & 0o111  # runnable as the upload page says
        linear = tar.extractfile(f"{SLUG}-handout/mytorch/linear.py").read().decode()
    assert linear == starter_files(load_assignment(SLUG))["mytorch/linear.py"]
    client.cookies.clear()
    assert client.get(f"/assignments/{SLUG}/handout.tar", follow_redirects=False
                      ).status_code == 303  # to sign in


def test_student_compares_own_submissions_only(client, users, sessions):
    first = store(sessions, "alice", make_handin_tar())
    second = store(sessions, "alice", make_handin_tar(bugs=("linear_dw_transposed",)))
    bobs = store(sessions, "bob", make_handin_tar())
    page = as_user(client, users, "alice").get(
        f"/assignments/{SLUG}/compare?before={first}&after={second}")
    assert page.status_code == 200, page.text
    assert "Submission #1 → #2" in page.text
    assert 'id="change-' in page.text and "change-changed" in page.text
    assert '<span class="add">+' in page.text and '<span class="del">-' in page.text
    # another student's submission: refused as on its own page
    other = client.get(f"/assignments/{SLUG}/compare?before={first}&after={bobs}")
    assert other.status_code == 403
    # staff may compare a student's two, but not two students'
    staff = as_user(client, users, "ta1")
    assert staff.get(f"/assignments/{SLUG}/compare?before={first}&after={second}"
                     ).status_code == 200
    assert staff.get(f"/assignments/{SLUG}/compare?before={first}&after={bobs}"
                     ).status_code == 422
