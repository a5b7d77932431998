"""The service layer: plain functions (no FastAPI) that the JSON routes and the HTML pages call.

Each function takes a Session (and the dispatcher when it sends jobs), does fetch → 404 → 403 →
act, commits when it changed something, and raises `submissions_api.errors` (mapped to HTTP once
in main.py). One module per concept:

- `fetch`        the rows a request names, or NotFound
- `rubric`       the one adapter to the grader's rubric (the hand-in's layout)
- `policy`       deadlines, late penalties, submission limits (pure)
- `reports`      what each role sees of a stored report; regrade diffs; common failures
- `submissions`  accept an upload, a submission's view for a role, lists, runs, plots
- `manual`       a TA's points for manual rubric items
- `gradebook`    gradebook table, class statistics (which submission counts, its final score
                 and the maxima are submissions_api/grades.py: the worker's LMS passback too)
- `regrades`     regrades on the bulk queue and their progress
- `golden`       golden sets: upload (inspect), regenerate, activate
- `assignments`  an assignment's settings and extensions
- `users`        users and tokens
- `passback`     what staff see and do of the LMS grade passback and roster sync
"""
