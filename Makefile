# Latchkey: `make run` and `make test` are all the set-up a fresh machine needs.
# Every install step is idempotent and quick when already done.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

# Honour a CARGO_TARGET_DIR from the environment (CI may keep one warm).
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR

CARGO_LEPTOS_VERSION := 0.3.10
# The wasm-bindgen CLI must be exactly the library's version in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
TOOLS_BIN := $(CURDIR)/tools/node_modules/.bin
# wasm-opt from npm's binaryen comes first on PATH: Debian's older one breaks hydration.
export PATH := $(TOOLS_BIN):$(HOME)/.cargo/bin:$(PATH)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test tools rust-tools wasm-opt browser e2e-deps lint unit e2e bench seed clean-data

## run: build and serve on http://127.0.0.1:3000 with ./data/latchkey.db
run: tools
	cargo leptos serve --release --precompress --split

## test: formatting, clippy, every Rust test (SQLite and PostgreSQL), and the Playwright suite
test: tools e2e-deps lint unit e2e

tools: rust-tools wasm-opt

rust-tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -q " $(CARGO_LEPTOS_VERSION)$$" \
		|| cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked --features no_downloads
	@wasm-bindgen --version 2>/dev/null | grep -q " $(WASM_BINDGEN_VERSION)$$" \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force

wasm-opt:
	@$(TOOLS_BIN)/wasm-opt --version 2>/dev/null | grep -q "version 132" \
		|| npm ci --prefix tools --no-audit --no-fund

browser:
	@command -v chromium >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

e2e-deps: browser
	@[ end2end/node_modules/.package-lock.json -nt end2end/package-lock.json ] \
		|| npm ci --prefix end2end --no-audit --no-fund

lint:
	cargo fmt --all -- --check
	cargo clippy -p model -p domain --all-targets --features domain/test-support -- -D warnings
	cargo clippy -p app --features ssr --all-targets -- -D warnings
	cargo clippy -p server --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test -p model -p domain -p server
	cargo test -p app --features ssr

e2e: tools e2e-deps
	cargo leptos build --release --precompress --split
	cd end2end && LATCHKEY_BIN="$(CARGO_TARGET_DIR)/release/latchkey" \
		LEPTOS_SITE_ROOT="$(CARGO_TARGET_DIR)/site" npx playwright test

## bench: each figure beside its reference, written to bench/RESULTS.md and bench/results.json
## (needs the release build: bulk, search and the served figures run on the server; and wrk
## from Debian as the load generator)
# bench/minimal, the reference beside the console's first load, is the smallest hydrated Leptos
# page: built with the console's Cargo.lock and WASM profile, then wasm-bindgen and wasm-opt.
bench: tools
	cargo leptos build --release --precompress --split
	cp Cargo.lock bench/minimal/Cargo.lock
	cargo build --release --target wasm32-unknown-unknown --manifest-path bench/minimal/Cargo.toml
	mkdir -p $(CARGO_TARGET_DIR)/minimal-site/pkg
	wasm-bindgen --target web --no-typescript --out-dir $(CARGO_TARGET_DIR)/minimal-site/pkg \
		$(CARGO_TARGET_DIR)/wasm32-unknown-unknown/release/minimal.wasm
	wasm-opt -Oz \
		-o $(CARGO_TARGET_DIR)/minimal-site/pkg/minimal_bg.wasm $(CARGO_TARGET_DIR)/minimal-site/pkg/minimal_bg.wasm
	cp bench/minimal/index.html $(CARGO_TARGET_DIR)/minimal-site/
	@command -v wrk >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y wrk; }
	cargo run --release -p server --example bench -- bench

## seed: add 1,000 demo users to ./data/latchkey.db
seed:
	cargo run --release -p server -- seed --users 1000
