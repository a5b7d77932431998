"""Fingerprinting a hand-in's text outside the calling process, under limits.

A hand-in's Python files are hostile input to `ast.parse`: 100,000 unary minus signs exhaust the
parser's memory, 3,000 nested `lambda:` its recursion; caught or not, such a file once took down
the class run (the error crossed a process pool) and a Celery pool's result thread. So every
hand-in is fingerprinted in a fresh forked child of the warm reader server (`grader.forkread`)
under a CPU, address-space and wall-clock limit. Inside, a file whose parse raises is read
statement by statement, and what still does not parse by its raw tokens (`tokens`, `salvage`).
When the child is killed instead (a limit, a crash), each file is tried alone in a child of its
own; the files that kill one are compared by their tokens, and the hand-in is fingerprinted once
more without parsing them; if even their tokens cost more than the limits (megabytes of padding),
the rest of the hand-in is compared without them. Whatever happens, the hand-in gets a print, and
`HandinPrint.problems` says which of its files were compared by their tokens, or not at all, and
why; no other hand-in is affected.
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

from grader import forkread
from grader.errors import InfrastructureError
from grader.similarity.fingerprint import HandinPrint, Settings, fingerprint

CPU_SECONDS, WALL_SECONDS, MEMORY_BYTES = 5, 15, 1024**3
"""A course hand-in takes 0.2 s; a 4 MB file of real code about 10."""
LIMITS = (CPU_SECONDS, MEMORY_BYTES, WALL_SECONDS)
HANDLER = "grader.similarity.isolated:answer"
ANSWER_BYTES = 64 * 1024**2
"""Past the fingerprint cap (`fingerprint.MAX_PRINTS`) an answer holds at most this."""
_KILLED = "fingerprinting it was stopped by a limit (time or memory)"


def answer(request: bytes) -> bytes:
    """The forked child's handler: {sources, settings, tokens_only} → a print's JSON."""
    spec = json.loads(request)
    settings = Settings(**spec["settings"])
    handin = fingerprint(spec["sources"], settings, frozenset(spec["tokens_only"]))
    return json.dumps(handin.to_dict()).encode()


def _call(sources: dict[str, str], settings: Settings, tokens_only: frozenset[str]
          ) -> HandinPrint | None:
    """The print made in a child, or None when the child died without answering."""
    request = json.dumps({"sources": sources, "settings": dataclasses.asdict(settings),
                          "tokens_only": sorted(tokens_only)}).encode()
    reply = forkread.call(HANDLER, request, limits=LIMITS, cap=ANSWER_BYTES)
    if not reply:
        return None
    try:
        return HandinPrint.from_dict(json.loads(reply))
    except (ValueError, KeyError, TypeError) as exc:
        raise InfrastructureError(f"the similarity reader answered garbage: {exc}") from exc


def fingerprint_handin(sources: dict[str, str], settings: Settings = Settings()
                       ) -> HandinPrint:
    """The fingerprints of a hand-in's text (path → text; its `.py` files count), made in a
    forked child under limits; never raises for what the text holds."""
    files = {path: text for path, text in sources.items() if path.endswith(".py")}
    found = _call(files, settings, frozenset())
    if found is not None:
        return found
    killers = frozenset(path for path, text in files.items()
                        if _call({path: text}, settings, frozenset()) is None)
    found = _call(files, settings, killers)  # the killers by their tokens
    if found is not None:
        return found
    # even their tokens cost more than the limits: the rest is compared, the staff told why
    rest = {path: text for path, text in files.items() if path not in killers}
    found = _call(rest, settings, frozenset()) or _call(rest, settings, frozenset(rest))
    if found is None:
        return HandinPrint(units=[], problems={"*": _KILLED})
    found.problems.update({path: _KILLED + ": not compared" for path in killers})
    return found


def fingerprint_many(handins: dict[str, dict[str, str]], settings: Settings = Settings(),
                     jobs: int = 1) -> dict[str, HandinPrint]:
    """key → fingerprints of every hand-in (key → sources), `jobs` children at a time (threads
    here wait for them: the work is in the children)."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = pool.map(lambda sources: fingerprint_handin(sources, settings), handins.values())
        return dict(zip(handins, done, strict=True))
