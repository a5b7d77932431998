"""The tester (grader/inside/mlpgrade_tester.py), through the bwrap sandbox: a run's tests share
one process until a test leaves it unfit (crashed, or left a thread, a process or much memory
behind), then the next test gets a fresh one; what a test changes of the process's state does
not reach the next test. The activation tests print their process's id into their logs."""

from __future__ import annotations

import dataclasses
import re
import textwrap

import pytest

from grader.fixtures import write_tree
from grader.rubric import load_assignment
from grader.run import run_handin
from grader.sandbox import get_sandbox
from grader.sandbox.linux.uids import idle_slot_processes
from tests.handins import edited_files
from tests.sandbox.probes import PY

S20 = load_assignment("hw1p1-s20")
QUICK = dataclasses.replace(S20, test_seconds=3.0,
                            limits=dataclasses.replace(S20.limits, memory_mb=768))
IDS = ["sigmoid_forward", "sigmoid_derivative", "tanh_forward", "tanh_derivative",
       "relu_forward", "relu_derivative"]
FORWARD = {"Sigmoid": "        self.state = 1.0 / (1.0 + np.exp(-x))\n",
           "Tanh": "        self.state = np.tanh(x)\n",
           "ReLU": "        self.state = np.maximum(x, 0.0)\n"}
PID = "        print('PID', __import__('os').getpid())\n"


@pytest.fixture(scope="module")
def bwrap():
    return get_sandbox("bwrap")


def run(tmp_path, bwrap, extra: dict[str, str] | None = None):
    """Run the activation tests on the reference whose forwards print their PID, with `extra`
    code at the start of the named classes' forward."""
    source = edited_files()["mytorch/activation.py"]
    for cls, line in FORWARD.items():
        code = textwrap.dedent((extra or {}).get(cls, "")).strip()
        indented = "".join(f"        {row}\n" for row in code.splitlines())
        source = source.replace(line, PID + indented + line, 1)
    files = edited_files()
    files["mytorch/activation.py"] = "import os, signal, sys, threading, time\n" + source
    write_tree(files, tmp_path / "handin")
    tests = run_handin(tmp_path / "handin", QUICK, bwrap, PY, test_ids=IDS).tests
    assert idle_slot_processes() == []
    return tests


def pid_of(test) -> int:
    found = re.findall(r"PID (\d+)", test.log)
    assert found, (test.id, test.status, test.log)
    return int(found[-1])


def test_the_tests_of_a_run_share_one_process(tmp_path, bwrap):
    tests = run(tmp_path, bwrap)
    assert {t.status for t in tests.values()} == {"ok"}
    assert len({pid_of(tests[i]) for i in IDS}) == 1


def test_a_crash_costs_only_its_tests_and_the_next_test_gets_a_fresh_process(tmp_path, bwrap):
    tests = run(tmp_path, bwrap, {"Tanh": "os._exit(3)"})
    assert [tests[i].status for i in IDS] == ["ok", "ok", "crashed", "crashed", "ok", "ok"]
    assert tests["tanh_forward"].exit_code == 3
    sigmoid, tanh1, tanh2, relu = (pid_of(tests[i]) for i in
                                   ("sigmoid_forward", "tanh_forward", "tanh_derivative",
                                    "relu_forward"))
    assert sigmoid == tanh1  # the host that ran the sigmoid tests crashed in tanh_forward
    assert len({tanh1, tanh2, relu}) == 3  # after each crash, a fresh one
    assert pid_of(tests["relu_derivative"]) == relu


@pytest.mark.parametrize("left", [
    "threading.Thread(target=lambda: exec('while True: pass'), daemon=True).start()",
    "if os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)",
    "globals().setdefault('KEPT', []).append(np.ones(40 * 2**20))",
], ids=["spinning thread", "process", "320 MiB kept"])
def test_what_a_test_leaves_running_or_held_costs_it_a_fresh_process(left, tmp_path, bwrap):
    tests = run(tmp_path, bwrap, {"Sigmoid": left})
    assert {t.status for t in tests.values()} == {"ok"}
    pids = [pid_of(tests[i]) for i in IDS]
    assert pids[0] != pids[1] != pids[2]  # each sigmoid test left its host unfit
    assert pids[2:] == [pids[2]] * 4
    assert all(tests[i].cpu_seconds < 1.0 for i in IDS[2:])  # no spinner charged to them


def test_what_a_test_changes_of_the_process_is_put_back(tmp_path, bwrap):
    change = """
        def alarm(*_):
            raise RuntimeError("an alarm of an earlier test")
        signal.signal(signal.SIGALRM, alarm)
        signal.alarm(1)
        os.chdir("/")
        sys.path.insert(0, "/nowhere")
        np.seterr(all="raise")
        sys.setrecursionlimit(80)
    """
    check = """
        time.sleep(1.5)
        assert os.path.isfile("hw1/mc.py") and "/nowhere" not in sys.path
        assert sys.getrecursionlimit() > 80
        np.float64(1e308) * 10
    """
    tests = run(tmp_path, bwrap, {"Sigmoid": change, "Tanh": check})
    assert [tests[i].status for i in IDS] == ["ok"] * 6, {i: tests[i].error for i in IDS}
    assert len({pid_of(tests[i]) for i in IDS}) == 1
