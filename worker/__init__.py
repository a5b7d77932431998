"""Celery workers: thin tasks (tasks.py) around plain functions (grading, golden, reaper)."""
