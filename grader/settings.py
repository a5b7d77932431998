"""The grader library's settings: environment variables prefixed `MLPGRADE_`, read once.

- MLPGRADE_HOME: data folder (runtimes, golden sets, service data); default /var/lib/mlpgrade
  as root, else ~/.local/share/mlpgrade.
- MLPGRADE_SANDBOX: sandbox backend, bwrap (default), docker or process.
- MLPGRADE_RUNTIME: the student runtime's python, overriding the one `runtime install` made.
- MLPGRADE_ASSIGNMENTS: more folders of assignment folders (os.pathsep-separated), besides
  grader/assignments; default none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GraderSettings:
    """What the grader reads from the environment (the table above)."""

    home: Path
    sandbox: str
    runtime_python: Path | None
    assignments: tuple[Path, ...] = ()
    """Folders holding assignment folders, besides grader/assignments."""

    @property
    def golden_root(self) -> Path:
        return self.home / "golden"

    @property
    def runtimes_root(self) -> Path:
        return self.home / "runtimes"


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
        assignments=tuple(Path(p).expanduser().resolve()
                          for p in env.get("MLPGRADE_ASSIGNMENTS", "").split(os.pathsep) if p),
    )
