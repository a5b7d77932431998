# Images of the grading service.
#   docker build -t mlpgrade-service .                           # API, workers, migrations (default)
#   docker build --target grading -t mlpgrade-grading:latest .   # what the docker sandbox runs jobs in
# docker-compose.yml builds both.

# -- the service's files and the student runtime, as root ------------------------------------------
FROM python:3.11-slim-bookworm AS install
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
    && mkdir -p /var/lib/mlpgrade/golden-cache \
    && chown -R mlpgrade:mlpgrade /var/lib/mlpgrade
# (golden-cache exists in the image so that compose's named volume starts owned by mlpgrade)

# -- the grading image: the root filesystem grader/sandbox/image.py writes, and nothing else -------
# (the same one `mlpgrade runtime image` docker-imports where no `docker build` is at hand)
FROM install AS grading-rootfs
RUN mlpgrade runtime image --rootfs /rootfs.tar && mkdir /rootfs && tar -xf /rootfs.tar -C /rootfs

FROM scratch AS grading
COPY --from=grading-rootfs /rootfs/ /
# The job's uid (grader/sandbox/image.py's USER_UID, named in the image's /etc/passwd).
USER 10001:10001

# -- the service: API, workers and migrations ------------------------------------------------------
FROM install AS service
USER mlpgrade
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["mlpgrade", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
