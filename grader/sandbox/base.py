"""The one small interface every sandbox backend implements.

A backend runs the in-sandbox runner (`grader/inside/runner.py`) under the student runtime with
the hand-in as working directory, and reports how the run ended. It never looks at what the runner
wrote: reading the outputs, as untrusted data, is `grader.outputs`'s job.

Inside every backend the runner is started as

    <runtime python> -I -B <code dir>/<entry> --out <output dir> [--isolated] [--data <dir>] *args

`--isolated` tells the runner it is alone in its own process namespace (bwrap, docker), so it
may kill every other process there between tests.

with the working directory at the hand-in root. The paths are wherever the backend mounts them.
"""

from __future__ import annotations

import enum
import resource
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

#: Where the runner's code lives on the host; every backend mounts this folder read-only.
CODE_DIR = Path(__file__).resolve().parent.parent / "inside"
#: Where every box shows the runner code, the hand-in, the output area and the training data.
INSIDE_CODE, INSIDE_HANDIN, INSIDE_OUT, INSIDE_DATA = "/grader", "/handin", "/out", "/data"


class Verdict(enum.StrEnum):
    """How a sandboxed run ended, as the parent classifies it."""

    COMPLETED = "completed"
    WALL_TIMEOUT = "wall_timeout"
    CPU_LIMIT = "cpu_limit"
    OUT_OF_MEMORY = "out_of_memory"
    PROCESS_LIMIT = "process_limit"
    OUTPUT_LIMIT = "output_limit"
    DISK_LIMIT = "disk_limit"
    KILLED = "killed"


#: What a student reads when a whole run ended by a verdict other than COMPLETED.
VERDICT_MESSAGES: dict[Verdict, str] = {
    Verdict.COMPLETED: "Your code ran to the end.",
    Verdict.WALL_TIMEOUT: "Your code ran longer than the time limit and was stopped (an endless "
    "loop, or waiting on something that never comes?).",
    Verdict.CPU_LIMIT: "Your code used more CPU time than allowed and was stopped.",
    Verdict.OUT_OF_MEMORY: "Your code used more memory than allowed and was stopped.",
    Verdict.PROCESS_LIMIT: "Your code started more processes or threads than allowed.",
    Verdict.OUTPUT_LIMIT: "Your code printed more output than allowed; the rest was cut.",
    Verdict.DISK_LIMIT: "Your code wrote more to disk than allowed.",
    Verdict.KILLED: "Your code was killed by a signal (a crash in native code, or it killed "
    "itself).",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (all tests of one hand-in together)."""

    wall_seconds: float = 120.0
    cpu_seconds: int = 120
    memory_mb: int = 1024
    processes: int = 64
    output_bytes: int = 1_000_000
    disk_mb: int = 64


@dataclass(frozen=True)
class SandboxJob:
    """One run of the runner on one hand-in."""

    handin_dir: Path
    """The unpacked hand-in root (holds `hw1/` and `mytorch/`); read-only inside, the working
    dir."""
    output_dir: Path
    """Empty folder the runner writes its results into; the only writable place besides /tmp."""
    runtime_python: Path
    """The student runtime's python executable (a venv holding only NumPy and matplotlib)."""
    args: tuple[str, ...] = ()
    """Extra arguments for the runner (the plan), no host paths."""
    limits: Limits = field(default_factory=Limits)
    data_dir: Path | None = None
    """Optional read-only input data (e.g. MNIST for the training statistics)."""
    code_dir: Path = CODE_DIR
    """The folder of the script to start, mounted read-only (tests use their own probes)."""
    entry: str = "runner.py"
    """The script in `code_dir` to start."""
    secret: bytes = b""
    """The run's report key (`grader.reports`): the backend plants it in the output area as
    `.mlpgrade-key` for the runner's reporter, which deletes it before any hand-in code runs."""


@dataclass(frozen=True)
class SandboxResult:
    """How the run ended. stdout/stderr are capped at `limits.output_bytes` together."""

    verdict: Verdict
    exit_code: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    wall_seconds: float
    cpu_seconds: float
    backend: str


class Sandbox(Protocol):
    """A sandbox backend. Raises `InfrastructureError` when the sandbox itself cannot run."""

    name: str
    copies_output: bool
    """Whether the runner writes into a size-capped area of the backend's own, which the backend
    copies into `job.output_dir` when the run is over (so that folder may live in memory)."""

    def run(self, job: SandboxJob) -> SandboxResult: ...



# ---------------------------------------------------------------- shared by every backend

#: The environment every backend starts the runner with, and nothing of the host's: one thread
#: per numerical library (a job has one core), matplotlib without a display. `child_env` adds
#: HOME, which depends on where the backend gives the job a writable place.
CHILD_ENV: dict[str, str] = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # NumPy's huge pages (madvise) cost a large array's first touch a compaction whose CPU time
    # depends on the host's memory, not on the hand-in: a memory flood then ran out of CPU time
    # on one host and out of memory on another (tests/hostile: memory_flood_under_the_courses_cap)
    "NUMPY_MADVISE_HUGEPAGE": "0",
}

