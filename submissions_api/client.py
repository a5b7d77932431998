"""A small HTTP client for `mlpgrade submit`: upload, wait, print the feedback grouped by cause."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from grader.cli import ExitCode
from grader.formats import feedback_text
from grader.text import printable
from submissions_api.store.models_grading import Status

RETRY_DELAYS = (1, 2, 4, 8, 15)
"""Seconds before each new try of an upload whose answer was lost: an API that died after
committing it is restarted within them (about 30 s in all)."""


def upload(client: httpx.Client, url: str, path: Path) -> httpx.Response:
    """POST the file, again (with the same Idempotency-Key) when the answer was lost on the way:
    the server may have stored the first try, and answers the retry with that submission; a
    server that refuses connections after such a loss is restarting, so that is tried again
    too. A server that could not be reached at the first try got nothing: that is said at
    once, in one line."""
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    data = path.read_bytes()
    for tries, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            return client.post(url, headers=headers, files={
                "file": (path.name, data, "application/x-tar")})
        except httpx.TransportError as exc:
            if delay is None or (tries == 1 and isinstance(exc, httpx.ConnectError)):
                raise
            print(f"mlpgrade: the upload got no answer ({exc}); sending it again in {delay} s "
                  "(the server answers a repeat with the first submission)", file=sys.stderr)
            time.sleep(delay)
    raise AssertionError("unreachable")


def submit_and_wait(server: str, token: str, path: Path, *, assignment: str, wait: bool,
                    timeout: float, clock: Callable[[], float] = time.monotonic) -> int:
    """Upload `path`, then (with `wait`) poll until it is graded and print the feedback; the exit
    status: refused by the server USAGE, failed on our side INFRASTRUCTURE, still waiting after
    `timeout` seconds TIMEOUT."""
    base = server.rstrip("/") + "/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as client:
        reply = upload(client, f"{base}/assignments/{assignment}/submissions", path)
        if reply.status_code != 202:
            print(f"mlpgrade: the server refused the upload ({reply.status_code}): "
                  f"{_detail(reply)}", file=sys.stderr)
            return ExitCode.USAGE
        accepted = reply.json()
        place = accepted["queue_position"] or "unknown"
        print(f"submission {accepted['id']} received at {accepted['received_at']} "
              f"sha256 {accepted['sha256'][:12]}, queue position {place}"
              + (f", late (penalty {accepted['late_penalty']:.0%})" if accepted["late"] else ""),
              flush=True)
        if not wait:
            return ExitCode.OK
        deadline, sub = clock() + timeout, accepted
        while clock() < deadline:
            sub = client.get(f"{base}/submissions/{accepted['id']}").json()
            if sub["status"] in (Status.GRADED, Status.FAILED):
                return _print_result(sub)
            time.sleep(1.0)
    print(f"mlpgrade: still {sub['status']} after {timeout:g} s", file=sys.stderr)
    return ExitCode.TIMEOUT


def _detail(reply: httpx.Response) -> str:
    try:
        return printable(str(reply.json().get("detail")), 2000)
    except ValueError:
        return printable(reply.text, 200)


def _print_result(sub: dict) -> int:
    if sub["status"] == Status.FAILED:
        print("grading failed on our side (not your fault; it does not count toward your "
              "limit): please submit again later", file=sys.stderr)
        return ExitCode.INFRASTRUCTURE
    result = sub.get("result") or {}
    text = feedback_text(result, result.get("causes") or [])
    if text:  # grouped by cause, as the submission's page shows it; no terminal escapes
        print(printable(text) + "\n")
    print(f"{'TEST':<40}{'SCORE':>8}{'MAX':>6}")
    for test in result.get("tests", []):
        print(f"{printable(test['name']):<40}{test['points']:>8g}{test['max_points']:>6g}")
    print(printable(f"TOTAL {sub['score_text']}"))
    return ExitCode.OK
