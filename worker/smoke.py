"""The sandbox part of a host's self-check (worker/health.py): one trivial job of ours, run
through the very backend the worker grades with (`ctx.sandbox_factory()`, only its public
`Sandbox.run`), with a short wall limit. A backend that cannot start or finish it (bwrap refusing
a TMPDIR its uid cannot reach, no bwrap on PATH, the docker engine gone, a zygote that will not
start) makes the host sick with the reason "sandbox: ...".

The job is ours and independent of any hand-in: its script prints a token and writes it to its
output folder, nothing more, so a hand-in that makes its own grading fail (every limit hit, a
crash) cannot make it fail. Its script differs each time, so a warm backend starts a fresh box
for it (a start is what breaks). It costs about that start (measured on a busy 2-core machine:
~1 s a new slot, whose zygote imports the runtime before its first job), and
runs only after one of our failures and, while the host is sick, at each re-check."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from grader.rubric import DEFAULT_ASSIGNMENT
from grader.runtime import runtime_python
from grader.sandbox import Limits, Sandbox, SandboxJob, Verdict
from submissions_api.store import rubrics

log = logging.getLogger(__name__)

TOKEN = "mlpgrade-smoke-ok"
SCRIPT = f"""# {{nonce}}: a script of its own each time, so a warm backend starts a fresh box for it
import sys
out = sys.argv[sys.argv.index("--out") + 1]
with open(out + "/smoke.txt", "w") as f:
    f.write("{TOKEN}")
print("{TOKEN}")
"""
#: Enough for an interpreter's start and nothing more; a wall limit short enough that a hung
#: backend is noticed well before a grading would be.
LIMITS = Limits(wall_seconds=20.0, cpu_seconds=10, memory_mb=512, processes=16,
                output_bytes=64_000, disk_mb=8)


def sandbox_check(sandbox_factory: Callable[[], Sandbox]) -> str:
    """Why the grading sandbox cannot run a trivial job of ours ("sandbox: ..."), or ""."""
    start = time.monotonic()
    try:
        scratch = Path(tempfile.mkdtemp(prefix="mlpgrade-smoke-"))
    except OSError as exc:
        return f"sandbox: cannot make its scratch folder: {exc.strerror or exc}"
    try:
        reason = _run(sandbox_factory, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("sandbox smoke run: %s in %.2f s", reason or "ok", time.monotonic() - start)
    return reason


def _job(scratch: Path) -> SandboxJob:
    code, handin, out = (scratch / name for name in ("code", "handin", "out"))
    for folder in (code, handin, out):
        folder.mkdir()
        folder.chmod(0o755)
    scratch.chmod(0o755)  # a slot's uid must reach what it reads
    (code / "smoke.py").write_text(SCRIPT.format(nonce=uuid.uuid4().hex))
    (code / "smoke.py").chmod(0o644)
    out.chmod(0o777)
    return SandboxJob(handin_dir=handin, output_dir=out, limits=LIMITS, code_dir=code,
                      entry="smoke.py",
                      runtime_python=runtime_python(rubrics.assignment(DEFAULT_ASSIGNMENT).packages,
                                                    rubrics.grader_settings()))


def _run(sandbox_factory: Callable[[], Sandbox], scratch: Path) -> str:
    try:
        job = _job(scratch)
        result = sandbox_factory().run(job)
    except Exception as exc:  # noqa: BLE001 - the backend could not run our job: the reason
        return f"sandbox: {type(exc).__name__}: {exc}"[:2000]  # logged by worker/health.py
    if result.verdict != Verdict.COMPLETED or result.exit_code != 0:
        said = (result.stderr or result.stdout).decode(errors="replace").strip()[-500:]
        return (f"sandbox: a trivial job ended {result.verdict} (exit {result.exit_code}) "
                f"on {result.backend}: {said}")
    written = job.output_dir / "smoke.txt"
    if TOKEN.encode() not in result.stdout or not written.exists() \
            or written.read_text() != TOKEN:
        return f"sandbox: a trivial job on {result.backend} did not give back its output"
    return ""
