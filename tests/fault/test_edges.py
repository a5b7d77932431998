"""Faults at the edges (issue 27), on PostgreSQL and Redis with the API and worker processes:

- A full disk on one of two hosts (its data folder and TMPDIR on a small tmpfs, filled
  mid-burst; it takes live and bulk work, the other host runs a live and a bulk worker): that
  host fails a grading or a training run, checks itself, says it is sick and takes no more work
  until its check passes; the failure costs the hand-in nothing, the other host grades
  everything, nothing ends `failed` and no training run is recorded failed.
- The worker making the first golden set is killed: its lease runs out, another host takes the
  job over, and the grading that waited meanwhile costs no attempt.
- The API dies right after committing an upload (its answer is cut): the client's retry with the
  same Idempotency-Key, or the same bytes again, gets the first submission back.
- A graceful stop removes the worker's scratch folder and mounts; after a kill -9 the next worker
  started on the host removes what the dead one left, never a live worker's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import docker
import httpx
import pytest
from sqlalchemy import update

from grader.sandbox.docker import LABEL
from submissions_api.store import crud
from submissions_api.store.models import Assignment
from submissions_api.store.models_golden import GoldenSet, GoldenStatus
from submissions_api.store.models_grading import GradingRun, Submission
from submissions_api.store.models_hosts import WorkerHost
from tests.api.services import (
    IN_CI,
    REDIS_URL,
    SANDBOX,
    check_redis,
    service_env,
    start_api,
    wait_for,
)
from tests.e2e.stack import MLPGRADE, REPO, Stack, copy_home, start_stack
from tests.fault.burst import check_graded_once, graded_count, handins, upload, upload_all
from tests.fault.test_many_hosts import hooked
from worker.scratch import PREFIX, mounts_under


def stack_on(name: str, tmp: Path, service_home: Path, postgres_databases, **extra: str
             ) -> Stack:
    check_redis()
    env = service_env(copy_home(service_home, tmp / "home"), postgres_databases.fresh(),
                      REDIS_URL, **extra)
    return start_stack(name, env, tmp)


def host(stack: Stack, tmp: Path, name: str, queues: str = "live", home: Path | None = None,
         **env: str):
    home = home or tmp / name
    home.mkdir(exist_ok=True)
    return stack.worker(queues, MLPGRADE_HOME=str(home), **env)


def status_of(stack: Stack, ids) -> dict[str, int]:
    with stack.sessions()() as session:
        subs = [crud.get_submission(session, submission_id=i) for i in ids]
        return {"failed": sum(s.status == "failed" for s in subs),
                "charged": sum(s.infra_failures for s in subs)}


@pytest.fixture
def host_tmp():
    """Folders to be hosts' TMPDIR, as /tmp is: reachable by the sandbox's slot uids (pytest's
    tmp_path is not)."""
    made: list[Path] = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="mlpgrade-fault-tmp-")))
        made[-1].chmod(0o755)
        return made[-1]
    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def small_disk(host_tmp):
    """A 48 MB tmpfs: one host's TMPDIR and data folder, which the test fills."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("mounting a tmpfs needs root")
        pytest.skip("mounting a tmpfs needs root")
    path = host_tmp()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=755", "tmpfs", str(path)],
                   check=True)
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True,
                   check=False)  # until "No space left on device"
    return filler


def sick_hosts(stack: Stack) -> list[str]:
    with stack.sessions()() as session:
        return [h.name for h in session.query(WorkerHost).filter_by(sick=True)]


