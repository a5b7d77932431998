"""The bwrap backend classifies every way a run can end, and contains what it runs.

Each test starts a small probe script (instead of the runner) through the real backend and checks
the verdict the parent derives, and that no process of the sandbox uids is left afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from grader.sandbox.base import Limits, Verdict
from tests.sandbox.probes import ROOT, make_backend, probe

needs_root = pytest.mark.skipif(not ROOT and os.environ.get("CI") != "true",
                                reason="cgroup verdicts and slot uids need root (CI runs as root)")


@pytest.fixture(scope="module", params=["bwrap", "bwrap-cold"])
def bwrap(request):
    """A warm bwrap sandbox (its slot kept while healthy) and a cold one (a slot per job)."""
    return make_backend(request.param)


def test_bwrap_completed_with_output_and_files(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os, sys
        print("hello from", os.getcwd(), open("hello.txt").read())
        open("/out/result.txt", "w").write("written")
    """)
    assert result.verdict == Verdict.COMPLETED and result.exit_code == 0
    assert b"hello from /handin hi" in result.stdout
    assert (tmp_path / "out" / "result.txt").read_text() == "written"


def test_bwrap_wall_timeout_kills_the_tree(bwrap, tmp_path):
    start = time.monotonic()
    result = probe(bwrap, tmp_path, """
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(1000)
        time.sleep(1000)
    """, Limits(wall_seconds=1.5, cpu_seconds=10, memory_mb=512, processes=32))
    assert result.verdict == Verdict.WALL_TIMEOUT
    assert time.monotonic() - start < 6


@needs_root
def test_bwrap_cpu_limit(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, "while True: pass\n",
                   Limits(wall_seconds=10, cpu_seconds=1, memory_mb=512, processes=32))
    assert result.verdict == Verdict.CPU_LIMIT
    # ended by its CPU budget, before the wall clock (on a loaded host 1 s of CPU takes several
    # seconds of wall time: measured 5.06 s at load average 10 on 2 cores)
    assert result.wall_seconds < 10


@needs_root
@pytest.mark.parametrize("catch", [False, True])
def test_bwrap_out_of_memory_20_gib(bwrap, tmp_path, catch):
    alloc = "np.ones(20 * 2**30 // 8)"
    body = f"try:\n    x = {alloc}\nexcept MemoryError:\n    pass\n" if catch else f"x = {alloc}\n"
    result = probe(bwrap, tmp_path, "import numpy as np\n" + body)
    assert result.verdict == Verdict.OUT_OF_MEMORY


