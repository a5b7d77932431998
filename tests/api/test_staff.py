"""Staff rules: manual points belong to the student's assignment and follow the submission that
counts (issue 13 bug 2); tokens can be listed, revoked and rotated (bug 6)."""

from __future__ import annotations

from submissions_api.store import crud
from submissions_api.store.models import utcnow
from submissions_api.store.models_grading import Status

A = "/api/v1"
SLUG = "hw1p1-s20"
ITEM = "training_statistics"


def graded(sessions, login: str, score: float) -> int:
    """A submission of `login` graded `score` (automatic points), without running the grader."""
    with sessions() as session:
        user = crud.get_user_by_login(session, login=login)
        assignment = crud.get_assignment(session, slug=SLUG)
        sub = crud.create_submission(session, user=user, assignment=assignment,
                                     data=f"{login}{score}{utcnow()}".encode(),
                                     filename="handin.tar", received_at=utcnow(), late=False,
                                     penalty=0.0)
        sub.status, sub.score = Status.GRADED, score
        session.commit()
        return sub.id


def gradebook(client, users, policy="best"):
    reply = client.get(f"{A}/assignments/{SLUG}/gradebook.csv?policy={policy}",
                       headers=users.headers("ta1"))
    assert reply.status_code == 200, reply.text
    lines = reply.text.strip().splitlines()
    header = lines[0].split(",")
    return {row[0]: dict(zip(header, row, strict=True))
            for row in (line.split(",") for line in lines[1:])}


def give(client, users, sub_id, points, who="ta1"):
    return client.put(f"{A}/submissions/{sub_id}/manual/{ITEM}", headers=users.headers(who),
                      json={"points": points, "comment": "curves fall"})


def test_manual_points_follow_the_submission_that_counts(client, users, sessions):
    best = graded(sessions, "alice", 90.0)
    latest = graded(sessions, "alice", 50.0)  # the dashboard's "latest" link
    assert give(client, users, latest, 4).status_code == 200
    row = gradebook(client, users)["alice"]
    assert row["submission_id"] == str(best)  # the best still counts ...
    assert (row["manual_score"], row["score"], row["manual_pending"]) == ("4.0", "94.0", "False")
    # ... and the submission it counts shows the points, with where they were given
    mine = client.get(f"{A}/submissions/{best}", headers=users.headers("alice")).json()
    assert (mine["manual_score"], mine["final_score"], mine["manual_pending"]) == (4.0, 94.0, False)
    assert mine["manual"][0]["given_on"] == latest
    # a resubmission keeps them: the new best counts with the same points
    newer = graded(sessions, "alice", 95.0)
    row = gradebook(client, users)["alice"]
    assert (row["submission_id"], row["score"], row["manual_pending"]) == (str(newer), "99.0",
                                                                          "False")
    # giving again replaces them (one grade per student and item), whichever submission is open
    assert give(client, users, newer, 5).status_code == 200
    assert gradebook(client, users, "latest")["alice"]["score"] == "100.0"
    assert gradebook(client, users)["bob"]["manual_pending"] == ""  # no submission: nothing due
    assert give(client, users, newer, 5, who="bob").status_code == 403


def test_tokens_listed_revoked_and_rotated(client, users):
    prof, alice = users.headers("prof"), users.headers("alice")
    listed = client.get(f"{A}/users/alice/tokens", headers=prof)
    assert listed.status_code == 200
    [first] = listed.json()
    assert first["revoked_at"] is None and "token" not in first and "token_hash" not in first
    rotated = client.post(f"{A}/users/alice/tokens/rotate", headers=prof)
    assert rotated.status_code == 201
    assert client.get(f"{A}/me", headers=alice).status_code == 401  # the old one is dead
    new = {"Authorization": f"Bearer {rotated.json()['token']}"}
    assert client.get(f"{A}/me", headers=new).json()["login"] == "alice"
    tokens = client.get(f"{A}/users/alice/tokens", headers=new).json()  # her own: allowed
    assert [t["revoked_at"] is None for t in tokens] == [True, False]
    assert client.get(f"{A}/users/bob/tokens", headers=new).status_code == 403
    assert client.post(f"{A}/users/bob/tokens/rotate", headers=new).status_code == 403
    assert client.delete(f"{A}/users/bob/tokens/{tokens[0]['id']}",
                         headers=users.headers("bob")).status_code == 404  # not bob's token
    assert client.delete(f"{A}/users/alice/tokens/{tokens[0]['id']}",
                         headers=users.headers("ta1")).status_code == 403
    assert client.delete(f"{A}/users/alice/tokens/{tokens[0]['id']}", headers=new
                         ).status_code == 204
    assert client.get(f"{A}/me", headers=new).status_code == 401


def test_users_role_change_and_revoke(client, users):
    prof = users.headers("prof")
    assert client.patch(f"{A}/users/bob", headers=users.headers("ta1"),
                        json={"role": "ta"}).status_code == 403
    changed = client.patch(f"{A}/users/bob", headers=prof, json={"role": "ta", "name": "Bobby"})
    assert changed.status_code == 200 and changed.json()["role"] == "ta"
    assert client.get(f"{A}/me", headers=users.headers("bob")).json()["name"] == "Bobby"
    assert client.patch(f"{A}/users/bob", headers=prof, json={"role": "king"}).status_code == 422
    assert client.patch(f"{A}/users/prof", headers=prof,
                        json={"role": "ta"}).status_code == 409  # the last instructor stays
    assert client.post(f"{A}/users/bob/revoke", headers=prof).status_code == 200
    assert client.get(f"{A}/me", headers=users.headers("bob")).status_code == 401
