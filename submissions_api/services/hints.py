"""Hints written once for a failure cluster: a TA writes a hint for one of the dashboard's
clusters (the students who fail the same tests for the same cause, services/feedback.py), and
every student whose result falls in that cluster, now or later in the semester, sees it beside
the automatic feedback. Staff see how many students each hint reached. A hint file carries an
assignment's hints to the next semester (`mlpgrade hints export` / `import`).

Hints are text: control characters are removed when they are written (and read from a file),
and every page escapes them (Jinja's autoescape; never `|safe`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from submissions_api.errors import NotFound, Refused
from submissions_api.security import require_role
from submissions_api.services import feedback, fetch
from submissions_api.store.crud import hints as store
from submissions_api.store.models import Assignment, Role, User
from submissions_api.store.models_hints import ClusterHint

MAX_TEXT = 4000
"""Characters a hint keeps."""
MAX_FILE = 2_000_000
"""Bytes of a hint file read at most."""
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters (tab and newline stay) and the bidirectional overrides that make text
read otherwise than it is stored."""


def clean(text: str) -> str:
    """A hint as kept: newlines normalised, control characters removed, capped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL.sub("", text).strip()[:MAX_TEXT]


def write_hint(session: Session, user: User, slug: str, cluster: str, text: str,
               known: Mapping[str, Mapping[str, Any]]) -> ClusterHint | None:
    """Write (or with empty text remove) the hint of `cluster`, one of the class's clusters
    `known` (key → cluster, as services/dashboard gives them) or one that has a hint (TAs)."""
    assignment = fetch.assignment(session, slug)
    require_role(user, Role.TA)
    text = clean(text)
    if not text:
        store.delete_hint(session, assignment_id=assignment.id, cluster=cluster)
        session.commit()
        return None
    about = known.get(cluster)
    if about is None:
        old = store.hints_for(session, assignment_id=assignment.id, clusters=[cluster])
        if not old:
            raise NotFound(f"failure cluster {cluster!r} of {slug}")
        about = {"kind": old[0].kind, "fix_first": old[0].fix_first,
                 "signature": old[0].signature}
    hint = store.put_hint(session, assignment_id=assignment.id, cluster=cluster,
                          kind=about["kind"], fix_first=about["fix_first"],
                          signature=about["signature"], text=text, written_by_id=user.id)
    session.commit()
    return hint


def hint_rows(session: Session, assignment: Assignment) -> list[dict[str, Any]]:
    """Every hint of the assignment with how many students it reached (for staff)."""
    hints = store.list_hints(session, assignment_id=assignment.id)
    reached = store.reach_counts(session, hint_ids=[h.id for h in hints])
    names = feedback.test_names(assignment.slug)
    return [{"cluster": h.cluster, "text": h.text, "kind": h.kind, "signature": h.signature,
             "test": names.get(h.fix_first, h.fix_first), "updated_at": h.updated_at,
             "reached": reached.get(h.id, 0)} for h in hints]


def hints_for_run(session: Session, assignment: Assignment, summary: Mapping[str, Any] | None,
                  student: User | None) -> list[dict[str, Any]]:
    """The hints of the clusters a run's summary falls in, as a student sees them: the text and
    the test to fix first. With `student` (its owner viewing it), they count as having reached
    them."""
    if not summary:
        return []
    keys = [c["key"] for c in feedback.clusters(assignment.slug, summary)]
    hints = store.hints_for(session, assignment_id=assignment.id, clusters=keys)
    if student is not None and hints:
        store.note_reach(session, hint_ids=[h.id for h in hints], user_id=student.id)
        session.commit()
    names = feedback.test_names(assignment.slug)
    return [{"text": h.text, "test": names.get(h.fix_first, h.fix_first)} for h in hints]


def export_hints(session: Session, slug: str) -> str:
    """The assignment's hints as a file for the next semester (JSON: each hint's cluster as its
    kind, fix-first test and signature, and its text)."""
    assignment = fetch.assignment(session, slug)
    hints = store.list_hints(session, assignment_id=assignment.id)
    return json.dumps({"assignment": slug, "hints": [
        {"kind": h.kind, "fix_first": h.fix_first, "signature": h.signature, "text": h.text}
        for h in hints]}, indent=1, ensure_ascii=False) + "\n"


def import_hints(session: Session, slug: str, data: bytes) -> int:
    """Write the hints of an exported file into the assignment (a cluster's hint already there
    takes the file's text). The number written."""
    assignment = fetch.assignment(session, slug)
    if len(data) > MAX_FILE:
        raise Refused(f"a hint file is at most {MAX_FILE} bytes, this one is {len(data)}",
                      status=413)
    try:
        entries = json.loads(data.decode("utf-8"))["hints"]
        parsed = [(str(e["kind"])[:20], str(e["fix_first"])[:200], str(e["signature"]),
                   clean(str(e["text"]))) for e in entries]
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(f"not a hint file (mlpgrade hints export writes one): {exc}",
                      status=400) from exc
    written = 0
    for kind, fix_first, signature, text in parsed:
        if text:
            store.put_hint(session, assignment_id=assignment.id,
                           cluster=feedback.cluster_key(kind, fix_first, signature), kind=kind,
                           fix_first=fix_first, signature=signature, text=text,
                           written_by_id=None)
            written += 1
    session.commit()
    return written