@needs_root
def test_bwrap_many_forks_times_moderate_memory_is_capped(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os, time
        import numpy as np
        for _ in range(8):
            if os.fork() == 0:
                x = np.ones(150 * 2**20 // 8)
                time.sleep(5)
                os._exit(0)
        for _ in range(8):
            os.wait()
    """, Limits(wall_seconds=10, cpu_seconds=10, memory_mb=512, processes=32))
    assert result.verdict == Verdict.OUT_OF_MEMORY


@needs_root
def test_bwrap_fork_bomb_hits_the_process_limit(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os, time
        end = time.time() + 3
        while time.time() < end:
            try:
                os.fork()
            except OSError:
                pass
    """, Limits(wall_seconds=8, cpu_seconds=20, memory_mb=512, processes=32))
    assert result.verdict in (Verdict.PROCESS_LIMIT, Verdict.WALL_TIMEOUT)


@needs_root
def test_bwrap_threads_hit_the_process_limit(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import threading, time
        n = 0
        try:
            for _ in range(1000):
                threading.Thread(target=time.sleep, args=(2,), daemon=True).start()
                n += 1
        except RuntimeError:
            pass
        print("threads", n)
    """)
    assert result.verdict == Verdict.PROCESS_LIMIT
    assert int(result.stdout.split()[-1]) < 40


def test_bwrap_disk_is_capped_for_one_big_file_and_many_files(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os
        for path in ("/tmp/big", "/out/big"):
            try:
                with open(path, "wb") as f:
                    for _ in range(5 * 1024):
                        f.write(b"x" * 2**20)
                print("WROTE", path)
            except OSError as exc:
                print("refused", path, exc.errno)
        n = 0
        try:
            for i in range(10):
                with open(f"/out/f{i}", "wb") as f:
                    f.write(b"x" * 15 * 2**20)
                n += 1
        except OSError:
            pass
        print("files", n)
    """)
    assert b"WROTE" not in result.stdout
    assert result.verdict == Verdict.DISK_LIMIT
    assert int(result.stdout.split()[-1]) < 2


def test_bwrap_killed_by_signal(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert result.verdict == Verdict.KILLED


def test_bwrap_no_network_not_even_loopback(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import socket
        for port in (6379, 5432, 8000):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1)
                print("CONNECTED", port)
            except OSError as exc:
                print("blocked", port, type(exc).__name__)
        try:
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            print("CONNECTED v6 socket")
        except OSError:
            print("blocked v6")
    """)
    assert result.verdict == Verdict.COMPLETED
    assert b"CONNECTED" not in result.stdout and result.stdout.count(b"blocked") == 4


def test_bwrap_sees_only_its_own_files(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os
        for path in ("/etc/passwd", "/root/.bashrc", "/work/main/README.md",
                     "/var/lib/mlpgrade/golden", "/etc/shadow"):
            try:
                if os.path.isdir(path):
                    print("LISTED", path, os.listdir(path))
                else:
                    open(path).read(10)
                    print("READ", path)
            except OSError as exc:
                print("hidden", path, type(exc).__name__)
        print("root:", sorted(os.listdir("/")))
        try:
            open("/handin/new.txt", "w")
            print("WROTE into the hand-in")
        except OSError:
            print("hand-in read-only")
    """)
    out = result.stdout.decode()
    assert not [line for line in out.splitlines() if line.startswith(("READ", "LISTED"))]
    assert "WROTE" not in out and "hand-in read-only" in out
    assert "'work'" not in out and "'etc'" not in out


def test_bwrap_cannot_signal_outside_processes(bwrap, tmp_path):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        result = probe(bwrap, tmp_path, f"""
            import os, signal
            try:
                os.kill({victim.pid}, signal.SIGKILL)
                print("SIGNALLED")
            except OSError as exc:
                print("refused", type(exc).__name__)
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        """)
        assert b"SIGNALLED" not in result.stdout
        time.sleep(0.2)
        assert victim.poll() is None, "a process outside the sandbox was killed"
    finally:
        victim.kill()
        victim.wait()


def test_bwrap_daemon_does_not_outlive_the_job(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(1000)
            os._exit(0)
        time.sleep(0.2)
        print("parent done")
    """)
    assert result.verdict == Verdict.COMPLETED
    # probe() asserts that no process of the sandbox uids is left


def test_bwrap_runs_as_an_unprivileged_uid(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, "import os\nprint(os.getuid(), os.geteuid())\n")
    if ROOT:
        # inside the user namespace the slot uid maps to itself; never 0
        assert b"0 0" not in result.stdout
    assert result.verdict == Verdict.COMPLETED


def test_bwrap_missing_binary_is_infrastructure_error(monkeypatch):
    from grader.errors import InfrastructureError
    from grader.sandbox import bwrap as module

    monkeypatch.setattr(module, "BWRAP", "/nonexistent/bwrap")
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    with pytest.raises(InfrastructureError, match="bubblewrap is not installed"):
        module.find_bwrap()


def test_bwrap_has_no_python_packages_but_numpy_and_matplotlib(bwrap, tmp_path):
    result = probe(bwrap, tmp_path, """
        import importlib
        for name in ("numpy", "matplotlib", "torch", "fastapi", "sqlalchemy", "grader", "pip"):
            try:
                importlib.import_module(name)
                print("has", name)
            except ImportError:
                print("no", name)
    """)
    out = result.stdout.decode().split("\n")
    assert "has numpy" in out and "has matplotlib" in out
    for name in ("torch", "fastapi", "sqlalchemy", "grader", "pip"):
        assert f"no {name}" in out
