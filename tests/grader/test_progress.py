"""The host-side progress watcher: which planned test runs, from the output folder's names."""

from __future__ import annotations

import time

from grader.progress import finished_count, watch_outputs


def test_finished_count_counts_results_in_plan_order(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "c.json").write_text("{}")  # c ended but b has not: b is the one running
    assert finished_count(tmp_path, ["a", "b", "c"]) == 1


def test_watch_outputs_reports_each_change_once(tmp_path):
    seen = []
    with watch_outputs(tmp_path, ["a", "b"], lambda *p: seen.append(p), interval=0.02,
                       first=0.0):
        time.sleep(0.1)
        (tmp_path / "a.json").write_text("{}")
        time.sleep(0.1)
        (tmp_path / "b.json").write_text("{}")
        time.sleep(0.1)
    assert seen == [(0, 2, "a"), (1, 2, "b"), (2, 2, None)]


def test_a_run_shorter_than_the_first_look_reports_only_its_end(tmp_path):
    seen = []
    with watch_outputs(tmp_path, ["a", "b"], lambda *p: seen.append(p), interval=0.02,
                       first=0.5):
        (tmp_path / "a.json").write_text("{}")
        time.sleep(0.1)
    assert seen == [(2, 2, None)]  # no write while it ran: its result follows at once
    seen.clear()
    with watch_outputs(tmp_path / "b", ["a"], lambda *p: seen.append(p), interval=0.02,
                       first=0.1):
        time.sleep(0.3)  # longer: reported from `first` on
    assert seen == [(0, 1, "a"), (1, 1, None)]


def test_watch_outputs_survives_a_failing_callback(tmp_path):
    def fail(*_):
        raise RuntimeError("database away")
    with watch_outputs(tmp_path, ["a"], fail, interval=0.01):
        time.sleep(0.05)  # no exception escapes into the grading
