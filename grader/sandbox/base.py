"""The one small interface every sandbox backend implements.

A backend runs the in-sandbox runner (`grader/sandboxed/runner.py`) under the student runtime with
the hand-in as working directory, and reports how the run ended. It never looks at what the runner
wrote: reading the outputs, as untrusted data, is `grader.execute`'s job.

Inside every backend the runner is started as

    <runtime python> -I -B <code dir>/<entry> --out <output dir> [--isolated] [--data <dir>] *args

`--isolated` tells the runner it is alone in its own process namespace (bwrap, docker), so it
may kill every other process there between tests.

with the working directory at the hand-in root. The paths are wherever the backend mounts them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


#: Where the runner's code lives on the host; every backend mounts this folder read-only.
CODE_DIR = Path(__file__).resolve().parent.parent / "inside"


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
    Verdict.WALL_TIMEOUT: "Your code ran longer than the time limit and was stopped (an endless loop, "
    "or waiting on something that never comes?).",
    Verdict.CPU_LIMIT: "Your code used more CPU time than allowed and was stopped.",
    Verdict.OUT_OF_MEMORY: "Your code used more memory than allowed and was stopped.",
    Verdict.PROCESS_LIMIT: "Your code started more processes or threads than allowed.",
    Verdict.OUTPUT_LIMIT: "Your code printed more output than allowed; the rest was cut.",
    Verdict.DISK_LIMIT: "Your code wrote more to disk than allowed.",
    Verdict.KILLED: "Your code was killed by a signal (a crash in native code, or it killed itself).",
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
    """The unpacked hand-in root (holds `hw1/` and `mytorch/`); read-only inside, the working dir."""
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

    def run(self, job: SandboxJob) -> SandboxResult: ...

