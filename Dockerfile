# syntax=docker/dockerfile:1
# Autograd Playground image (CPU only).
#
#   docker build -t autograd-playground .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp \
#       --cap-drop ALL --security-opt no-new-privileges -e WEB_CONCURRENCY=2 autograd-playground
#
# Build arguments swap the sources, for builds that cannot reach Docker Hub or
# the PyTorch index (`make docker-check` builds this file that way):
#   BASE_IMAGE        Debian bookworm with Python 3.11, `python` and `pip` on PATH
#   NODE_IMAGE        an image with npm, for the front-end stage
#   FRONTEND          npm (default): the front-end files from the npm registry at
#                     package-lock.json's versions; context: the files in the build
#                     context's static/vendor/, as `make setup` left them
#   TORCH_INDEX_URL   index that serves the CPU-only torch wheel; empty: PyPI
#   TORCH_FIND_LINKS  where pip also looks for the CPU-only torch wheel: a URL, or a
#                     folder mounted for RUN (podman: --volume /opt/wheels:/wheels:ro)
#   PIP_CERT          CA bundle for pip, for a build behind a TLS-inspecting proxy

ARG BASE_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG FRONTEND=npm

# ---- front-end files: from npm, pinned by package-lock.json ------------------
FROM ${NODE_IMAGE} AS frontend-npm
WORKDIR /build
COPY package.json package-lock.json ./
# Runtime files only (htmx, panzoom, Swagger UI); axe-core is a dev dependency for
# browser tests. No install scripts: the files are copied, nothing is built, and
# panzoom's dependency @scarf/scarf would report the install over the network.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && mkdir /vendor \
 && cp node_modules/htmx.org/dist/htmx.min.js \
       node_modules/@panzoom/panzoom/dist/panzoom.es.js \
       node_modules/swagger-ui-dist/swagger-ui-bundle.js \
       node_modules/swagger-ui-dist/swagger-ui.css /vendor/

# ---- front-end files: from the build context (FRONTEND=context) -------------
FROM scratch AS frontend-context
COPY static/vendor/htmx.min.js static/vendor/panzoom.es.js static/vendor/swagger-ui-bundle.js static/vendor/swagger-ui.css /vendor/

# Only the stage FRONTEND names is built. (A stage of this file, not an image to tag.)
# hadolint ignore=DL3006
FROM frontend-${FRONTEND} AS frontend

# ---- application -------------------------------------------------------------
FROM ${BASE_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Python writes no bytecode at run time (the root file system is read-only; pip
# compiled it at install). Everything that wants a cache or a home writes to
# /tmp, a tmpfs at run time: fontconfig (via XDG_CACHE_HOME), torch's compiler
# caches, and the worker pool's forkserver socket (TMPDIR).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    TORCHINDUCTOR_CACHE_DIR=/tmp/torchinductor \
    WEB_CONCURRENCY=1

# Graphviz provides `dot`, which torchviz renders with; DejaVu gives it a font.
# Debian's versions are not pinned: bookworm only changes them for fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends graphviz fonts-dejavu-core \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && dot -V \
 && groupadd --system --gid 10001 appuser \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin appuser

# CPU-only PyTorch, pinned with its local version label (+cpu), so that PyPI's
# default build, which bundles CUDA (several GB), can never match. The CPU build
# still ships headers, C++ test programs and test libraries; the app compiles
# nothing, so they go, in the same layer (over 100 MB). (hadolint cannot see
# the pin through the variable.)
ARG TORCH_VERSION=2.13.0+cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_FIND_LINKS=
ARG PIP_CERT=
# hadolint ignore=DL3013
RUN pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} \
        ${TORCH_FIND_LINKS:+--find-links "$TORCH_FIND_LINKS"} "torch==${TORCH_VERSION}" \
 && site=$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && rm -rf "$site/torch/include" "$site/torch/bin"/*Test "$site/torch/bin"/test_* \
        "$site/torch/bin"/protoc* "$site/torch/lib"/*test*.so "$site/torch/lib/libaoti_custom_ops.so" \
        "$site/torch/lib/libbackend_with_compiler.so" \
 && python -c 'import torch; assert torch.version.cuda is None, torch.version.cuda; print("torch", torch.__version__)'

WORKDIR /app

# The app's other dependencies, from pyproject.toml alone, so that a change to
# the code does not reinstall them: the base (what the core needs) and the extra
# "server".
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["server"]))' \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY app/ app/
COPY templates/ templates/
COPY static/ static/
COPY --from=frontend /vendor/ static/vendor/

# Editable on purpose: the app finds templates/ and static/ from
# the repository root (app/web/main.py), i.e. /app. Everything it needs is installed.
RUN pip install --no-deps --no-build-isolation -e . \
 && pip check \
 && if pip list --format=freeze | grep -i '^nvidia-'; then echo "CUDA packages in the image" >&2; exit 1; fi \
 && python -c 'import autograd_playground.web.main, torch; assert torch.version.cuda is None'

# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# uvicorn reads its worker count from WEB_CONCURRENCY. The app itself decides
# which X-Forwarded-For to believe (PLAYGROUND_TRUSTED_PROXIES). At most 1000
# connections and requests at once per process, and the app's protocol closes a
# connection whose headers or body arrive too slowly (docs/deployment.md).
CMD ["uvicorn", "autograd_playground.web.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--no-proxy-headers", "--limit-concurrency", "1000", "--http", "autograd_playground.web.connection:TimedHttpToolsProtocol"]
