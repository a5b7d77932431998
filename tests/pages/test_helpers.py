"""The pages' pure helpers: histogram bins, failure grouping, per-student rows, hand-in sources."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from types import SimpleNamespace

from submissions_api.grades import entries_of
from submissions_api.pages.base import ticks
from submissions_api.pages.svg import bins, histogram, rate_bars, rate_colour
from submissions_api.services.feedback import common_causes
from submissions_api.services.gradebook import student_rows
from submissions_api.services.rubric import handin_layout
from submissions_api.services.sources import read_sources as handin_sources
from submissions_api.store.summary import run_summary
from tests.reports import made_report

LAYOUT = handin_layout("hw1p1-s20")


def test_bins_round_edges_and_full_marks_in_last_bin():
    data = bins([0, 9.99, 10, 94, 95], top=95)
    assert [(lo, hi) for lo, hi, _ in data][:2] == [(0, 10), (10, 20)]
    assert data[-1][:2] == (90, 100)
    assert [c for _, _, c in data] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_histogram_counts_every_value_and_escapes_labels():
    svg = str(histogram([95, 95, 40], top=95, title="<x>"))
    assert 'data-total="3"' in svg and svg.count('data-count="2"') == 1
    assert "&lt;x&gt;" in svg
    assert "<script" not in str(rate_bars([("<script>", 0.25, "?fails=<x>")]))
    assert "?fails=&lt;x&gt;" in str(rate_bars([("t", 0.25, "?fails=<x>")]))
    assert "25%" in str(rate_bars([("t", 0.25, "?fails=t")]))


def test_rate_bars_colour_scales_with_the_rate_and_links_to_who_fails():
    """69 % and 100 % differ in colour (issue 28), and each bar links to its students."""
    svg = str(rate_bars([("a", 1.0, "?fails=a"), ("b", 0.69, "?fails=b"), ("c", 0.0, "?x")]))
    assert "hsl(120, " in svg and "hsl(57, " in svg and "hsl(0, " in svg
    assert svg.count("<a href=") == 3 and 'href="?fails=b"' in svg
    assert rate_colour(0.5) != rate_colour(0.7)


def test_common_causes_group_messages_that_differ_only_in_numbers_counted_by_students():
    """From the small summaries stored with each run (messages of failed tests only)."""
    def report(n):
        return made_report(tests=[{"id": "linear_layer_backward", "name": "Linear", "passed": False,
                           "feedback": "",
                           "checks": [{"name": "dW", "passed": False,
                                       "message": f"`dW` has shape ({n}, 784), "
                                                  f"expected (784, {n})"}]},
                          {"id": "mcq", "name": "MCQ", "passed": False, "status": "error",
                           "feedback": "Your code raised ZeroDivisionError\nTraceback",
                           "checks": []},
                          {"id": "linear_classifier_backward", "name": "Classifier",
                           "passed": False, "feedback": "", "checks": [
                               {"name": "dx", "passed": False, "message": "`dx` wrong"}]},
                          {"id": "momentum", "name": "Fine", "passed": True, "checks": []}])
    groups = common_causes("hw1p1-s20", [run_summary(report(n)) for n in (10, 64, 32)])
    assert [(g["fix_first_name"], g["students"], g["count"]) for g in groups] == [
        ("Linear Layer (Backward)", 3, 2), ("Multiple Choice Questions", 3, 1)]
    assert groups[0]["message"] == "`dW` has shape (10, 784), expected (784, 10)"
    assert groups[1]["message"] == "Your code raised ZeroDivisionError"
    # from a summary (no per-output checks) the test's own code is named for the TA
    assert groups[0]["look"] == "Look at `Linear.backward` in mytorch/linear.py."
    assert groups[0]["more"] == "1 more test builds on it and fails too: Linear Classifier " \
        "(backward)."


def test_student_rows_latest_best_count_and_late():
    t = [datetime(2026, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    alice = SimpleNamespace(login="alice", name="A")
    subs = [SimpleNamespace(id=1, received_at=t[0], status="graded", score=90.0, late_penalty=0.0,
                            late=False),
            SimpleNamespace(id=2, received_at=t[1], status="graded", score=80.0, late_penalty=0.5,
                            late=True),
            SimpleNamespace(id=3, received_at=t[2], status="queued", score=None, late_penalty=0.0,
                            late=False)]
    rows = student_rows(entries_of([(alice, s) for s in subs]
                                   + [(SimpleNamespace(login="bob", name="B"), None)]))
    a, b = rows
    assert (a["count"], a["best"], a["latest"], a["latest_id"], a["late"]) == (3, 90.0, None, 3,
                                                                               False)
    assert (b["login"], b["count"], b["best"]) == ("bob", 0, None)


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_handin_sources_lists_only_hw1_and_mytorch_python():
    """The grader's own reader (intake): one wrapper folder stripped, only the layout's folders,
    and an archive intake refuses (here for a `../` member) shows nothing, as it was graded."""
    data = _tar({"handin/hw1/hw1.py": b"x = 1\n",
                 "handin/mytorch/linear.py": b"class Linear: ...\n",
                 "handin/notes.py": b"", "handin/hw1/data.npy": b"\0",
                 "handin/mytorch/big.py": b"#" * 300_000})
    found = dict(handin_sources(data, LAYOUT))
    assert sorted(found) == ["hw1/hw1.py", "mytorch/big.py", "mytorch/linear.py"]
    assert found["hw1/hw1.py"] == "x = 1\n" and found["mytorch/big.py"].endswith("(truncated)")
    assert handin_sources(b"not a tar", LAYOUT) == []
    refused = _tar({"hw1/hw1.py": b"x = 1\n", "../mytorch/evil.py": b""})
    assert handin_sources(refused, LAYOUT) == []


def test_ticks_quotes_code_and_escapes_the_rest():

    assert str(ticks("`dW` has <b>shape</b>")) == "<code>dW</code> has &lt;b&gt;shape&lt;/b&gt;"
    assert str(ticks("`<script>`")) == "<code>&lt;script&gt;</code>"


def test_course_zone_reads_and_shows_times_across_daylight_saving():
    """Typed in New York, stored in UTC, shown in New York with the UTC beside (EDT in July,
    EST in December); an independent oracle: the offsets are -4 h and -5 h."""
    from submissions_api.pages.base import form_local, read_local, when
    from submissions_api.services.policy import course_time
    zone = "America/New_York"
    summer, winter = read_local("2026-07-01T23:59", zone), read_local("2026-12-07T23:59", zone)
    assert summer.astimezone(UTC) == datetime(2026, 7, 2, 3, 59, tzinfo=UTC)
    assert winter.astimezone(UTC) == datetime(2026, 12, 8, 4, 59, tzinfo=UTC)
    assert form_local(winter.astimezone(UTC).replace(tzinfo=None), zone) == "2026-12-07T23:59"
    assert read_local(" ", zone) is None and form_local(None, zone) == ""
    assert course_time(summer, zone) == "2026-07-01 23:59 EDT (2026-07-02 03:59 UTC)"
    assert course_time(winter) == "2026-12-08 04:59 UTC"
    shown = str(when(winter, zone))
    assert ">2026-12-07 23:59:00 EST</time>" in shown and "(2026-12-08 04:59 UTC)" in shown
    assert str(when(winter)).endswith(">2026-12-08 04:59:00 UTC</time>")
