"""Sandbox backends behind one interface (`base.Sandbox`), chosen by configuration.

Host side only: the code that runs inside the sandbox lives elsewhere and never imports this.
Every backend is a `slot.SlotSandbox` over a small box (`bwrap`, `docker`, `process`): the slot
runs each job through the box's zygote, keeps the wall clock and the CPU budget and decides the
verdict (`base.classify`). `output` copies a job's output area under its caps; `linux/` and
`staging`/`mounts` are what bwrap is built of; `image` builds the docker box's image.
docs/sandbox.md describes them all.
"""

from __future__ import annotations

import os
from functools import cache

from grader.errors import InfrastructureError
from grader.sandbox.base import Limits, Sandbox, SandboxJob, SandboxResult, Verdict
from grader.settings import DEFAULT_DOCKER_IMAGE, GraderSettings

__all__ = ["BACKENDS", "Limits", "Sandbox", "SandboxJob", "SandboxResult", "Verdict", "get_sandbox",
           "student_sandbox"]

#: The backends `get_sandbox` knows (the command line offers them as choices).
BACKENDS = ("bwrap", "docker", "process")


def student_sandbox(settings: GraderSettings) -> Sandbox:
    """The configured backend for students' code (the service's workers): `process` isolates
    nothing, so it is refused unless the settings allow it (MLPGRADE_ALLOW_UNISOLATED=1: a test
    or a developer's machine). An InfrastructureError, so the job waits for a fixed
    configuration."""
    if settings.sandbox == "process" and not settings.allow_unisolated:
        raise InfrastructureError("MLPGRADE_SANDBOX=process does not isolate students' code: "
                                  "the service refuses it (use bwrap or docker; tests and "
                                  "developers may set MLPGRADE_ALLOW_UNISOLATED=1)")
    return get_sandbox(settings.sandbox, warm=settings.warm, docker_image=settings.docker_image)


def get_sandbox(name: str, *, warm: bool = True, docker_image: str = DEFAULT_DOCKER_IMAGE
                ) -> Sandbox:
    """The backend `name` (the caller's settings say which: `GraderSettings.sandbox`).
    `process` only when asked for. bwrap and docker keep one slot per process (a forked worker
    child makes its own), warm unless `warm` is false (MLPGRADE_WARM=0): then each slot serves
    one job. Nothing here reads the environment."""
    if name == "process":
        from grader.sandbox.process import process_sandbox

        return process_sandbox()
    if name not in BACKENDS:
        raise InfrastructureError(f"unknown or unavailable sandbox backend {name!r}")
    return _kept(os.getpid(), name, warm, docker_image)

@cache
def _kept(pid: int, name: str, warm: bool, image: str) -> Sandbox:
    """This process's sandbox of backend `name`. Each backend's module is imported only when
    chosen: docker's loads the Docker SDK (~0.15 s), bwrap's pyseccomp, and a process that
    never runs a job (the API) needs neither."""
    from grader.sandbox.slot import SlotSandbox

    if name == "bwrap":
        from grader.sandbox.bwrap import BwrapBox, find_bwrap

        return SlotSandbox(BwrapBox, warm=warm, bwrap=find_bwrap())
    from grader.sandbox.docker import DockerBox, Engine

    return SlotSandbox(DockerBox, warm=warm, engine=Engine(image))
