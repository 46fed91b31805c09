# The two commands: `make up` (the local stack) and `make test` (every suite).
# Every install step is here, pinned, and idempotent: a second run installs nothing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
STAMPS := $(ROOT)/.tools/stamps
export PATH := $(ROOT)/node_modules/.bin:$(ROOT)/.tools/bin:$(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(ROOT)/.tools/solcx
export BROWNIE_NOCOMPILE := 1
PYTEST_DAPP := $(PY) -m pytest -p no:pytest-brownie -p no:cacheprovider

.PHONY: up test deps python-deps fuzz-deps node-deps kubo solc abi lint test-contracts \
        test-dapp test-frontend bench bench-indexer gas lock clean slither fuzz scale \
        client-package

up: deps abi dapp $(STAMPS)/bubblewrap
	$(VENV)/bin/datadao up

test: deps abi lint slither test-contracts test-dapp test-frontend
	@echo "all suites passed"

deps: python-deps fuzz-deps node-deps solc kubo

python-deps: $(STAMPS)/python
$(STAMPS)/python: requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check pip==24.3.1
	$(PY) -m pip install -q --no-deps --no-binary eth-brownie -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# schemathesis needs hypothesis>=6.84, Brownie pins 6.27: it gets a venv of its own.
fuzz-deps: $(STAMPS)/fuzz
$(STAMPS)/fuzz: requirements-fuzz.lock
	@mkdir -p $(STAMPS)
	test -x $(ROOT)/.venv-fuzz/bin/python || python3 -m venv $(ROOT)/.venv-fuzz
	$(ROOT)/.venv-fuzz/bin/python -m pip install -q --disable-pip-version-check pip==24.3.1
	$(ROOT)/.venv-fuzz/bin/python -m pip install -q --no-deps -r requirements-fuzz.lock
	touch $@

node-deps: $(STAMPS)/node
$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

solc: node-deps
	tools/install-solc.sh

kubo:
	tools/install-kubo.sh

# ipfs-cluster-service and ipfs-cluster-ctl v1.1.6 (the pin backend `cluster`; the Cluster
# tests start 3 peers): built from the Go module proxy only when missing.
.PHONY: ipfs-cluster
ipfs-cluster:
	tools/install-ipfs-cluster.sh

# Compile the contracts (Brownie only recompiles what changed) and export the ABIs dapp/ reads.
abi: python-deps solc
	brownie compile
	$(PY) tools/export_abis.py
	$(PY) tools/export_abi_ts.py

# Slither over contracts/: fails on a high/medium finding not explained in docs/SLITHER.md.
slither: python-deps node-deps solc
	$(PY) tools/slither_check.py

# clients/python in a fresh venv (dependencies from PyPI), run against a local stack (docs/CLIENT.md).
client-package: python-deps node-deps solc kubo
	$(PY) tools/client_package_check.py

# ruff, and the layers of dapp/ (pyproject.toml [tool.importlinter]; docs/ARCHITECTURE.md).
lint: python-deps
	ruff check $(wildcard dapp tests tools scripts bench clients)
	lint-imports --no-cache

# Contract suites on anvil (Brownie 1.22's default backend) with coverage.
# Stateful (hypothesis) suites run without coverage tracing, on ganache: with anvil's step
# tracing they take most of CI's time budget; this is also the ganache smoke run.
INVARIANT_SUITES := $(wildcard tests/contracts/test_*invariants*.py)
test-contracts: python-deps node-deps solc
	brownie test tests/contracts --coverage --ignore-glob='*invariants*'
	tools/ganache-run.sh $(PY) tools/brownie_attach.py '{rpc}' test $(INVARIANT_SUITES)

# Long stateful runs: every tests/contracts/*invariants*.py suite with FUZZ_EXAMPLES random
# sequences (default 10000), seeded (FUZZ_SEED: the same seed draws the same sequences) and
# stopped after FUZZ_SECONDS per suite, each on its own anvil. A suite takes part by running its
# machine through tests/contracts/fuzz_settings.py's `run_stateful` (otherwise it runs its own
# short sample). `make test` keeps the short derandomized samples.
FUZZ_EXAMPLES ?= 10000
FUZZ_SEED ?= 1
FUZZ_SECONDS ?= 3600
fuzz: python-deps node-deps solc
	status=0; for suite in $(INVARIANT_SUITES); do \
	  FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    tools/anvil-run.sh $(PY) tools/brownie_attach.py '{rpc}' test $$suite -s || status=1; \
	done; exit $$status

# dapp suites against real ganache, Kubo and SQLite/PostgreSQL started by the fixtures;
# includes the smoke run of the contracts and the deploy script on ganache.
# Two pytest-xdist workers, one module each at a time (module-scoped stacks stay whole): the
# suite mostly waits on chains, IPFS and subprocesses, so two fit on two cores.
DAPP_TEST_WORKERS ?= 2
test-dapp: python-deps node-deps kubo abi $(STAMPS)/postgresql $(STAMPS)/bubblewrap
	$(PYTEST_DAPP) tests/dapp -q -m 'not scale and not rehearsal' -n $(DAPP_TEST_WORKERS) --dist loadfile

# The multi-node suites (marked `scale`): IPFS Cluster peers started, peers and gateways killed;
# compute jobs on a two-node Ray cluster (ray.cluster_utils) with a node killed mid-job.
# Not in `make test`: building IPFS Cluster from the Go proxy takes minutes on a fresh machine.
# Each module in a pytest process of its own: run in one process after the Ray suite, the
# Cluster suites' pins stalled on a peer (not investigated); each alone passes.
SCALE_SUITES := tests/dapp/test_pin_backends.py tests/dapp/test_scale_failover.py \
                tests/dapp/test_compute_ray.py
scale: python-deps node-deps kubo ipfs-cluster abi $(STAMPS)/postgresql $(STAMPS)/bubblewrap
	status=0; for suite in $(SCALE_SUITES); do \
	    $(PYTEST_DAPP) $$suite -q -m scale || status=1; \
	done; exit $$status

# The rehearsal of a network deploy (docs/DEPLOY.md): anvil as chain 31338, the deploy with its
# role handover to a timelock, a timelocked fee change, gateway/indexer/CLI from the manifest and
# the manifest's compiler inputs against the deployed code. Minutes long: not in `make test`.
.PHONY: rehearse
rehearse: python-deps node-deps kubo abi
	$(PYTEST_DAPP) tests/dapp/test_network_rehearsal.py -q -s -m rehearsal

# The long schemathesis run (not in `make test`, which runs 60 examples per operation on
# SQLite): FUZZ_API_EXAMPLES per operation against a gateway over SQLite and one over
# PostgreSQL, >= 10,000 generated requests in all; docs/TOOLCHAIN.md records a run.
FUZZ_API_EXAMPLES ?= 250
.PHONY: fuzz-api
fuzz-api: python-deps fuzz-deps node-deps kubo abi $(STAMPS)/postgresql
	FUZZ_API_EXAMPLES=$(FUZZ_API_EXAMPLES) $(PYTEST_DAPP) tests/dapp/test_gateway_schemathesis.py -q -s

# Debian's PostgreSQL server for the store suites that run on both SQLite and PostgreSQL
# (apt only when no /usr/lib/postgresql/*/bin/initdb is there).
$(STAMPS)/postgresql:
	@mkdir -p $(STAMPS)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	touch $@

# Debian's bubblewrap: the compute sandbox (dapp/compute/sandbox.py) runs every algorithm and
# model call in one `bwrap` (apt only when /usr/bin/bwrap is missing). Without it the gateway
# refuses to run untrusted code.
.PHONY: bubblewrap
bubblewrap: $(STAMPS)/bubblewrap
$(STAMPS)/bubblewrap:
	@mkdir -p $(STAMPS)
	test -x /usr/bin/bwrap || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }
	touch $@

