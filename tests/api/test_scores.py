"""The one score presentation (services/scores.py): every page, the API and the CLI show it."""

from __future__ import annotations

from submissions_api.services.scores import score_line


def test_score_line_without_manual_items_or_penalty_is_the_fraction():
    assert score_line(score=46.0, max_score=80.0).text == "46/80"


def test_score_line_names_every_part_and_the_total():
    line = score_line(score=46.0, max_score=80.0, manual_score=15.0, manual_max_score=20.0,
                      late_penalty=0.1)
    assert line.text == "automatic 46/80 + manual 15/20 − 10 % late = 54.9/100"
    assert (line.total, line.total_max) == (54.9, 100.0)


def test_score_line_says_manual_points_are_awaited():
    line = score_line(score=95.0, max_score=95.0, manual_max_score=5.0, manual_pending=True)
    assert line.text == "automatic 95/95 + manual —/5 = 95/100 (manual points awaiting a TA)"


def test_score_line_late_without_manual_items():
    assert score_line(score=95.0, max_score=95.0, late_penalty=0.25).text == \
        "automatic 95/95 − 25 % late = 71.25/95"


def test_score_line_not_graded():
    line = score_line(score=None, max_score=95.0, manual_max_score=5.0)
    assert (line.text, line.total) == ("not graded yet", None)
