"""The grading library: assignments, intake, sandboxed runner, comparison, scoring.

It knows no web, database or queue; `worker/` and `submissions_api/` build on it.
"""

__version__ = "0.1.0"
