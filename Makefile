# Streamscope: the two commands the README promises, and the checks CI runs.
#
#   make run     install what is missing, build the UI if needed, open the desktop app
#   make test    install what is missing, then build and run every test
#   make lint    formatting and clippy, warnings as errors
#   make fuzz    the parsers' fuzz targets, FUZZ_SECONDS (default 60) each
#   make ui      build the UI (ui/dist) when a source changed
#   make deb     a Debian package of the desktop app
#
# The cargo target directory defaults to one outside the clone so repeated runs stay warm.

export CARGO_TARGET_DIR ?= /var/tmp/streamscope-target
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: setup test lint bench run ui ui-test desktop-smoke deb fuzz interop-deps

setup:
	bash scripts/setup.sh

# A debug build: on a fresh machine it compiles minutes sooner than a release build, and
# opening the window takes about as long either way (BENCHMARKS.md); `make test` builds
# the same artifacts, so after it `make run` starts at once.
run: setup ui
	cargo run

# The UI is rebuilt when its sources or dependencies change; npm ci when the lock does.
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) \
	ui/index.html ui/package.json ui/vite.config.ts ui/svelte.config.js ui/tsconfig.json

ui: ui/dist/index.html

ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run build
	touch $@

# The built app under Xvfb through tauri-driver; `timeout` because a window that never
# comes up leaves the WebDriver session waiting forever.
desktop-smoke: ui
	cargo build
	timeout 300 xvfb-run -a -s "-screen 0 1600x1000x24" \
		node tests/desktop/smoke.mjs $(CARGO_TARGET_DIR)/debug/streamscope

# A Debian package of the desktop app with the UI inside ($(CARGO_TARGET_DIR)/release/bundle/deb/).
# Offline once tauri-cli is installed (the first time builds it: several minutes).
deb: setup ui
	command -v cargo-tauri >/dev/null || env -u CARGO_TARGET_DIR cargo install tauri-cli --version '^2' --locked
	cargo tauri build --bundles deb --config src-tauri/tauri.bundle.json

# The interop tests' Node peer (tests/interop/ws_server.mjs) needs `ws`; npm ci when the
# lock changes, as for the UI.
interop-deps: tests/interop/node_modules/.package-lock.json

tests/interop/node_modules/.package-lock.json: tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund

test: setup ui interop-deps
	cargo build --workspace --bins
	cargo test --workspace
	$(MAKE) --no-print-directory ui-test
	$(MAKE) --no-print-directory desktop-smoke

# The UI: type checks, unit tests, and the browser end-to-end tests (Debian's Chromium
# driven by playwright-core against `sscope serve`, built by the step before).
ui-test: ui
	cd ui && npm run check && npm test && E2E_SKIP_BUILD=1 SSCOPE_BIN=$(CARGO_TARGET_DIR)/debug/sscope npm run e2e

# The parsers' fuzz targets (fuzz/), FUZZ_SECONDS each: their committed seeds first (every
# fixed finding has one), then new inputs. CI runs it with a short budget; run it longer
# by hand after touching a parser (fuzz/README.md).
FUZZ_SECONDS ?= 60
# Its own target dir: fuzz builds use other compiler flags than the workspace.
FUZZ_TARGET_DIR ?= /var/tmp/streamscope-fuzz-target
fuzz: setup
	CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) bash fuzz/run.sh $(FUZZ_SECONDS)

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench: setup
	bash bench/run.sh
