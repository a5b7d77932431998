"""The grader library's settings: environment variables prefixed `MLPGRADE_`, read once.

- MLPGRADE_HOME: data folder (runtimes, golden sets, service data); default /var/lib/mlpgrade
  as root, else ~/.local/share/mlpgrade.
- MLPGRADE_SANDBOX: sandbox backend, bwrap (default), docker or process.
- MLPGRADE_RUNTIME: the student runtime's python, overriding the one `runtime install` made.
- MLPGRADE_ASSIGNMENTS: more folders of assignment folders (os.pathsep-separated), besides
  grader/assignments; default none.
- MLPGRADE_WARM: 1 (default) keeps each process's bwrap or docker slot from job to job (docs/
  sandbox.md, "Slots"); 0 uses each slot for one hand-in.
- MLPGRADE_ALLOW_UNISOLATED: 1 lets the service grade students' code with the unisolated
  `process` backend (tests, a developer's machine); default 0.
- MLPGRADE_DOCKER_IMAGE: the grading image the docker backend runs jobs in (and
  `runtime image` builds); default mlpgrade-grading:latest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The assignments that come with the grader (`GraderSettings.assignments` adds more).
ASSIGNMENTS_DIR = Path(__file__).resolve().parent / "assignments"

#: The one name of the grading image (`mlpgrade runtime image`, the Dockerfile's `grading` stage
#: and docker-compose.yml all build and use it).
DEFAULT_DOCKER_IMAGE = "mlpgrade-grading:latest"


@dataclass(frozen=True)
class GraderSettings:
    """What the grader reads from the environment (the table above)."""

    home: Path
    sandbox: str
    runtime_python: Path | None
    docker_image: str = DEFAULT_DOCKER_IMAGE
    assignments: tuple[Path, ...] = ()
    """Folders holding assignment folders, besides grader/assignments."""
    warm: bool = True
    """bwrap and docker keep one warm slot per process (a zygote that has imported the runtime)."""
    allow_unisolated: bool = False
    """The explicit opt-in (tests, a developer's laptop) to grade students' code without
    isolation."""

    @property
    def assignment_roots(self) -> tuple[Path, ...]:
        """Folders holding assignment folders: the grader's own, then `assignments`."""
        return (ASSIGNMENTS_DIR, *self.assignments)

    @property
    def data_root(self) -> Path:
        """Where training data is prepared for the sandbox (grader.training.config)."""
        return self.home / "data"

    @property
    def golden_root(self) -> Path:
        return self.home / "golden"

    @property
    def runtimes_root(self) -> Path:
        return self.home / "runtimes"


def host_path() -> str:
    """The host's PATH, for our own helper processes started without the rest of the
    environment (grader/forkread.py)."""
    return os.environ.get("PATH", "/usr/bin:/bin")


def load_settings(environ: dict[str, str] | None = None) -> GraderSettings:
    env = os.environ if environ is None else environ
    # As root the sandbox's unprivileged uids must reach the runtime, which /root does not allow.
    default = Path("/var/lib/mlpgrade") if os.geteuid() == 0 else \
        Path.home() / ".local" / "share" / "mlpgrade"
    home = Path(env.get("MLPGRADE_HOME") or default)
    runtime = env.get("MLPGRADE_RUNTIME")
    return GraderSettings(
        home=home.expanduser().resolve(),
        sandbox=env.get("MLPGRADE_SANDBOX", "bwrap"),
        runtime_python=Path(runtime) if runtime else None,
        docker_image=env.get("MLPGRADE_DOCKER_IMAGE") or DEFAULT_DOCKER_IMAGE,
        assignments=tuple(Path(p).expanduser().resolve()
                          for p in env.get("MLPGRADE_ASSIGNMENTS", "").split(os.pathsep) if p),
        warm=env.get("MLPGRADE_WARM", "1") != "0",
        allow_unisolated=env.get("MLPGRADE_ALLOW_UNISOLATED") == "1",
    )
