"""docker-compose.yml started for real, on the images of scripts/build-images.sh: migrations run
once, three workers grade a burst of 50 uploads through the published port while one worker
container is killed, and every upload is graded exactly once with its expected score.

Needs a Docker engine (scripts/dockerd.sh), compose (`docker compose` or Debian's
docker-compose) and debootstrap (build-images.sh installs it). Runs with MLPGRADE_TEST_DOCKER=1
(.ci/run sets it); in CI a missing engine or compose is a failure. The first build takes minutes
(debootstrap, wheels, venv); later runs reuse the cached base, wheels and layers.
"""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader.fixtures import load_bugs
from grader.rubric import load_assignment
from tests.conftest import IN_CI
from tests.e2e.compose_stack import ComposeStack, build_images, compose_command, docker_socket
from tests.handins import make_handin_tar

pytestmark = pytest.mark.timeout(1800)

BURST = 50
WORKERS = 3
BUGS = ("linear_dw_summed",)


def expected_kinds() -> list[tuple[str, bytes, float]]:
    """(kind, handin.tar, expected automatic score): the reference and known mistakes."""
    a = load_assignment("hw1p1-s20")
    points = {t.id: t.points for t in a.tests}
    kinds = [("correct", make_handin_tar(), a.max_score)]
    catalogue = {b.id: b for b in load_bugs(a)}
    for bug_id in (*BUGS, *[b for b in catalogue if b not in BUGS][:2]):
        lost = sum(points[t] for t in catalogue[bug_id].fails)
        kinds.append((bug_id, make_handin_tar(bugs=(bug_id,)), a.max_score - lost))
    return kinds


def _missing() -> str | None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")} | {
        k: v for k, v in os.environ.items() if k.startswith("DOCKER_")}
    if compose_command(env) is None:
        return "neither `docker compose` nor `docker-compose` is installed"
    if docker_socket() is None or subprocess.run(["docker", "version"],
                                                 capture_output=True).returncode != 0:
        return "no Docker engine at DOCKER_HOST (eval \"$(bash scripts/dockerd.sh)\")"
    return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not IN_CI and os.environ.get("MLPGRADE_TEST_DOCKER") != "1":
        pytest.skip("set MLPGRADE_TEST_DOCKER=1 (and a Docker engine) to start the compose stack")
    missing = _missing()
    if missing:
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)
    env = {"PATH": os.environ["PATH"]} | {k: v for k, v in os.environ.items()
                                         if k.startswith("DOCKER_")}
    build_images()
    st = ComposeStack(tmp_path_factory.mktemp("compose"), compose_command(env), workers=1)
    try:
        st.up()
        yield st
    finally:
        st.down()


def wait_all(st: ComposeStack, ids: list[int], timeout: float) -> list[list[str]]:
    id_list = ",".join(map(str, ids))
    deadline = time.monotonic() + timeout
    while True:
        rows = st.sql(f"SELECT id, status FROM submissions WHERE id IN ({id_list}) "
                      "AND status IN ('graded', 'failed')")
        if len(rows) == len(ids) or time.monotonic() > deadline:
            return rows
        time.sleep(2)


def kill_a_busy_worker(st: ComposeStack, ids: list[int], timeout: float = 300) -> list[int]:
    """Once a few of the burst are graded, kill -9 a worker container while it holds a running
    submission's lease (its hostname is the container id's prefix); the submissions it held.
    The worker is frozen first and its leases read while it cannot change them: killed on a
    lease read a moment earlier it may already have finished that submission (stop 34's CI)."""
    id_list = ",".join(map(str, ids))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        graded = int(st.sql(f"SELECT count(*) FROM submissions WHERE id IN ({id_list}) "
                            "AND status = 'graded'")[0][0])
        if graded >= 3:
            for container in st.running("worker"):
                st.pause(container, True)
                held = [int(r[0]) for r in st.sql(
                    f"SELECT id FROM submissions WHERE id IN ({id_list}) AND status = 'running' "
                    f"AND split_part(lease_owner, '/', 1) = '{container[:12]}'")]
                if held:
                    st.kill(container)
                    return held
                st.pause(container, False)
        time.sleep(0.5)
    raise AssertionError(f"no worker was busy with the burst\n{st.logs()}")


def test_compose_burst_graded_exactly_once_with_a_worker_killed(stack):
    st = stack
    # Migrations ran once, in their own container, before the API and the workers.
    migrate = st.containers("migrate")
    assert len(migrate) == 1
    state = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}} {{.RestartCount}}",
                            migrate[0]], capture_output=True, text=True, check=True).stdout
    assert state.split() == ["0", "0"]
    assert len(st.sql("SELECT version_num FROM alembic_version")) == 1
    st.scale_workers(WORKERS)
    assert len(st.running("worker")) == WORKERS

    st.add_students(BURST)
    kinds = expected_kinds()
    # The first upload: the service makes and canaries its own golden set in the database.
    first = st.upload(0, kinds[0][1])
    assert wait_all(st, [first], 900) == [[str(first), "graded"]], st.logs()

    items = [kinds[i % len(kinds)] for i in range(BURST)]
    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda i: st.upload(i, items[i][1]), range(BURST)))
    killed = kill_a_busy_worker(st, ids)
    done = wait_all(st, ids, 900)
    assert len(done) == BURST, f"{len(done)} of {BURST} finished\n{st.logs()}"
    assert len(st.running("worker")) == WORKERS - 1

    id_list = ",".join(map(str, ids))
    subs = {int(i): (status, float(score) if score else None, int(attempts)) for i, status, score,
            attempts in st.sql(f"SELECT id, status, score, attempts FROM submissions "
                               f"WHERE id IN ({id_list})")}
    runs = st.sql(f"SELECT submission_id, attempt, outcome, score FROM grading_runs "
                  f"WHERE submission_id IN ({id_list}) ORDER BY submission_id, attempt")
    graded = [r for r in runs if r[2] == "graded"]
    # Exactly once: one graded run per upload, none twice, each with its expected score.
    assert sorted(int(r[0]) for r in graded) == sorted(ids), runs
    for sub_id, (kind, _, score) in zip(ids, items, strict=True):
        status, sub_score, _ = subs[sub_id]
        assert (status, sub_score) == ("graded", score), (sub_id, kind, subs[sub_id])
    for r in graded:
        assert float(r[3]) == subs[int(r[0])][1], r
    # The submissions the killed worker held were taken over (attempt 2), not lost or doubled.
    assert all(subs[i][2] > 1 for i in killed), (killed, subs)
    with st.client(st.tokens[0]) as client:
        reply = client.get(f"/submissions/{ids[0]}").json()
    assert (reply["status"], reply["score"]) == ("graded", items[0][2])
