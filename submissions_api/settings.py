"""The service's settings: environment variables prefixed `MLPGRADE_`, read into one frozen object.

| variable                         | meaning                                          | default                         |
| -------------------------------- | ------------------------------------------------ | ------------------------------- |
| MLPGRADE_HOME                    | data folder (shared with the grader library)     | see grader/settings.py          |
| MLPGRADE_DATABASE_URL            | SQLAlchemy URL of the service database           | sqlite:///$HOME/service.db      |
| MLPGRADE_BROKER_URL              | Celery broker URL                                | sqla+sqlite:///$HOME/broker.db  |
| MLPGRADE_QUEUE_PREFIX            | prefix of queue names (several courses, one Redis) | (none)                        |
| MLPGRADE_LEASE_SECONDS           | a worker's lease on a submission, renewed while grading | 60                       |
| MLPGRADE_REAPER_INTERVAL         | seconds between two reaper passes (in each worker) | 10                            |
| MLPGRADE_REQUEUE_AFTER           | a queued submission older than this with an empty queue is re-sent | 120          |
| MLPGRADE_INFRA_RETRIES           | retries after an infrastructure error before `failed` | 3                          |
| MLPGRADE_RETRY_BACKOFF           | first retry delay in seconds, doubled each retry | 10                              |
| MLPGRADE_TASK_TIME_LIMIT         | Celery hard time limit (above the sandbox's wall clock) | 600                      |
| MLPGRADE_VISIBILITY_TIMEOUT      | Redis redelivery of unacknowledged tasks (> time limit) | 900                      |
| MLPGRADE_POLLING_INTERVAL        | embedded (sqla) broker polling interval in seconds | 0.1                           |
| MLPGRADE_MAX_UPLOAD_BYTES        | largest accepted handin.tar                      | 16 MiB                          |
| MLPGRADE_INSTRUCTOR_TOKEN        | if set, a token the first instructor gets at start (production bootstrap) | (none) |
| MLPGRADE_PUBLIC_URL              | URL printed and used in links                    | http://HOST:PORT                |

Secrets have no defaults: API tokens are random and printed once (stored hashed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from grader.settings import load_settings as load_grader_settings


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
    max_upload_bytes: int = 16 * 1024 * 1024
    instructor_token: str | None = None
    public_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def live_queue(self) -> str:
        """Students' uploads: never waits behind a regrade."""
        return f"{self.queue_prefix}grading"

    @property
    def bulk_queue(self) -> str:
        """Regrades and golden-set jobs: low priority, served by their own workers."""
        return f"{self.queue_prefix}regrade"

    @property
    def is_embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


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
        max_upload_bytes=int(num("MAX_UPLOAD_BYTES", 16 * 1024 * 1024)),
        instructor_token=env.get("MLPGRADE_INSTRUCTOR_TOKEN") or None,
        public_url=env.get("MLPGRADE_PUBLIC_URL") or None,
    )
