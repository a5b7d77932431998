"""The tiny second assignment (tests/assignments/tinyops) through the whole service: found by the
API and the worker through MLPGRADE_ASSIGNMENTS, its golden set made by the service itself (no
set is seeded: generate, canary, activate in the database), then uploads graded over HTTP with the
rubric's own points. Nothing of the service is specific to hw1p1."""

from __future__ import annotations

import pytest

from grader.fixtures import apply_bug, load_bugs, make_tar, reference_files, starter_files
from grader.rubric import OURS, load_assignment
from tests.api.services import REPO
from tests.e2e.stack import embedded_env, start_stack

FOLDERS = REPO / "tests" / "assignments"


@pytest.fixture
def tiny():
    return load_assignment("tinyops", (*OURS, FOLDERS))


@pytest.fixture
def stack(tiny, tmp_path, service_home):
    env = embedded_env(service_home, tmp_path, MLPGRADE_ASSIGNMENTS=str(FOLDERS))
    s = start_stack("embedded", env, tmp_path)
    yield s
    s.stop()


def test_e2e_second_assignment_graded_by_the_service(stack, tiny):
    stack.worker()
    [bug] = load_bugs(tiny)
    handins = {"reference": make_tar(reference_files(tiny), tiny.handin),
               "starter": make_tar(starter_files(tiny), tiny.handin),
               "bug": make_tar(apply_bug(reference_files(tiny), bug), tiny.handin)}
    ids = {}
    with stack.api("alice") as client:
        assert any(a["slug"] == "tinyops" for a in client.get("/assignments").json())
        for name, data in handins.items():
            reply = client.post("/assignments/tinyops/submissions",
                                files={"file": ("handin.tar", data)})
            assert reply.status_code == 202, reply.text
            ids[name] = reply.json()["id"]
    # The first grading waits for the golden set the service makes from the tiny reference.
    done = {name: stack.wait_submission("alice", sub_id, timeout=300)
            for name, sub_id in ids.items()}
    assert {name: sub["status"] for name, sub in done.items()} == dict.fromkeys(ids, "graded")
    failing = {t.id: t.points for t in tiny.tests if t.id in bug.fails}
    assert done["reference"]["score"] == tiny.max_score
    assert done["starter"]["score"] == 0.0
    assert done["bug"]["score"] == tiny.max_score - sum(failing.values())
    failed = {t["id"] for t in done["bug"]["result"]["tests"] if not t["passed"]}
    assert failed == set(bug.fails)
    with stack.api("prof") as client:
        sets = client.get("/assignments/tinyops/golden-sets").json()
    assert [s["status"] for s in sets if s.get("active")] == ["ready"]
