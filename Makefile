# Veil's two entry points (see README.md): `make demo` runs the main job, `make test` runs
# every test. Both install what they need first on a Debian machine with a Rust toolchain.

CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# System packages: clang/libclang for RocksDB's bindgen, a C++ compiler for RocksDB itself,
# and Chromium for the console's browser test.
DEBIAN_PACKAGES := libclang-dev clang g++ make pkg-config chromium

.PHONY: deps build demo test bench fmt lint

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(CARGO) build --release --bin veil

demo: build
	$(CARGO) run --release --bin veil -- demo

test: deps
	$(CARGO) test --workspace --all-targets

bench: build
	$(CARGO) run --release --bin veil -- bench --out bench.json

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
