# Veil: `make run` serves http://127.0.0.1:8080; `make test` runs every check.
# Every target that needs tools runs `setup` first, which installs only what
# is missing (see scripts/setup.sh).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# npm's wasm-opt must come before any Debian binaryen on PATH (see SETUP notes
# in scripts/setup.sh); cargo-installed tools live in ~/.cargo/bin.
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export CHROMEDRIVER := /usr/bin/chromedriver
CARGO ?= cargo
WASM_SEND := web/pkg-send
WASM_RECEIVE := web/pkg-receive

.PHONY: run setup wasm lint test test-native test-wasm test-vectors test-node test-garage test-deploy bench bench-setup fuzz fmt clean

setup:
	@scripts/setup.sh

## The wasm modules and their JS glue, into web/pkg-* (what the pages load),
## and their JavaScript builds into web/pkg-*-js (scripts/wasm-js.sh).
wasm: setup
	wasm-pack build wasm-core --target web --profile wasm --mode no-install \
	  --out-dir ../$(WASM_SEND) --out-name veil --no-pack -- --no-default-features --features send
	wasm-pack build wasm-core --target web --profile wasm --mode no-install \
	  --out-dir ../$(WASM_RECEIVE) --out-name veil --no-pack -- --no-default-features --features receive
	wasm-pack build wasm-core --target web --profile wasm --mode no-install \
	  --out-dir ../web/pkg-formats --out-name veil --no-pack -- --no-default-features --features formats
	wasm-pack build wasm-core --target web --profile wasm --mode no-install \
	  --out-dir ../web/pkg-pdf --out-name veil --no-pack -- --no-default-features --features pdf
	wasm-pack build wasm-qr --target web --profile wasm --mode no-install \
	  --out-dir ../web/pkg-qr --out-name qr --no-pack
	wasm-pack build wasm-zip --target web --profile wasm --mode no-install \
	  --out-dir ../web/pkg-zip --out-name zip --no-pack
	@rm -f $(WASM_SEND)/.gitignore $(WASM_RECEIVE)/.gitignore web/pkg-formats/.gitignore web/pkg-pdf/.gitignore web/pkg-qr/.gitignore web/pkg-zip/.gitignore
	node scripts/trim-glue.mjs $(WASM_SEND)/veil.js $(WASM_RECEIVE)/veil.js web/pkg-formats/veil.js web/pkg-pdf/veil.js web/pkg-qr/qr.js web/pkg-zip/zip.js
	@for m in $(WASM_SEND) $(WASM_RECEIVE) web/pkg-formats web/pkg-pdf; do printf 'wasm %s: %s bytes, %s gzipped\n' "$$m" "$$(stat -c %s $$m/veil_bg.wasm)" "$$(gzip -9c $$m/veil_bg.wasm | wc -c)"; done
	@# The same modules as JavaScript, for browsers without WebAssembly (js/load.js).
	scripts/wasm-js.sh wasm-core veil_core $(WASM_SEND)-js veil --no-default-features --features send
	scripts/wasm-js.sh wasm-core veil_core $(WASM_RECEIVE)-js veil --no-default-features --features receive
	scripts/wasm-js.sh wasm-core veil_core web/pkg-formats-js veil --no-default-features --features formats
	scripts/wasm-js.sh wasm-core veil_core web/pkg-pdf-js veil --no-default-features --features pdf
	scripts/wasm-js.sh wasm-qr veil_qr web/pkg-qr-js qr
	scripts/wasm-js.sh wasm-zip veil_zip web/pkg-zip-js zip

## Builds everything and serves http://127.0.0.1:8080 with ./data.
run: setup wasm
	$(CARGO) build --release -p blob-server
	@echo "Veil: open http://127.0.0.1:8080 (Ctrl-C stops)"
	./target/release/blob-server --bind 127.0.0.1:8080 --data-dir ./data --static-dir ./web

fmt:
	$(CARGO) fmt --all

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p wasm-core --target wasm32-unknown-unknown --lib --tests -- -D warnings
	$(CARGO) clippy -p wasm-core --target wasm32-unknown-unknown --lib --no-default-features --features send -- -D warnings
	$(CARGO) clippy -p wasm-core --target wasm32-unknown-unknown --lib --no-default-features --features receive -- -D warnings
	$(CARGO) clippy -p wasm-core --target wasm32-unknown-unknown --lib --no-default-features --features formats -- -D warnings
	$(CARGO) clippy -p wasm-core --target wasm32-unknown-unknown --lib --no-default-features --features pdf -- -D warnings
	$(CARGO) clippy -p wasm-zip --target wasm32-unknown-unknown --lib -- -D warnings

## Includes blob-server/tests/shared: two instances over PostgreSQL and moto
## (S3), both started by the test on 127.0.0.1 and stopped at its end.
test-native: setup
	$(CARGO) test --workspace

test-vectors: setup
	python3 tests/check_vectors.py

## wasm-bindgen tests in headless Chromium (runner set in .cargo/config.toml).
test-wasm: setup
	cd wasm-core && $(CARGO) test --target wasm32-unknown-unknown --lib

## Node tests against the real server binary (tus-js-client; later the browser e2e).
test-node: setup wasm
	$(CARGO) build -p blob-server -p veil-cli
	node --test tests/

## The files in deploy/ as shipped: nginx and Caddy in front of blob-server
## (a streamed round trip, and access logs without a client address), tor
## and systemd configuration checks.
test-deploy: setup
	$(CARGO) build -p blob-server
	deploy/test-proxies.sh

test: setup lint test-native test-vectors test-wasm test-node test-deploy

## The multi-instance suite against Garage instead of moto (installs Garage
## with cargo the first time: 10-20 minutes; not part of `make test`).
test-garage: setup
	scripts/test-garage.sh

## Tools only the benchmarks use: mat2 (stripping comparison), nginx and wrk
## (server); PostgreSQL and moto (bench/engines.sh) come with `setup`.
bench-setup: setup
	@missing=""; for p in mat2 nginx wrk; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; fi

bench: bench-setup wasm
	$(CARGO) bench -p wasm-core --bench container
	node bench/wasm-crypto.mjs
	node bench/no-wasm.mjs
	$(CARGO) build --release -p veil-cli
	python3 bench/strip-compare.py
	$(CARGO) run -q --release -p wasm-core --example img_parts_compare
	bench/server.sh
	$(CARGO) build --release -p blob-server
	BLOB_SERVER=target/release/blob-server /usr/bin/python3 bench/hostile.py
	BLOB_SERVER=target/release/blob-server bench/engines.sh
	$(CARGO) run -q --release -p wasm-core --example work_cost
	node bench/work-cost.mjs
	node bench/upload-work.mjs
	bench/cli.sh
	# node 20 has WebSocket (bench/cdp.mjs) behind a flag; later versions by default.
	node $$(node -e "typeof WebSocket === 'undefined' && console.log('--experimental-websocket')") bench/page-pipeline.mjs
	node bench/page-memory.mjs
	node bench/share-many.mjs

fuzz: setup
	scripts/fuzz.sh

clean:
	$(CARGO) clean
	rm -rf $(WASM_SEND) $(WASM_RECEIVE) web/pkg-formats web/pkg-pdf web/pkg-qr web/pkg-zip web/pkg-*-js
