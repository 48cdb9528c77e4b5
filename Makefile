# kokokara-shipping: the two Quick start commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTO_FILES := $(wildcard proto/kokokara/shipping/v1/*.proto)
GEN_DIR := kokokara/shipping/v1

.PHONY: run test test-all lint format proto bench bench-labels bench-tracking demo clean venv lock check-image system-deps

venv: $(STAMP)

# Everything is installed from the lock files (requirements/, with hashes): the build tools, then the
# server's and the dev/test dependencies, then the project itself, editable, built without isolation
# by the locked setuptools and Cython (setup.py compiles the quote kernel). A change to the locks,
# setup.py or the kernel's .pyx reinstalls. The image installs requirements/server.txt the same way.
$(STAMP): pyproject.toml setup.py kokokara/shipping/server/fast/_quotekernel.pyx requirements/build.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/build.txt
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

## Regenerate the lock files from pyproject.toml (pip-compile, with hashes), keeping the versions
## already pinned where they still fit: run it after adding or changing a dependency, and commit
## requirements/. `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release allowed.
## build.txt: the build system (setuptools, wheel, Cython); server.txt: what the server image
## installs; dev.txt: server + the dev extra (tests, linters), for `make venv` and CI. Each later file
## is constrained by the earlier ones, so a package has one version in all three.
LOCK_FLAGS = --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(LOCK_ARGS)
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile $(LOCK_FLAGS) --all-build-deps --only-build-deps -o requirements/build.txt pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile $(LOCK_FLAGS) --extra server -c requirements/build.txt -o requirements/server.txt pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile $(LOCK_FLAGS) --extra server --extra dev -c requirements/server.txt -c requirements/build.txt -o requirements/dev.txt pyproject.toml

## The Debian packages the tests use beyond Python (requirements/debian.txt): h2load, Chromium and
## chromedriver, pdftoppm. Installs only what is missing; needs root (CI runs as root).
system-deps:
	@missing=$$(grep -v '^#' requirements/debian.txt | xargs -n1 sh -c 'dpkg -s "$$0" >/dev/null 2>&1 || echo "$$0"'); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install --yes --quiet --no-install-recommends $$missing; \
	fi

## What can be checked of the image without a container engine (scripts/check_image.py): the
## Containerfile's builder steps in fresh venvs from PyPI alone, the runtime stage's package list,
## and its CMD serving from the runtime layout.
check-image: $(STAMP)
	$(PY) scripts/check_image.py

## Serve on embedded defaults (in-process cache, SQLite, shipped rate tables) at 127.0.0.1:50051.
run: $(STAMP)
	$(PY) server.py $(ARGS)

## Offline tracking demo: the stand-in Japan Post (tests/fixtures/japan_post) on 127.0.0.1:8089 and
## the server pointed at it. Then: .venv/bin/kokokara-shipping track EN123456785JP
demo: $(STAMP)
	$(PY) -m standin.japan_post --port $${DEMO_STANDIN_PORT:-8089} & standin=$$!; trap 'kill $$standin' EXIT INT TERM; \
	SHIPPING_TRACKING_BASE_URL=http://127.0.0.1:$${DEMO_STANDIN_PORT:-8089} SHIPPING_TRACKING_RATE_PER_SECOND=50 $(PY) server.py $(ARGS)

## The whole test suite. Tests needing Redis or PostgreSQL skip (and say so) when those are down,
## unless CI=true, where a missing service fails the run.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Tools from the npm registry, pinned in package.json / package-lock.json: buf, for the contract.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

## ruff and mypy on the code; the layering contracts (import-linter, [tool.importlinter]); buf lint and buf breaking (against proto/released/) on the contract.
lint: $(STAMP) $(NODE_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_contract.py

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Regenerate the gRPC stubs from proto/ (they are committed; tests/release/test_proto_stubs.py fails when stale).
proto: $(STAMP)
	$(PY) scripts/gen_proto.py $(GEN_DIR)

bench: $(STAMP)
	$(PY) bench/quote.py

bench-tracking: $(STAMP)
	$(PY) bench/tracking_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info kokokara/shipping/server/fast/_quotekernel.c kokokara/shipping/server/fast/_quotekernel*.so

## Labels: CreateLabel throughput with SQLite and PostgreSQL.
bench-labels: $(STAMP)
	$(PY) bench/labels_bench.py

## Performance: load harness (1 vs 2 workers), Karrio peer, soak with faults.
.PHONY: bench-load bench-floor bench-peer soak
bench-load: $(STAMP)
	$(PY) bench/load.py $(ARGS)

## GetQuote against the health check on make run's settings, measured from outside Python with h2load.
bench-floor: $(STAMP)
	$(PY) bench/h2load_floor.py $(ARGS)

bench-peer: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/peer_karrio.py $(ARGS)

soak: $(STAMP)
	$(PY) bench/soak.py $(ARGS)
