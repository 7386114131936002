# syntax=docker/dockerfile:1
# Autograd Playground image (CPU only).
#   docker build -t autograd-playground .
#   docker run --rm -p 8000:8000 -e WEB_CONCURRENCY=2 autograd-playground

ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- front-end files, pinned by package-lock.json ---------------------------
FROM ${NODE_IMAGE} AS frontend
WORKDIR /build
COPY package.json package-lock.json ./
# Runtime files only (htmx, Swagger UI); axe-core is a dev dependency for browser tests.
RUN npm ci --omit=dev --no-audit --no-fund

# ---- application -------------------------------------------------------------
FROM ${BASE_IMAGE}
# CPU-only PyTorch. PyPI's default torch build for Linux bundles CUDA (several GB).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=1

# graphviz provides `dot`, which torchviz renders with.
RUN apt-get update \
 && apt-get install -y --no-install-recommends graphviz fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY --from=frontend /build/node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
COPY --from=frontend /build/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
     /build/node_modules/swagger-ui-dist/swagger-ui.css static/vendor/

# Editable on purpose: the app finds templates/ and static/ from
# Path(__file__).parent.parent, i.e. /app. torch==2.13.0 is already satisfied.
RUN pip install -e . \
 && python -c "import torch, torchviz, app; assert torch.version.cuda is None, torch.version.cuda"

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin appuser
USER appuser

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# Shell form for ${WEB_CONCURRENCY}; exec makes uvicorn PID 1 so it gets SIGTERM.
CMD exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000 --workers "${WEB_CONCURRENCY:-1}" --no-access-log --no-proxy-headers
