"""Sandbox backends behind one interface (`base.Sandbox`), chosen by configuration."""

from __future__ import annotations

from grader.errors import InfrastructureError
from grader.sandbox.base import Limits, Sandbox, SandboxJob, SandboxResult, Verdict
from grader.settings import load_settings

__all__ = ["Limits", "Sandbox", "SandboxJob", "SandboxResult", "Verdict", "get_sandbox"]


def get_sandbox(name: str | None = None) -> Sandbox:
    """The configured backend (`MLPGRADE_SANDBOX`, default bwrap). `process` only when asked for."""
    name = name or load_settings().sandbox
    if name == "bwrap":
        from grader.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    if name == "docker":
        from grader.sandbox.docker import DockerSandbox

        return DockerSandbox()
    if name == "process":
        from grader.sandbox.process import ProcessSandbox

        return ProcessSandbox()
    raise InfrastructureError(f"unknown or unavailable sandbox backend {name!r}")
