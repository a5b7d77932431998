"""Probes for the sandbox backends: a small script run through a real backend instead of the
runner, and the check that the job left no process of the sandbox's uids behind."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.rubric import load_assignment
from grader.runtime import runtime_python
from grader.sandbox import Sandbox, get_sandbox
from grader.sandbox.base import Limits, SandboxJob, SandboxResult
from grader.sandbox.image import USER_UID as DOCKER_UID
from grader.sandbox.linux.procs import processes_of
from grader.sandbox.linux.uids import idle_slot_processes
from grader.sandbox.process import process_sandbox
from grader.sandbox.slot import SlotSandbox
from grader.settings import load_settings

ROOT = os.geteuid() == 0
PY = runtime_python(load_assignment().packages, load_settings())
PROBE_LIMITS = Limits(wall_seconds=10, cpu_seconds=10, memory_mb=512, processes=32,
                      output_bytes=100_000, disk_mb=16)
#: Every backend that can run here: docker only with MLPGRADE_TEST_DOCKER=1 (an engine and the
#: grading image: see docs/sandbox.md).
BACKENDS = ["process", "bwrap"] + (["docker"] if os.environ.get("MLPGRADE_TEST_DOCKER") == "1"
                                   else [])
#: The isolating backends, each warm (a slot kept) and cold (a slot used once).
WARM_AND_COLD = [f"{name}{kind}" for name in BACKENDS[1:] for kind in ("", "-cold")]


def make_backend(name: str) -> Sandbox:
    """A backend by name; "bwrap-cold" and "docker-cold" use each slot for one job (as
    MLPGRADE_WARM=0 does), the others are what `get_sandbox` gives."""
    if name == "process":
        return process_sandbox(trusted=True)  # our own probes: no warning
    if name.endswith("-cold"):
        kept = get_sandbox(name.removesuffix("-cold"))
        assert isinstance(kept, SlotSandbox)
        return SlotSandbox(kept.box, warm=False, **kept.options)
    return get_sandbox(name)


def sandbox_processes(sandbox: Sandbox) -> list[int]:
    """Live processes of the sandbox's uids that no running job holds (the process backend has
    none of its own: it runs as us)."""
    if sandbox.name == "bwrap":
        return idle_slot_processes()
    if sandbox.name == "docker":  # a warm container runs as a slot's uid
        return processes_of(DOCKER_UID) + idle_slot_processes()
    return []


def describe(pids: list[int]) -> str:
    """Each pid with its command line and cgroup (which container or slot it lives in)."""
    rows = []
    for pid in pids:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
            group = Path(f"/proc/{pid}/cgroup").read_text().strip().splitlines()[-1][:120]
        except OSError:
            cmd, group = b"(gone)", ""
        rows.append(f"{pid} {cmd.decode(errors='replace').strip()} [{group}]")
    return "; ".join(rows)


@contextmanager
def nothing_left(sandbox: Sandbox) -> Iterator[None]:
    """Asserts that the block leaves no process of the sandbox's uids behind. Processes that
    were there before it are not its own: another test's leak fails that test, not every later
    one (they are named in the session's summary: tests/conftest.py)."""
    before = set(sandbox_processes(sandbox))
    yield
    left = [pid for pid in sandbox_processes(sandbox) if pid not in before]
    assert left == [], f"sandbox processes left behind: {describe(left)}"


def probe_job(tmp_path: Path, code: str, limits: Limits = PROBE_LIMITS,
              files: dict[str, str] | None = None, *, args: tuple[str, ...] = ()) -> SandboxJob:
    """A job that starts `code` as probe.py (next to `files`, more scripts of its code folder)
    in a hand-in holding hello.txt."""
    code_dir = tmp_path / "code"
    code_dir.mkdir(exist_ok=True)
    for name, text in {**(files or {}), "probe.py": textwrap.dedent(code)}.items():
        (code_dir / name).write_text(text)
        (code_dir / name).chmod(0o644)
    handin = tmp_path / "handin"
    handin.mkdir(exist_ok=True)
    (handin / "hello.txt").write_text("hi")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for p in (tmp_path, code_dir, handin):
        p.chmod(0o755)
    (handin / "hello.txt").chmod(0o644)
    return SandboxJob(handin_dir=handin, output_dir=out, runtime_python=PY, limits=limits,
                      code_dir=code_dir, entry="probe.py", args=args)


def run_probe(sandbox: Sandbox, job: SandboxJob) -> SandboxResult:
    with nothing_left(sandbox):
        return sandbox.run(job)


def probe(sandbox: Sandbox, tmp_path: Path, code: str, limits: Limits = PROBE_LIMITS
          ) -> SandboxResult:
    """Run `code` through `sandbox`; asserts that no process of the sandbox is left."""
    return run_probe(sandbox, probe_job(tmp_path, code, limits))