# The dApp: npm packages in frontend/, and Debian's Chromium for its browser tests (apt only
# when /usr/bin/chromium is missing). `make dapp` builds frontend/dist, which the gateway serves
# at /, only when what the build reads changed: frontend/src, index.html, the vite and
# TypeScript configs, the npm lock, or an ABI in dapp/chain/abi (export_abis.py rewrites only
# the ABIs that changed). A sub-make checks it, so ABIs that `abi` just wrote are seen.
.PHONY: frontend-deps dapp
frontend-deps: $(STAMPS)/frontend $(STAMPS)/chromium
$(STAMPS)/frontend: frontend/package.json frontend/package-lock.json
	@mkdir -p $(STAMPS)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	touch $@

FRONTEND_INPUTS = $(shell find frontend/src -type f) frontend/index.html frontend/vite.config.ts \
                  frontend/tsconfig.json frontend/package.json frontend/package-lock.json \
                  $(wildcard dapp/chain/abi/*.json) $(shell find frontend/packages/abi/src -type f)
dapp: $(STAMPS)/frontend abi
	$(MAKE) --no-print-directory frontend/dist/index.html
frontend/dist/index.html: $(FRONTEND_INPUTS)
	cd frontend && npm run build
	touch $@

# Vitest unit tests, then the browser e2e against a stack it starts (ganache, Kubo, gateway).
test-frontend: frontend-deps dapp kubo
	cd frontend && npx tsc -p packages/abi --noEmit
	cd frontend && npm test
	cd frontend && node e2e/run.mjs

gas: deps abi
	tools/ganache-run.sh $(PY) tools/brownie_attach.py '{rpc}' run $(CURDIR)/bench/gas.py

bench: gas
	$(PY) -m bench.publish
	$(PY) -m bench.downloads
	$(PY) -m bench.license_check
	$(MAKE) bench-indexer
	$(PY) -m bench.metered
	$(PY) -m bench.warm
	$(PY) -m bench.private

# The indexer alone: 100,000 events caught up on SQLite and PostgreSQL against a bare
# eth_getLogs loop, then the lag at 10 tx/s polling vs subscribed (anvil; about 15 min).
bench-indexer: deps abi
	$(PY) -m bench.indexer $(BENCH_INDEXER_ARGS)

# Regenerate requirements.lock from the current venv (after changing dependencies).
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf build reports .hypothesis .pytest_cache
