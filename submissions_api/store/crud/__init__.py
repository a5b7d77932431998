"""The service's reads and writes, as keyword-only functions taking a Session, one module per
concept. Callers write `from submissions_api.store import crud` and `crud.x(session, ...)`.

State changes (of a submission, a grading or training run, a regrade, a golden set) are not here:
they are the compare-and-set functions of `submissions_api.store.lifecycle`.

A committed write to a table that class-wide views read (submissions, runs, manual points,
extensions, assignments, users) moves the class revision by itself: `store/revision.py`'s session
events bump it in the write's transaction, so no function here calls it.
"""

from submissions_api.store.crud.assignments import (
    RubricRow,
    delete_extension,
    get_assignment,
    get_assignment_by_id,
    get_extension,
    list_assignments,
    list_extensions,
    set_extension,
    sync_assignments,
    update_assignment,
)
from submissions_api.store.crud.blobs import get_blob, put_blob
from submissions_api.store.crud.clock import db_now
from submissions_api.store.crud.golden_sets import (
    create_golden_set,
    get_golden_set,
    list_golden_sets,
    update_golden_set,
)
from submissions_api.store.crud.gradebook import (
    StudentRow,
    SubmissionRow,
    current_summaries,
    gradebook_rows,
    logins_of,
    status_counts,
)
from submissions_api.store.crud.health import RunTimes, Waiting, run_times, waiting
from submissions_api.store.crud.hosts import AUTO_REGRADE, failed_ours, report_host, sick_hosts
from submissions_api.store.crud.manual import (
    delete_comment,
    manual_by_login,
    manual_grades,
    save_comment,
    saved_comments,
    set_manual_grade,
)
from submissions_api.store.crud.regrades import get_regrade, regrade_candidates, regrade_items
from submissions_api.store.crud.rubric import (
    annotations,
    applied,
    applied_points,
    grades_with,
    item_counts,
    regrade_requests,
    rubric_items,
    set_applied,
    waiting_requests,
)
from submissions_api.store.crud.runs import (
    get_run,
    list_runs,
    pending_training,
    recent_grading_seconds,
    recent_live_runs,
)
from submissions_api.store.crud.sign_in_links import (
    add_link,
    latest_links,
    link_by_hash,
    links_since,
    links_with_status,
    never_signed_in,
    use_link,
    users_by_address,
)
from submissions_api.store.crud.submissions import (
    counted_submissions,
    create_submission,
    expired_leases,
    get_submission,
    list_submissions,
    live_work,
    previous_submission,
    queue_position,
    queue_positions,
    running_since,
    same_upload,
    stale_queued,
    submission_number,
)
from submissions_api.store.crud.users import (
    add_token,
    create_user,
    get_user_by_login,
    list_tokens,
    list_users,
    live_token_counts,
    lock_user,
    revoke_tokens,
    user_for_token_hash,
)

__all__ = [
    "AUTO_REGRADE", "failed_ours", "report_host", "sick_hosts",
    "same_upload",
    "delete_comment", "list_tokens", "live_token_counts", "previous_submission", "revoke_tokens",
    "save_comment", "saved_comments",
    "RubricRow", "StudentRow", "SubmissionRow", "add_token", "counted_submissions", "running_since",
    "submission_number",
    "create_golden_set", "create_submission", "create_user", "current_summaries", "db_now",
    "delete_extension", "expired_leases", "get_assignment", "get_assignment_by_id", "get_blob",
    "get_extension", "get_golden_set", "get_regrade", "get_run", "get_submission",
    "get_user_by_login", "gradebook_rows", "list_assignments", "logins_of", "list_extensions",
    "list_golden_sets", "list_runs", "list_submissions", "live_work", "list_users", "lock_user",
    "manual_grades", "manual_by_login", "pending_training", "put_blob", "queue_position",
    "queue_positions", "recent_grading_seconds", "recent_live_runs", "regrade_candidates",
    "regrade_items",
    "set_extension", "set_manual_grade", "stale_queued", "status_counts", "sync_assignments",
    "update_assignment", "update_golden_set", "user_for_token_hash",
    "RunTimes", "Waiting", "run_times", "waiting",
    "add_link", "latest_links", "link_by_hash", "links_since", "links_with_status",
    "never_signed_in", "use_link", "users_by_address",
    "annotations", "applied", "applied_points", "grades_with", "item_counts",
    "regrade_requests", "rubric_items", "set_applied", "waiting_requests",
]
