"""Sandbox backends behind one interface (`base.Sandbox`), chosen by configuration.

Host side only: the code that runs inside the sandbox lives elsewhere and never imports this.
`base` holds what every backend shares (the child environment, rlimits, `classify`); `output`
reads a run's output under its cap; `linux/` and `staging`/`mounts` are what bwrap is built of;
`image` builds the docker backend's image. docs/sandbox.md describes them all.
"""

from __future__ import annotations

import os
from functools import cache

from grader.errors import InfrastructureError
from grader.sandbox.base import Limits, Sandbox, SandboxJob, SandboxResult, Verdict
from grader.settings import load_settings

__all__ = ["BACKENDS", "Limits", "Sandbox", "SandboxJob", "SandboxResult", "Verdict", "get_sandbox",
           "student_sandbox"]

#: The backends `get_sandbox` knows (the command line offers them as choices).
BACKENDS = ("bwrap", "docker", "process")
#: The explicit opt-in (tests, a developer's laptop) to grade students' code without isolation.
ALLOW_UNISOLATED = "MLPGRADE_ALLOW_UNISOLATED"


def student_sandbox() -> Sandbox:
    """The configured backend for students' code (the service's workers): `process` isolates
    nothing, so it is refused unless MLPGRADE_ALLOW_UNISOLATED=1 says this is a test or a
    developer's machine. An InfrastructureError, so the job waits for a fixed configuration."""
    name = load_settings().sandbox
    if name == "process" and os.environ.get(ALLOW_UNISOLATED) != "1":
        raise InfrastructureError("MLPGRADE_SANDBOX=process does not isolate students' code: "
                                  "the service refuses it (use bwrap or docker; tests and "
                                  f"developers may set {ALLOW_UNISOLATED}=1)")
    return get_sandbox(name)


def get_sandbox(name: str | None = None) -> Sandbox:
    """The configured backend (`MLPGRADE_SANDBOX`, default bwrap). `process` only when asked for."""
    settings = load_settings()
    name = name or settings.sandbox
    # Each backend's module is imported only when chosen: docker's loads the Docker SDK
    # (~0.15 s), bwrap's pyseccomp, and a process that never runs a job (the API) needs neither.
    if name == "bwrap":
        if settings.warm:
            return _warm_sandbox(os.getpid())
        from grader.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    if name == "docker":
        if settings.warm:
            return _warm_docker(os.getpid(), settings.docker_image)
        from grader.sandbox.docker import DockerSandbox

        return DockerSandbox(settings.docker_image)
    if name == "process":
        from grader.sandbox.process import ProcessSandbox

        return ProcessSandbox()
    raise InfrastructureError(f"unknown or unavailable sandbox backend {name!r}")


@cache
def _warm_sandbox(pid: int) -> Sandbox:
    """This process's warm bwrap sandbox (a forked worker child makes its own): as root with
    cgroups, one warm slot kept across jobs; otherwise a fresh box per job."""
    from grader.sandbox.bwrap import BwrapSandbox
    from grader.sandbox.linux.cgroup import cgroups_usable

    if os.geteuid() != 0 or not cgroups_usable():
        return BwrapSandbox()
    from grader.sandbox.bwrap import WarmBwrapSandbox

    return WarmBwrapSandbox()


@cache
def _warm_docker(pid: int, image: str) -> Sandbox:
    """This process's warm docker sandbox (a forked worker child makes its own)."""
    from grader.sandbox.docker import WarmDockerSandbox

    return WarmDockerSandbox(image)