@pytest.mark.timeout(300)
def test_fault_full_disk_on_one_host_costs_no_hand_in_anything(tmp_path, service_home,
                                                              postgres_databases, small_disk,
                                                              host_tmp):
    stack = stack_on("full-disk", tmp_path, service_home, postgres_databases,
                     MLPGRADE_SELF_CHECK_INTERVAL="0.5")
    try:
        other_tmp = host_tmp()
        host(stack, tmp_path, "host-0", queues="live,bulk", home=small_disk / "home",
             TMPDIR=str(small_disk))
        host(stack, tmp_path, "host-1", TMPDIR=str(other_tmp))
        host(stack, tmp_path, "host-1", queues="bulk", TMPDIR=str(other_tmp))
        items = handins(10)
        before = upload_all(stack, ["alice", "bob"], items[:2], clients=2)
        wait_for(lambda: graded_count(stack, before) == 2, 120, "the first grades", 0.2,
                 tuple(stack.procs))
        filler = fill(small_disk)
        filled = time.monotonic()
        during = upload_all(stack, ["alice", "bob"], items[2:8], clients=2)
        wait_for(lambda: sick_hosts(stack), 60, "host-0 to say it is sick", 0.2,
                 tuple(stack.procs))
        noticed = time.monotonic() - filled
        [sick] = sick_hosts(stack)
        assert sick.endswith(str(small_disk / "home"))  # host-0: its data folder
        assert httpx.get(f"{stack.url}/health").json()["sick_hosts"] == 1
        wait_for(lambda: graded_count(stack, during) == len(during), 180,
                 "the other host to grade the burst", 0.5, tuple(stack.procs))
        filler.unlink()  # the disk has room again: the host's check passes
        wait_for(lambda: not sick_hosts(stack), 30, "host-0 well again", 0.2, tuple(stack.procs))
        full_for = time.monotonic() - filled
        after = upload_all(stack, ["alice", "bob"], items[8:], clients=2)
        accepted = {**before, **during, **after}
        wait_for(lambda: graded_count(stack, accepted) == len(accepted), 120,
                 "every submission graded", 0.5, tuple(stack.procs))
        outcomes = check_graded_once(stack, accepted)  # host-0's first failure may be a
        # grading (an infrastructure_error run, uncharged) or a training run: either makes it sick
        assert status_of(stack, accepted) == {"failed": 0, "charged": 0}
        assert "failed" not in trainings(stack, accepted)  # done, or still to run
        print(f"full disk: {len(accepted)} uploads ({len(during)} while host-0's disk was full "
              f"for {full_for:.0f} s, sick {noticed:.1f} s after the fill), runs "
              f"{dict(outcomes)}, {status_of(stack, accepted)}, trainings "
              f"{trainings(stack, accepted)}")
    finally:
        stack.stop()


def trainings(stack: Stack, ids) -> dict[str, int]:
    """How the training runs of the submissions' graded runs stand, by status."""
    with stack.sessions()() as session:
        found = Counter(r.training for r in session.query(GradingRun).filter(
            GradingRun.submission_id.in_(list(ids)), GradingRun.outcome == "graded"))
    return dict(found)


def golden_rows(stack: Stack) -> list[GoldenSet]:
    with stack.sessions()() as session:
        return session.query(GoldenSet).filter(GoldenSet.created_by_id.is_(None)) \
            .order_by(GoldenSet.id).all()


@pytest.mark.timeout(400)
def test_fault_killed_golden_set_maker_is_replaced_within_its_lease(tmp_path, service_home,
                                                                   postgres_databases):
    stack = stack_on("golden-maker", tmp_path, service_home, postgres_databases)
    try:
        with stack.sessions()() as session:  # the assignment's first set is still to be made
            session.execute(update(Assignment).values(active_golden_id=None))
            session.commit()
        maker = host(stack, tmp_path, "host-0", queues="bulk")
        host(stack, tmp_path, "host-1", queues="live")
        [item] = handins(1)
        sub_id = upload(stack, "alice", item.data).json()["id"]
        first = wait_for(lambda: [g for g in golden_rows(stack)
                                  if g.status == GoldenStatus.GENERATING], 60,
                         "the golden job to start", 0.1, tuple(stack.procs))[0]
        maker.kill()  # kill -9 of the maker host, mid-generation
        killed = time.monotonic()
        host(stack, tmp_path, "host-2", queues="bulk")
        second = wait_for(lambda: [g for g in golden_rows(stack) if g.id > first.id], 60,
                          "another host to take the job over", 0.1, tuple(stack.procs))[0]
        lease = float(stack.env["MLPGRADE_LEASE_SECONDS"])
        taken_over = time.monotonic() - killed
        assert taken_over < lease + 15  # its lease, and host-2's start
        assert second.lease_owner != first.lease_owner
        stack.wait_submission("alice", sub_id, timeout=300)
        check_graded_once(stack, {sub_id: item})
        with stack.sessions()() as session:
            sub = crud.get_submission(session, submission_id=sub_id)
            assert (sub.attempts, sub.infra_failures) == (1, 0)  # the wait cost nothing
            old = session.get(GoldenSet, first.id)
            assert old.status == GoldenStatus.ERROR and "abandoned" in old.error
            assert session.query(Assignment).filter_by(slug="hw1p1-s20").one() \
                .active_golden_id == second.id
            print(f"golden maker killed: set {second.id} taken over {taken_over:.1f} s after "
                  f"the kill (lease {lease:.0f} s); the waiting submission graded with "
                  f"attempts={sub.attempts}, infra_failures={sub.infra_failures}")
    finally:
        stack.stop()


