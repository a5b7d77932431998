"""The service's settings: environment variables prefixed `MLPGRADE_`, read into one frozen object.

- MLPGRADE_HOME (see grader/settings.py): data folder (shared with the grader library)
- MLPGRADE_DATABASE_URL (sqlite:///$HOME/service.db): SQLAlchemy URL of the service database
- MLPGRADE_BROKER_URL (sqla+sqlite:///$HOME/broker.db): Celery broker URL
- MLPGRADE_QUEUE_PREFIX (unset): prefix of queue names (several courses, one Redis)
- MLPGRADE_LEASE_SECONDS (60): a worker's lease on a submission, renewed while grading
- MLPGRADE_REAPER_INTERVAL (10): seconds between two reaper passes (in each worker)
- MLPGRADE_REQUEUE_AFTER (120): a queued submission older than this, its queue empty, is re-sent
- MLPGRADE_INFRA_RETRIES (3): retries after an infrastructure error before `failed`
- MLPGRADE_RETRY_BACKOFF (10): first retry delay in seconds, doubled each retry
- MLPGRADE_GOLDEN_BUILD_SECONDS (900): longest wait for the golden set the service makes itself
- MLPGRADE_TASK_TIME_LIMIT (600): Celery hard time limit (above the sandbox's wall clock)
- MLPGRADE_VISIBILITY_TIMEOUT (900): Redis redelivery of unacknowledged tasks (> time limit)
- MLPGRADE_POLLING_INTERVAL (0.1): embedded (sqla) broker polling interval in seconds
- MLPGRADE_MAX_UPLOAD_BYTES (16 MiB): largest accepted handin.tar (`upload_max_bytes`)
- MLPGRADE_INSTRUCTOR_TOKEN (unset): a token the first instructor gets at start (production)
- MLPGRADE_PUBLIC_URL (http://HOST:PORT): URL printed and used in links
- MLPGRADE_SIMILARITY_SCOPE (latest): which graded submissions similarity detection compares,
  each student's `latest` or `every` one (never a student's with their own)
- MLPGRADE_TRUST_FORWARDED_PROTO (0): 1 behind a proxy that ends TLS: its X-Forwarded-Proto
  header, not the connection, says whether the sign-in cookie is `Secure`
- MLPGRADE_LOG_FORMAT (text): `text` or `json` log lines, each with its task's fields such as
  `submission_id` (submissions_api/logs.py)

Secrets have no defaults: API tokens are random and printed once (stored hashed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.intake import DEFAULT_MAX_BYTES
from grader.settings import load_settings as load_grader_settings
from submissions_api.logs import FORMATS as LOG_FORMATS


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    broker_url: str
    queue_prefix: str = ""
    lease_seconds: float = 60.0
    reaper_interval: float = 10.0
    requeue_after: float = 120.0
    infra_retries: int = 3
    retry_backoff: float = 10.0
    task_time_limit: float = 600.0
    visibility_timeout: float = 900.0
    polling_interval: float = 0.1
    golden_build_seconds: float = 900.0
    """A golden set the service makes for itself (generate, canary) is abandoned after this."""
    upload_max_bytes: int = DEFAULT_MAX_BYTES
    instructor_token: str | None = None
    public_url: str | None = None
    similarity_scope: str = "latest"
    """latest or every (docs/similarity.md)."""
    trust_forwarded_proto: bool = False
    """Behind a TLS-ending proxy: X-Forwarded-Proto says the scheme (else the connection does)."""
    log_format: str = "text"
    """text or json (submissions_api/logs.py)."""

    @property
    def live_queue(self) -> str:
        """Students' uploads: never waits behind a regrade."""
        return f"{self.queue_prefix}grading"

    @property
    def bulk_queue(self) -> str:
        """Regrades and golden-set jobs: low priority, served by their own workers."""
        return f"{self.queue_prefix}regrade"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read the settings from the environment (or the given mapping)."""
    env = os.environ if environ is None else environ
    home = load_grader_settings(dict(env)).home

    def num(name: str, default: float) -> float:
        return float(env.get(f"MLPGRADE_{name}") or default)

    return Settings(
        home=home,
        database_url=env.get("MLPGRADE_DATABASE_URL") or f"sqlite:///{home / 'service.db'}",
        broker_url=env.get("MLPGRADE_BROKER_URL") or f"sqla+sqlite:///{home / 'broker.db'}",
        queue_prefix=env.get("MLPGRADE_QUEUE_PREFIX", ""),
        lease_seconds=num("LEASE_SECONDS", 60),
        reaper_interval=num("REAPER_INTERVAL", 10),
        requeue_after=num("REQUEUE_AFTER", 120),
        infra_retries=int(num("INFRA_RETRIES", 3)),
        retry_backoff=num("RETRY_BACKOFF", 10),
        task_time_limit=num("TASK_TIME_LIMIT", 600),
        visibility_timeout=num("VISIBILITY_TIMEOUT", 900),
        polling_interval=num("POLLING_INTERVAL", 0.1),
        golden_build_seconds=num("GOLDEN_BUILD_SECONDS", 900),
        upload_max_bytes=int(num("MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES)),
        instructor_token=env.get("MLPGRADE_INSTRUCTOR_TOKEN") or None,
        public_url=env.get("MLPGRADE_PUBLIC_URL") or None,
        similarity_scope="every" if env.get("MLPGRADE_SIMILARITY_SCOPE") == "every"
        else "latest",
        trust_forwarded_proto=env.get("MLPGRADE_TRUST_FORWARDED_PROTO", "0") in ("1", "true"),
        log_format=_log_format(env.get("MLPGRADE_LOG_FORMAT") or "text"),
    )


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"MLPGRADE_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                         f"not {value!r}")
    return value
