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
- MLPGRADE_GOLDEN_BUILD_SECONDS (900): how long `serve` reports the making of first golden sets
- MLPGRADE_TASK_TIME_LIMIT (600): Celery hard time limit (above the sandbox's wall clock)
- MLPGRADE_VISIBILITY_TIMEOUT (900): Redis redelivery of unacknowledged tasks (> time limit)
- MLPGRADE_POLLING_INTERVAL (0.1): embedded (sqla) broker polling interval in seconds
- MLPGRADE_MAX_UPLOAD_BYTES (16 MiB): largest accepted handin.tar (`upload_max_bytes`)
- MLPGRADE_DUPLICATE_WINDOW (60): the same student's same bytes to the same assignment within
  this many seconds is the same upload (a client's retry): the first submission is answered
  (0: only the Idempotency-Key header says so)
- MLPGRADE_SELF_CHECK_INTERVAL (10): seconds between a sick worker host's self-checks
- MLPGRADE_INSTRUCTOR_TOKEN (unset): a token the first instructor gets at start (production)
- MLPGRADE_PUBLIC_URL (http://HOST:PORT): URL printed and used in links
- MLPGRADE_SIMILARITY_SCOPE (latest): which graded submissions similarity detection compares,
  each student's `latest` or `every` one (never a student's with their own)
- MLPGRADE_TRUST_FORWARDED_PROTO (0): 1 behind a proxy that ends TLS: its X-Forwarded-Proto
  header, not the connection, says whether the sign-in cookie is `Secure`
- MLPGRADE_LOG_FORMAT (text): `text` or `json` log lines, each with its task's fields such as
  `submission_id` (submissions_api/logs.py)

E-mailed sign-in links (students of a course without an LMS; submissions_api/sign_in_links.py).
Mail is off until MLPGRADE_SMTP_HOST is set; links also need MLPGRADE_PUBLIC_URL (never the
request's Host header, which a visitor chooses):
- MLPGRADE_SMTP_HOST (unset: no mail): the mail server students' invitations go through
- MLPGRADE_SMTP_PORT (465 with SSL, 587 with STARTTLS, else 25)
- MLPGRADE_SMTP_USER, MLPGRADE_SMTP_PASSWORD (unset: no login): the server's account
- MLPGRADE_SMTP_FROM (needed with a host): the From address, e.g. `11-785 <tas@example.edu>`
- MLPGRADE_SMTP_STARTTLS (0) / MLPGRADE_SMTP_SSL (0): 1 to upgrade the connection with
  STARTTLS, or to speak TLS from the start (port 465); not both
- MLPGRADE_COURSE_NAME (mlpgrade): the course as the e-mail names it
- MLPGRADE_TIMEZONE (UTC): the course's time zone (IANA name): deadlines typed and shown in it
- MLPGRADE_SIGN_IN_LINK_DAYS (7): a link expires this many days after it is sent
- MLPGRADE_SIGN_IN_LINKS_PER_HOUR (5): links one user (or one address) may be sent in an hour
- MLPGRADE_MAIL_PER_HOUR (500): e-mails the service sends in an hour, all users together

Secrets have no defaults: API tokens are random and printed once (stored hashed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.intake import DEFAULT_MAX_BYTES
from grader.settings import load_settings as load_grader_settings
from submissions_api.logs import FORMATS as LOG_FORMATS


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes out (MLPGRADE_SMTP_*); the password is never printed."""

    host: str
    port: int
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    ssl: bool = False


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
    """How long `serve` prints the making of first golden sets (their maker holds a lease)."""
    upload_max_bytes: int = DEFAULT_MAX_BYTES
    duplicate_window: float = 60.0
    self_check_interval: float = 10.0
    instructor_token: str | None = None
    public_url: str | None = None
    similarity_scope: str = "latest"
    """latest or every (docs/similarity.md)."""
    trust_forwarded_proto: bool = False
    """Behind a TLS-ending proxy: X-Forwarded-Proto says the scheme (else the connection does)."""
    log_format: str = "text"
    """text or json (submissions_api/logs.py)."""
    smtp: SmtpSettings | None = None
    """None: no mail (sign-in links can only be printed by `mlpgrade users invite --print`)."""
    course_name: str = "mlpgrade"
    timezone: str = "UTC"
    """The course's time zone (MLPGRADE_TIMEZONE, an IANA name such as America/New_York):
    deadlines are typed and shown in it, with the UTC beside."""
    sign_in_link_days: float = 7.0
    sign_in_links_per_hour: int = 5
    mail_per_hour: int = 500

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
        duplicate_window=num("DUPLICATE_WINDOW", 60),
        self_check_interval=num("SELF_CHECK_INTERVAL", 10),
        instructor_token=env.get("MLPGRADE_INSTRUCTOR_TOKEN") or None,
        public_url=env.get("MLPGRADE_PUBLIC_URL") or None,
        similarity_scope="every" if env.get("MLPGRADE_SIMILARITY_SCOPE") == "every"
        else "latest",
        trust_forwarded_proto=env.get("MLPGRADE_TRUST_FORWARDED_PROTO", "0") in ("1", "true"),
        log_format=_log_format(env.get("MLPGRADE_LOG_FORMAT") or "text"),
        smtp=_smtp(env),
        course_name=env.get("MLPGRADE_COURSE_NAME") or "mlpgrade",
        sign_in_link_days=num("SIGN_IN_LINK_DAYS", 7),
        sign_in_links_per_hour=int(num("SIGN_IN_LINKS_PER_HOUR", 5)),
        mail_per_hour=int(num("MAIL_PER_HOUR", 500)),
        timezone=_timezone(env.get("MLPGRADE_TIMEZONE") or "UTC"),
    )


def _timezone(name: str) -> str:
    """An IANA zone name the pages can use, or an error at start that says what to set."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"MLPGRADE_TIMEZONE={name!r} is not a time zone: use an IANA name "
                         "such as America/New_York or Europe/Berlin (or UTC)") from None
    return name


def _smtp(env) -> SmtpSettings | None:
    """MLPGRADE_SMTP_*, or None when no host is set; a half-made setting is an error at start,
    not a failure at the first invitation."""
    host = env.get("MLPGRADE_SMTP_HOST", "").strip()
    if not host:
        return None
    flag = {name: env.get(f"MLPGRADE_SMTP_{name}", "0") in ("1", "true")
            for name in ("STARTTLS", "SSL")}
    if flag["STARTTLS"] and flag["SSL"]:
        raise ValueError("set MLPGRADE_SMTP_STARTTLS or MLPGRADE_SMTP_SSL, not both (SSL is "
                         "TLS from the start, usually port 465; STARTTLS upgrades, port 587)")
    sender = env.get("MLPGRADE_SMTP_FROM", "").strip()
    if not sender:
        raise ValueError("MLPGRADE_SMTP_HOST is set but MLPGRADE_SMTP_FROM is not: set the "
                         "address invitations come from, e.g. 'Course staff <tas@example.edu>'")
    port = env.get("MLPGRADE_SMTP_PORT") or (465 if flag["SSL"] else
                                              587 if flag["STARTTLS"] else 25)
    return SmtpSettings(host=host, port=int(port), sender=sender,
                        user=env.get("MLPGRADE_SMTP_USER", ""),
                        password=env.get("MLPGRADE_SMTP_PASSWORD", ""),
                        starttls=flag["STARTTLS"], ssl=flag["SSL"])


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"MLPGRADE_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                         f"not {value!r}")
    return value