@pytest.mark.timeout(300)
def test_fault_cut_answer_after_commit_then_client_retry_is_one_submission(
        tmp_path, service_home, postgres_databases):
    """Long because the fault is played twice, as the issue's run saw it: by a client that
    retries with its Idempotency-Key, and by the real `mlpgrade submit`, each cut after commit."""
    arm = tmp_path / "arm"
    check_redis()
    env = hooked(service_env(copy_home(service_home, tmp_path / "home"),
                             postgres_databases.fresh(), REDIS_URL,
                             MLPGRADE_DUPLICATE_WINDOW="60"),
                 MLPGRADE_TEST_DIE_AFTER_COMMIT=str(arm))
    stack = start_stack("cut-answer", env, tmp_path)
    try:
        host(stack, tmp_path, "host-0")
        host(stack, tmp_path, "host-1")
        [item] = handins(1)
        key = str(uuid.uuid4())
        arm.touch()  # the API dies right after it commits the next upload
        with pytest.raises(httpx.TransportError), stack.api("alice") as client:
            client.post("/assignments/hw1p1-s20/submissions", headers={"Idempotency-Key": key},
                        files={"file": ("handin.tar", item.data)})
        assert not arm.exists()
        port = int(stack.url.rsplit(":", 1)[1])
        stack.procs.append(start_api(env, tmp_path / "api-2.log", port))
        wait_for(lambda: _answers(stack.url), 30, "the API again", 0.2, tuple(stack.procs))
        with stack.api("alice") as client:  # the client retries with its key
            retry = client.post("/assignments/hw1p1-s20/submissions",
                                headers={"Idempotency-Key": key},
                                files={"file": ("handin.tar", item.data)})
            again = client.post("/assignments/hw1p1-s20/submissions",  # no key, same bytes
                                files={"file": ("handin.tar", item.data)})
        assert retry.status_code == again.status_code == 202, retry.text
        sub_id = retry.json()["id"]
        assert again.json()["id"] == sub_id
        stack.wait_submission("alice", sub_id, timeout=120)
        check_graded_once(stack, {sub_id: item})
        with stack.sessions()() as session:
            stored = session.query(Submission).count()
        assert stored == 1
        print(f"cut answer: the retry (same key) and a third upload (same bytes, no key) both "
              f"answered with submission {sub_id}; {stored} submission stored, graded once")
        # `mlpgrade submit`, its answer cut the same way: it sends again with its key until the
        # restarted API answers
        [_, second] = handins(2)
        tar = tmp_path / "handin.tar"
        tar.write_bytes(second.data)
        arm.touch()
        cli = subprocess.Popen([*MLPGRADE, "submit", str(tar), "--server", stack.url, "--token",
                                stack.tokens["bob"], "--no-wait"], env=env, cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: not arm.exists(), 60, "the API to die after committing bob's upload")
        stack.procs.append(start_api(env, tmp_path / "api-3.log", port))
        out, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, out + err
        assert "sending it again" in err, err
        bob_id = int(out.split("submission ", 1)[1].split()[0])
        stack.wait_submission("bob", bob_id, timeout=120)
        check_graded_once(stack, {sub_id: item, bob_id: second})
        with stack.sessions()() as session:
            stored = session.query(Submission).count()
        assert stored == 2
        print(f"cut answer, mlpgrade submit: exit 0 after "
              f"{err.count('sending it again')} re-send(s); submission {bob_id}, "
              f"{stored - 1} stored for bob, graded once")
    finally:
        stack.stop()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def scratch_of(tmp: Path, pid: int) -> list[Path]:
    return list(tmp.glob(f"{PREFIX}{pid}-*"))


