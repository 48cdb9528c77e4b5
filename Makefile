# kokokara-shipping: the two Quick start commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PROTO_FILES := $(wildcard proto/kokokara/shipping/v1/*.proto)
GEN_DIR := kokokara/shipping/v1

.PHONY: run test test-all lint format proto bench bench-labels bench-tracking demo clean venv

venv: $(STAMP)

# setup.py builds the compiled quote kernel from its .pyx: a change to either reinstalls.
$(STAMP): pyproject.toml setup.py kokokara/shipping/_quotekernel.pyx
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Serve on embedded defaults (in-process cache, SQLite, shipped rate tables) at 127.0.0.1:50051.
run: $(STAMP)
	$(PY) server.py $(ARGS)

## Offline tracking demo: the stand-in Japan Post (tests/fixtures/japan_post) on 127.0.0.1:8089 and
## the server pointed at it. Then: .venv/bin/kokokara-shipping track EN123456785JP
demo: $(STAMP)
	$(PY) -m tracking.standin --port $${DEMO_STANDIN_PORT:-8089} & standin=$$!; trap 'kill $$standin' EXIT INT TERM; \
	SHIPPING_TRACKING_BASE_URL=http://127.0.0.1:$${DEMO_STANDIN_PORT:-8089} SHIPPING_TRACKING_RATE_PER_SECOND=50 $(PY) server.py $(ARGS)

## The whole test suite. Tests needing Redis or PostgreSQL skip (and say so) when those are down,
## unless CI=true, where a missing service fails the run.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Regenerate the gRPC stubs from proto/ (they are committed; tests/test_proto_stubs.py fails when stale).
proto: $(STAMP)
	$(PY) scripts/gen_proto.py $(GEN_DIR)

bench: $(STAMP)
	$(PY) bench/quote.py

bench-tracking: $(STAMP)
	$(PY) bench/tracking_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info kokokara/shipping/_quotekernel.c kokokara/shipping/_quotekernel*.so

## Labels (issue 4): CreateLabel throughput with SQLite and PostgreSQL.
bench-labels: $(STAMP)
	$(PY) bench/labels_bench.py

## Performance (issue 6): load harness (1 vs 2 workers), Karrio peer, soak with faults.
.PHONY: bench-load bench-peer soak
bench-load: $(STAMP)
	$(PY) bench/load.py $(ARGS)

bench-peer: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/peer_karrio.py $(ARGS)

soak: $(STAMP)
	$(PY) bench/soak.py $(ARGS)
