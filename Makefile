# Veil's two entry points (see README.md): `make demo` runs the main job, `make test` runs
# every test. Both install what they need first on a Debian machine with a Rust toolchain.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# System packages: clang/libclang for RocksDB's bindgen, a C++ compiler for RocksDB itself,
# Chromium for the console's browser test, and procps for `kill` (the process tests stop nodes
# with SIGTERM). Node.js and npm (if the machine lacks them)
# for snarkjs, which checks that Veil's settlement proofs verify with tooling that is not ours.
# Prometheus for `promtool check metrics`, which lints the nodes' and gateways' /metrics (the
# server the package would start is disabled: only promtool is used).
DEBIAN_PACKAGES := libclang-dev clang g++ make pkg-config chromium procps openssl prometheus
SNARKJS_VERSION := 0.7.5
# Schemathesis (PyPI) checks the gateway against its own /openapi.json in the test suite.
SCHEMATHESIS_VERSION := 4.32.5
SCHEMATHESIS_VENV := $(HOME)/.cache/veil/schemathesis

.PHONY: deps build demo test bench fmt lint

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
		case "$$missing" in *prometheus*) \
			$(SUDO) systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true;; \
		esac; \
	fi
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	@snarkjs --version 2>/dev/null | grep -q "$(SNARKJS_VERSION)" || \
		{ echo "installing snarkjs $(SNARKJS_VERSION)"; $(SUDO) npm install -g --no-fund --no-audit snarkjs@$(SNARKJS_VERSION); }
	@$(SCHEMATHESIS_VENV)/bin/st --version 2>/dev/null | grep -q "$(SCHEMATHESIS_VERSION)" || \
		{ echo "installing schemathesis $(SCHEMATHESIS_VERSION)"; \
		  { python3 -m venv --help >/dev/null 2>&1 && python3 -c 'import ensurepip' 2>/dev/null; } || \
		  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv python3-pip; }; \
		  python3 -m venv $(SCHEMATHESIS_VENV) && \
		  $(SCHEMATHESIS_VENV)/bin/pip install -q schemathesis==$(SCHEMATHESIS_VERSION); }

build: deps
	$(CARGO) build --release --bin veil

# `make demo BANKS=21`: the same story with 21 member banks (4 to 64).
demo: build
	$(CARGO) run --release --bin veil -- demo $(if $(BANKS),--banks $(BANKS))

# The end-to-end tests run `veil` as a process: build it from this checkout first (they refuse
# a binary built from other sources, see tests/src/lib.rs), then run every test.
test: deps
	$(CARGO) build --bin veil
	$(CARGO) test --workspace --all-targets

bench: build
	$(CARGO) run --release --bin veil -- bench --out bench.json

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
