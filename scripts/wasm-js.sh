#!/usr/bin/env bash
# The JavaScript build of one of the page's Rust modules, for browsers with
# WebAssembly turned off (Tor Browser at its "Safer" level). It is the same
# Rust code as the WebAssembly build, compiled to wasm and then translated
# to JavaScript by binaryen's wasm2js: no second implementation of anything.
#
#   scripts/wasm-js.sh CRATE LIB OUT_DIR OUT_NAME [cargo feature flags…]
#
# (LIB: the crate's [lib] name, as in the .wasm file cargo writes.)
#
# Why each step:
# - wasm2js accepts only the WebAssembly MVP plus a few extensions, and
#   refuses modules with several tables. The precompiled wasm32 std is built
#   with reference types (one more table once wasm-bindgen adds its externref
#   table), so std itself is rebuilt for the MVP CPU: nightly
#   `-Zbuild-std` with `-C target-cpu=mvp` (rust-src, installed by setup).
# - wasm-bindgen's `bundler` output imports the module as an ES module
#   (`import * as wasm from "./X_bg.wasm"`); wasm2js writes exactly such a
#   module, importing its imports from `./X_bg.js`. Only the import path
#   changes.
# - wasm2js grows memory by copying into a new ArrayBuffer and does not
#   detach the old one, so the glue's "memory grew" tests (a zero-length
#   view; `buffer.detached`, which Firefox has) never fire and stale views
#   would read and write the old copy. They are replaced by comparing
#   buffers, which holds for both builds.
set -euo pipefail
cd "$(dirname "$0")/.."

crate=$1 lib=$2 out=$3 name=$4
shift 4

RUSTFLAGS="-C target-cpu=mvp" cargo +nightly build -q -Zbuild-std=std,panic_abort \
  --target wasm32-unknown-unknown --profile wasm --target-dir target/mvp -p "$crate" --lib "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target bundler --out-dir "$tmp" --out-name "$name" "target/mvp/wasm32-unknown-unknown/wasm/$lib.wasm"
wasm-opt -Oz --strip-debug --strip-producers "$tmp/${name}_bg.wasm" -o "$tmp/opt.wasm"
wasm2js -Oz "$tmp/opt.wasm" -o "$tmp/${name}_bg.wasm.js"

# Each rewrite must find what it rewrites: a wasm-bindgen whose glue changed
# fails here, loudly, instead of making a build that corrupts memory.
rewrite() { # file, from, to
  grep -qF -- "$2" "$1" || { echo "wasm-js.sh: '$2' not found in $1 (wasm-bindgen glue changed?)" >&2; exit 1; }
  local f=$1 from=$2 to=$3
  FROM=$from TO=$to perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$f"
}
rewrite "$tmp/$name.js" "from \"./${name}_bg.wasm\"" "from \"./${name}_bg.wasm.js\""
grep -qE 'cached\w+Memory0\.byteLength === 0' "$tmp/${name}_bg.js" \
  || { echo "wasm-js.sh: no memory view test found in ${name}_bg.js (wasm-bindgen glue changed?)" >&2; exit 1; }
perl -pi -e 's/(cached\w+Memory0)\.byteLength === 0/$1.buffer !== wasm.memory.buffer/g;
  s/(cached\w+Memory0)\.buffer\.detached === true \|\| \(\1\.buffer\.detached === undefined && \1\.buffer !== wasm\.memory\.buffer\)/$1.buffer !== wasm.memory.buffer/g' "$tmp/${name}_bg.js"
if grep -qE "byteLength === 0|detached" "$tmp/${name}_bg.js"; then
  echo "wasm-js.sh: a memory view in ${name}_bg.js still relies on detached buffers" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out"
cp "$tmp/$name.js" "$tmp/${name}_bg.js" "$tmp/${name}_bg.wasm.js" "$out/"
printf 'js %s: %s bytes, %s gzipped\n' "$out" "$(cat "$out"/*.js | wc -c)" "$(cat "$out"/*.js | gzip -9 | wc -c)"
