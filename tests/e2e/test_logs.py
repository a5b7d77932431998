"""Structured logs (submissions_api/logs.py): with MLPGRADE_LOG_FORMAT=json every line a worker
writes is one JSON object, and every line of a grading — Celery's own "received" and
"succeeded" lines, ours and the similarity index's — names the submission (the training run's
task names its run, and its own lines the submission too)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tests.api.services import wait_for
from tests.e2e.stack import embedded_env, start_stack
from tests.handins import make_handin_tar


def test_json_logs_name_the_submission_on_every_line_of_its_grading(tmp_path, service_home):
    stack = start_stack("embedded", embedded_env(service_home, tmp_path), tmp_path)
    # what a dead worker left in the temporary folder: the sweep's line is JSON too (a slot's
    # uid must reach the folder: not under pytest's private tmp_path)
    scratch = Path(tempfile.mkdtemp(prefix="mlpgrade-test-tmp-"))
    scratch.chmod(0o755)
    (scratch / "mlpgrade-worker-1-dead").mkdir()
    try:
        worker = stack.worker(MLPGRADE_LOG_FORMAT="json", TMPDIR=str(scratch))
        with stack.api("alice") as client:
            reply = client.post("/assignments/hw1p1-s20/submissions",
                                files={"file": ("handin.tar", make_handin_tar())})
        assert reply.status_code == 202, reply.text
        sub_id = reply.json()["id"]
        stack.wait_submission("alice", sub_id, training=True)
        # the similarity job follows the training run (one message on the live path): the
        # worker is stopped once it has run too
        wait_for(lambda: any(r.get("task") == "worker.similarity_index"
                             and "succeeded" in r.get("message", "")
                             for r in _records(worker.log.read_text())), 120,
                 "the similarity job", 0.5)
    finally:
        stack.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    # Up to Celery's shutdown notice, which it prints itself (the test's stop signals the
    # worker's whole group at once: what the pool says then is shutdown noise)
    text = worker.log.read_text().split("worker: Warm shutdown")[0]
    lines = [line for line in text.splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # every line: one JSON object
        assert {"time", "level", "logger", "message"} <= set(record), line
        records.append(record)
    assert any("removed what dead workers left" in r["message"] for r in records), records
    by_task: dict[str, list[dict]] = {}
    for record in records:
        if "task" in record:
            by_task.setdefault(record["task"], []).append(record)
    grading = by_task["worker.grade_submission"]
    assert all(r["submission_id"] == sub_id and r["attempt"] == 1 for r in grading), grading
    messages = " | ".join(r["message"] for r in grading)
    assert "received" in messages and "succeeded" in messages, messages
    assert f"submission {sub_id} attempt 1: graded" in messages, messages
    assert len({r["task_id"] for r in grading}) == 1, grading
    index = by_task["worker.similarity_index"]
    assert index and all(r["submission_id"] == sub_id for r in index), index
    # the training run's task takes the run's id; its own lines name the submission too
    training = by_task["worker.train_run"]
    run_id = training[0]["run_id"]
    assert all(r["run_id"] == run_id for r in training), training
    ours = [r for r in training if r["logger"] == "worker.training"]
    assert ours and all(r["submission_id"] == sub_id for r in ours), training
    assert any("training done" in r["message"] for r in ours), ours


def _records(text: str) -> list[dict]:
    """The log's JSON lines read so far (a line still being written is left out)."""
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out
