# Images of the grading service.
#   docker build -t mlpgrade-service .                    # API, workers, migrations (default)
#   docker build --target grading -t mlpgrade-grading .   # what the docker sandbox runs student code in
# docker-compose.yml builds both.

# -- the student runtime: only what the course's students had (NumPy 1.x, matplotlib) -----------
# The docker backend (grader/sandbox/docker.py) runs /runtime/bin/python as uid 10001.
FROM python:3.11-slim-bookworm AS grading
RUN python -m venv /runtime \
    && /runtime/bin/pip install --no-cache-dir numpy==1.23.5 matplotlib==3.8.4 \
    && MPLCONFIGDIR=/runtime/mpl /runtime/bin/python -c "import matplotlib.pyplot" \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin student
USER 10001:10001
WORKDIR /handin

# -- the service: API, workers and migrations ------------------------------------------------------
FROM python:3.11-slim-bookworm AS service
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MLPGRADE_HOME=/var/lib/mlpgrade
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap procps \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10000 --home-dir /var/lib/mlpgrade --shell /usr/sbin/nologin mlpgrade
WORKDIR /app
COPY pyproject.toml README.md ./
COPY reference ./reference
COPY grader ./grader
COPY worker ./worker
COPY submissions_api ./submissions_api
RUN pip install --no-cache-dir . \
    && mlpgrade runtime install \
    && chown -R mlpgrade:mlpgrade /var/lib/mlpgrade
USER mlpgrade
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["mlpgrade", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
