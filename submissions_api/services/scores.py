"""The one presentation of a score, used by every page, the API and the exports.

A score has up to three parts: the automatic tests, the manual points a TA gives, and the late
penalty taken off the sum. Every place that shows a score shows all of them the same way:

    automatic 46/80 + manual 15/20 − 10 % late = 54.9/100
    automatic 46/80 + manual —/20 = 46/100 (manual points awaiting a TA)
    46/80                       (an assignment without manual items, on time)

so a student, a TA and the gradebook never disagree on what a number means.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from submissions_api.grades import final_score


def number(value: float | None) -> str:
    """Points as people write them: 46, 54.9 (no trailing zeros); None as a dash."""
    if value is None:
        return "—"
    return f"{round(value, 2):g}"


@dataclass(frozen=True)
class ScoreLine:
    """A score's parts and its one text (`text`); `total` is what counts (automatic plus manual,
    after the late penalty), out of `total_max` (automatic and manual maxima)."""

    automatic: float | None
    automatic_max: float
    manual: float | None
    manual_max: float
    late_penalty: float
    total: float | None
    total_max: float
    manual_pending: bool
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_line(*, score: float | None, max_score: float, manual_score: float | None = None,
               manual_max_score: float = 0.0, late_penalty: float = 0.0,
               manual_pending: bool = False) -> ScoreLine:
    """The presentation of one submission's score (`score`: the automatic tests', None when not
    graded yet). `manual_pending`: some manual item still waits for a TA."""
    total = final_score(score, late_penalty, manual_score)
    total_max = max_score + manual_max_score
    return ScoreLine(automatic=score, automatic_max=max_score, manual=manual_score,
                     manual_max=manual_max_score, late_penalty=late_penalty, total=total,
                     total_max=total_max, manual_pending=manual_pending,
                     text=_text(score, max_score, manual_score, manual_max_score, late_penalty,
                                total, manual_pending))


def _text(score: float | None, max_score: float, manual: float | None, manual_max: float,
          penalty: float, total: float | None, pending: bool) -> str:
    if score is None:
        return "not graded yet"
    total_text = f"{number(total)}/{number(max_score + manual_max)}"
    if not manual_max and not penalty:
        return total_text
    parts = [f"automatic {number(score)}/{number(max_score)}"]
    if manual_max:
        parts.append(f"+ manual {number(manual)}/{number(manual_max)}")
    if penalty:
        parts.append(f"− {number(penalty * 100)} % late")
    return " ".join(parts) + f" = {total_text}" + (" (manual points awaiting a TA)"
                                                    if pending else "")
