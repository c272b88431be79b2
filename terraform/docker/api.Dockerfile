# syntax=docker/dockerfile:1
# The API and the result worker: one image without torch (setup.cfg extra "api").
# Build from the repository root (the build context); two targets, one per role:
#
#   docker build -f terraform/docker/api.Dockerfile --target api -t graphnode-api .
#   docker build -f terraform/docker/api.Dockerfile --target result-worker -t graphnode-result-worker .
#
# api.Dockerfile.dockerignore (beside this file) keeps the context to the package sources.
################################################################################
# build: a virtual environment with the project and its API dependencies
################################################################################
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/graphnode
COPY setup.cfg pyproject.toml README.md ./
COPY graphnode ./graphnode
COPY workers ./workers
COPY tasks ./tasks
# A regular (not editable) install: the final stage copies only the environment.
RUN /opt/graphnode/bin/pip install --no-cache-dir ".[api]"

################################################################################
# runtime: the environment, no compiler, no sources, an unprivileged user
################################################################################
FROM python:3.11-slim-bookworm AS runtime

RUN groupadd --system --gid 10001 graphnode \
 && useradd --system --uid 10001 --gid graphnode --no-create-home --home-dir /app graphnode
COPY --from=build /opt/graphnode /opt/graphnode
COPY terraform/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/opt/graphnode/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001

################################################################################
# api: gunicorn with gevent workers (SSE keeps connections open)
################################################################################
FROM runtime AS api

ENV PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "/app/healthcheck.py", "api"]
CMD ["sh", "-c", "exec gunicorn -k gevent -w 2 -b 0.0.0.0:${PORT} 'graphnode.api:create_app()'"]

################################################################################
# result-worker: persists results and publishes events (-Q graph-res)
################################################################################
FROM runtime AS result-worker

HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "/app/healthcheck.py", "queue", "result"]
# Celery's warm shutdown on SIGTERM: running handlers finish, reserved messages go back.
STOPSIGNAL SIGTERM
CMD ["celery", "-A", "graphnode", "worker", "-Q", "graph-res", "-c", "2", "--loglevel", "INFO"]