#: matplotlib's prebuilt font cache: this folder of the student runtime, `sys.prefix/mplconfig`
#: as the runner sees it (the runner points MPLCONFIGDIR there when it exists). `grader.runtime`
#: builds it; bwrap binds the runtime at its own path and the grading image carries it at
#: /runtime/mplconfig, so it is found in every backend. Without it each run rebuilds the cache.
FONT_CACHE = "mplconfig"


def child_env(*, home: str) -> dict[str, str]:
    """`CHILD_ENV` with HOME, the runner's environment in every backend."""
    return {**CHILD_ENV, "HOME": home}


#: Open files a job may hold: plenty for the runner's pipes and a hand-in's files.
OPEN_FILES = 256


def rlimits(limits: Limits, *, memory_capped: bool, processes: int | None = None
            ) -> dict[str, tuple[int, int]]:
    """The rlimits of a run, name -> (soft, hard), named as `resource.RLIMIT_<NAME>` and as
    docker's `--ulimit` take them.

    CPU: SIGXCPU at the budget, SIGKILL a second later. FSIZE caps one file (a total disk cap
    needs a size-limited tmpfs). Address space only when nothing caps the job's memory as a
    whole (`memory_capped`: a cgroup), because it is per process and a student can catch the
    MemoryError. NPROC counts per real uid, so it is only given where the uid is the job's own."""
    disk = limits.disk_mb * 1024 * 1024
    result = {"cpu": (limits.cpu_seconds, limits.cpu_seconds + 1), "fsize": (disk, disk),
              "core": (0, 0), "nofile": (OPEN_FILES, OPEN_FILES)}
    if not memory_capped:
        memory = limits.memory_mb * 1024 * 1024
        result["as"] = (memory, memory)
    if processes is not None:
        result["nproc"] = (processes, processes)
    return result


def apply_rlimits(limits: dict[str, tuple[int, int]]) -> None:
    """Set `rlimits(...)` on this process (in a child between fork and exec)."""
    for name, (soft, hard) in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), (soft, hard))


@dataclass(frozen=True)
class Ending:
    """What a backend observed about how a run ended; `classify` turns it into the verdict."""

    signal: int | None = None
    """The signal that ended the job's first process (the supervisor reports it)."""
    cpu_seconds: float = 0.0
    output_exceeded: bool = False
    """More than `limits.output_bytes` came out on stdout and stderr together."""
    cpu_exceeded: bool = False
    """The parent saw the CPU budget spent (a cgroup's counter) and stopped the run."""
    timed_out: bool = False
    out_of_memory: bool = False
    """The job's memory limit killed a process (cgroup `oom_kill`, docker's `OOMKilled`)."""
    process_limit: bool = False
    """The job's process limit refused a fork (cgroup `pids.events`)."""
    disk_full: bool = False
    """The job's output area is full."""


def classify(ending: Ending, limits: Limits) -> Verdict:
    """The verdict of a run, the same rules for every backend: what the parent enforced first
    (output, CPU, wall clock), then the job's own limits, then the signal, if any."""
    sig = ending.signal
    if ending.output_exceeded:
        return Verdict.OUTPUT_LIMIT
    # The memory limit's kill is a fact, the clocks depend on the host's load: a run that both
    # met the memory limit and ran out of time (slowly, on a busy host) is out of memory.
    if ending.out_of_memory:
        return Verdict.OUT_OF_MEMORY
    if ending.cpu_exceeded:
        return Verdict.CPU_LIMIT
    if ending.timed_out:
        return Verdict.WALL_TIMEOUT
    if ending.process_limit:
        return Verdict.PROCESS_LIMIT
    if ending.disk_full:
        return Verdict.DISK_LIMIT
    # RLIMIT_CPU sends SIGXCPU at the budget and SIGKILL when the hard limit follows.
    spent = ending.cpu_seconds >= limits.cpu_seconds
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and spent):
        return Verdict.CPU_LIMIT
    if sig == signal.SIGXFSZ:
        return Verdict.DISK_LIMIT
    if sig is not None:
        return Verdict.KILLED
    return Verdict.COMPLETED