@pytest.mark.timeout(300)
def test_fault_restarts_leave_no_mount_or_folder(tmp_path, service_home, postgres_databases,
                                                 host_tmp):
    stack = stack_on("restarts", tmp_path, service_home, postgres_databases)
    shared = host_tmp()  # one host's TMPDIR, two workers on it
    try:
        a = host(stack, tmp_path, "host-0", TMPDIR=str(shared))
        b = host(stack, tmp_path, "host-0", TMPDIR=str(shared))
        items = handins(4)
        accepted = upload_all(stack, ["alice", "bob"], items[:3], clients=2)
        wait_for(lambda: graded_count(stack, accepted) == 3, 120, "the first grades", 0.2,
                 tuple(stack.procs))
        assert scratch_of(shared, a.popen.pid) and scratch_of(shared, b.popen.pid)
        made, boxes = mounts_under(shared), containers_under(shared)
        a.stop()  # graceful: SIGTERM
        assert scratch_of(shared, a.popen.pid) == []
        assert [m for m in mounts_under(shared) if f"{PREFIX}{a.popen.pid}-" in m] == []
        assert not [c for c in containers_under(shared) if f"{PREFIX}{a.popen.pid}-" in c]
        [b_folder] = scratch_of(shared, b.popen.pid)  # a live worker's: untouched
        b.kill()  # kill -9: it leaves its folder (and mounts) behind
        b.popen.wait(timeout=10)
        assert b_folder.exists()
        left = (len(mounts_under(shared)), _bytes(b_folder))
        # the docker backend's containers end with their worker (its stdin closes)
        wait_for(lambda: not containers_under(shared), 30, "the dead worker's containers gone",
                 0.2, tuple(stack.procs))
        c = host(stack, tmp_path, "host-0", TMPDIR=str(shared))
        wait_for(lambda: scratch_of(shared, c.popen.pid), 60, "the new worker's scratch", 0.1,
                 tuple(stack.procs))
        assert not b_folder.exists() and mounts_under(shared) == []
        assert sorted(p.name for p in shared.iterdir()) == \
            [p.name for p in scratch_of(shared, c.popen.pid)]
        [item] = items[3:]
        sub_id = upload(stack, "alice", item.data).json()["id"]
        accepted[sub_id] = item
        wait_for(lambda: graded_count(stack, accepted) == 4, 120, "graded after the restart",
                 0.2, tuple(stack.procs))
        check_graded_once(stack, accepted)
    finally:
        stack.stop()
    assert list(shared.iterdir()) == [] and mounts_under(shared) == []
    assert containers_under(shared) == []
    print(f"restarts ({SANDBOX}): {len(made)} mounts and {len(boxes)} containers while "
          f"grading; after SIGTERM 0 of the stopped "
          f"worker's folders and mounts left; after kill -9 {left[0]} mount(s) and "
          f"{left[1] / 1e6:.1f} MB left, removed by the next start; after the test's stop "
          f"{len(list(shared.iterdir()))} folders, {len(mounts_under(shared))} mounts")


def containers_under(folder: Path) -> list[str]:
    """Our sandbox containers (docker backend) binding something under `folder`: each
    container's first such source."""
    if SANDBOX != "docker":
        return []
    client = docker.from_env()
    found = []
    for box in client.containers.list(all=True, filters={"label": LABEL}):
        sources = [m["Source"] for m in box.attrs.get("Mounts", [])
                   if m.get("Source", "").startswith(str(folder))]
        found += sources[:1]
    return found


def _bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
