# syntax=docker/dockerfile:1
# Kavi: two targets from one file.
#   docker build -t kavi:gpu .                 (default, the last stage: CUDA, for a GPU host)
#   docker build -t kavi:cpu --target cpu .    (slim, for hosts without a GPU)
# Both run `python -m bot serve` as the non-root user `kavi`, with DATA_DIR=/data and the
# Hugging Face cache in /models, each on its own volume.

# The torch wheels bring their own CUDA libraries; the host needs an NVIDIA driver recent
# enough for them (CUDA 12.8: driver 570 or newer) and the NVIDIA Container Toolkit.
# TORCH_CUDA names the PyTorch wheel index (cu128 = CUDA 12.8) and must match CUDA_IMAGE's
# CUDA version: PyPI's default Linux torch is a CUDA 13 build (driver 580+), which on a
# driver-570 host sees no GPU. tests/test_docker.py fails when the two disagree.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
ARG TORCH_CUDA=cu128
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG TORCH_VERSION=2.13.0

# --- CPU ----------------------------------------------------------------------------------

FROM ${PYTHON_IMAGE} AS cpu-build
ARG TORCH_VERSION
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CPU wheel index keeps the CUDA libraries (several GB) out of the slim image.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}"
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
COPY generators ./generators
COPY storage ./storage
# The project itself, every dependency at the version in constraints.txt (what CI tested).
# hadolint ignore=DL3013
RUN pip install --constraint constraints.txt ".[neural]"

FROM ${PYTHON_IMAGE} AS cpu
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 kavi \
    && useradd --system --uid 10001 --gid kavi --create-home --home-dir /home/kavi kavi \
    && mkdir -p /data /models \
    && chown kavi:kavi /data /models
COPY --from=cpu-build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    HF_HOME=/models \
    KAVI_CACHE_DIR=/models/kavi \
    TORCH_DEVICE=cpu
# The `kavi` user, by number so that runtimes checking for a non-root user can tell.
USER 10001:10001
WORKDIR /home/kavi
VOLUME ["/data", "/models"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=10m --retries=3 \
    CMD ["python", "-m", "bot", "health"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]

# --- GPU (default) ------------------------------------------------------------------------

FROM ${CUDA_IMAGE} AS gpu-python
ENV DEBIAN_FRONTEND=noninteractive
# Ubuntu 24.04's Python is 3.12; apt versions move with security updates, so they are not pinned.
# gcc and python3-dev are what Triton compiles its kernels with at run time (TORCH_COMPILE=true).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev gcc libc6-dev \
       tzdata ca-certificates \
    && rm -rf /var/lib/apt/lists/*

FROM gpu-python AS gpu-build
ARG TORCH_VERSION
ARG TORCH_CUDA
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# The CUDA build that matches the base image, from PyTorch's own index (not PyPI's default).
RUN pip install --index-url "https://download.pytorch.org/whl/${TORCH_CUDA}" "torch==${TORCH_VERSION}"
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY core ./core
COPY bot ./bot
COPY generators ./generators
COPY storage ./storage
# The project itself, every dependency at the version in constraints.txt (what CI tested;
# torch is pinned there without a build tag, so the CUDA wheel above satisfies it).
# hadolint ignore=DL3013
RUN pip install --constraint constraints.txt ".[neural]"

FROM gpu-python AS gpu
RUN groupadd --system --gid 10001 kavi \
    && useradd --system --uid 10001 --gid kavi --create-home --home-dir /home/kavi kavi \
    && mkdir -p /data /models \
    && chown kavi:kavi /data /models
COPY --from=gpu-build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    HF_HOME=/models \
    KAVI_CACHE_DIR=/models/kavi \
    TORCH_DEVICE=auto \
    EXPECT_GPU=true
# The `kavi` user, by number so that runtimes checking for a non-root user can tell.
USER 10001:10001
WORKDIR /home/kavi
VOLUME ["/data", "/models"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=10m --retries=3 \
    CMD ["python", "-m", "bot", "health"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["serve"]
