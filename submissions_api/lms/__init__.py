"""The course's LMS, as the service core sees it (no FastAPI here: the pages and routes call in):
the tool's keys, LTI 1.3 launches and deep linking, the score outbox (AGS) and roster sync
(NRPS). docs/lms.md walks an instructor through it."""
