"""The grading service: students upload hand-ins, workers grade them, results are stored and served.

`main.create_app` builds the FastAPI app; `crud` holds every SQL statement; `models` the tables;
`queue` publishes grading jobs to Celery by task name (the API never imports `worker/`).
"""
