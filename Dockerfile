# Images of the grading service, built by scripts/build-images.sh (never `docker build .` by hand:
# the build context is a folder that script lays out, and every stage starts FROM the Debian base
# it made with debootstrap, so nothing comes from a registry). Stages, one image each:
#   postgres, redis, docker-proxy   Debian's servers, configured by images/
#   service                         the API, the workers, migrations, Flower
#   grading                         the root filesystem grader/sandbox/image.py writes, nothing else
# The context: wheels/service and wheels/runtime (Python wheels the script downloaded for the
# image's Python 3.11), src/ (our code), images/ (configuration).
ARG BASE=mlpgrade-debian:bookworm

# -- PostgreSQL 15 ---------------------------------------------------------------------------------
FROM ${BASE} AS postgres
COPY images/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
RUN install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres -m 2775 /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]

# -- Redis 7 ---------------------------------------------------------------------------------------
FROM ${BASE} AS redis
RUN install -d -o redis -g redis -m 750 /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--dir", "/data"]

# -- the Docker API proxy (HAProxy): the only holder of the engine's socket ------------------------
FROM ${BASE} AS docker-proxy
COPY images/docker-proxy.cfg /etc/haproxy/docker-proxy.cfg
EXPOSE 2375
# root: the socket it is given belongs to root
CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/docker-proxy.cfg"]

# -- the service's venv and the student runtime, from the wheels alone -----------------------------
# (one stage: copying a venv of this size between stages costs the classic builder minutes; the
# wheels' layer stays in the image)
FROM ${BASE} AS install
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MLPGRADE_HOME=/var/lib/mlpgrade \
    PATH=/opt/mlpgrade/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --uid 10000 --home-dir /var/lib/mlpgrade --shell /usr/sbin/nologin mlpgrade
COPY wheels/service /wheels/service
RUN python3 -m venv /opt/mlpgrade && pip install -q /wheels/service/*.whl
COPY wheels/runtime /wheels/runtime
COPY src /src
# The home is the service's; the runtimes stay root's (read-only for everyone else). golden-cache
# exists in the image so that compose's named volume starts owned by mlpgrade.
RUN pip install -q --no-deps --no-build-isolation /src \
    && PIP_FIND_LINKS=/wheels/runtime mlpgrade runtime install >/dev/null \
    && install -d -o mlpgrade -g mlpgrade /var/lib/mlpgrade /var/lib/mlpgrade/golden-cache

# -- the grading image (the same root filesystem `mlpgrade runtime image` docker-imports) ----------
FROM install AS grading-rootfs
RUN mlpgrade runtime image --rootfs /rootfs.tar && mkdir /rootfs && tar -xf /rootfs.tar -C /rootfs

FROM scratch AS grading
COPY --from=grading-rootfs /rootfs/ /
# The job's uid (grader/sandbox/image.py's USER_UID, named in the image's /etc/passwd).
USER 10001:10001

# -- the service: API, workers, migrations and Flower ----------------------------------------------
FROM install AS service
USER mlpgrade
WORKDIR /var/lib/mlpgrade
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["mlpgrade", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
