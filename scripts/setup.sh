#!/usr/bin/env bash
# Idempotent setup: installs what a fresh Debian 12 machine lacks to build,
# run and test Veil. Each step checks first and does nothing when satisfied.
# Reachable: crates.io, npm, PyPI, Debian apt, rustup targets; nothing from
# GitHub. See README.md ("Setup") for what each piece is for.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
APT_PACKAGES=(chromium chromium-driver firefox-esr libimage-exiftool-perl libheif-examples libjxl-tools poppler-utils qpdf librsvg2-bin libarchive-zip-perl ffmpeg curl openssl postgresql nginx caddy)
# Packages whose Debian service the tests do not want running (they start
# their own instances on 127.0.0.1 with temporary configuration).
NO_SERVICE=(postgresql nginx caddy)
PIP_PACKAGES=(cryptography argon2-cffi)

log() { printf '[setup] %s\n' "$*"; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v cargo >/dev/null; then
  echo "[setup] cargo is missing: install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi

# 1. The wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 1b. A nightly toolchain with the standard library's source: the
#     JavaScript build of the page's modules (scripts/wasm-js.sh) rebuilds
#     std for the WebAssembly MVP, which only nightly cargo can do.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "rustup toolchain install nightly (minimal, with rust-src)"
  rustup toolchain install nightly --profile minimal --component rust-src
elif ! rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
  log "rustup +nightly component add rust-src"
  rustup +nightly component add rust-src
fi

# 2. Debian packages: the browsers (Chromium and its driver for the wasm
#    and e2e tests; Firefox ESR, the base of Tor Browser, for the Firefox
#    suite),
#    exiftool (the independent metadata verifier), heif-convert, djxl
#    (libjxl-tools) and ffmpeg (independent decoders proving that stripping
#    left HEIC/AVIF/JPEG XL/video/audio intact), pdftoppm (poppler-utils)
#    and rsvg-convert (librsvg2-bin), which render documents for
#    bench/strip-compare.py, qpdf (an independent reader of what a cleaned
#    PDF still holds), and Archive::Zip, which exiftool needs to read
#    Office and OpenDocument files,
#    PostgreSQL (the multi-instance tests start their own cluster on
#    127.0.0.1), nginx and Caddy (deploy/test-proxies.sh runs the shipped
#    configurations). Their Debian services are stopped and disabled
#    right after a fresh install: nothing listens on :80 or :5432 for us.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -d /run/systemd/system ]; then
    for p in "${missing[@]}"; do
      if [[ " ${NO_SERVICE[*]} " == *" $p "* ]]; then
        $SUDO systemctl disable --now "$p" >/dev/null 2>&1 || true
      fi
    done
  fi
fi
# Debian's binaryen (108) corrupts wasm-bindgen output; ours comes from npm and
# is put first on PATH by the Makefile.
if [ -x /usr/bin/wasm-opt ]; then
  log "note: /usr/bin/wasm-opt (Debian binaryen) is present; the Makefile puts tools/node_modules/.bin first"
fi

# 3. wasm-pack.
if ! wasm-pack --version 2>/dev/null | grep -qx "wasm-pack $WASM_PACK_VERSION"; then
  log "cargo install wasm-pack $WASM_PACK_VERSION (about 2-5 minutes)"
  nice cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked
fi

# 4. wasm-bindgen-cli, exactly the wasm-bindgen version in Cargo.lock.
#    Not --locked: its lockfile names a webpki-roots release the registry lacks.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$WB_VERSION" ]; then
  echo "[setup] cannot read the wasm-bindgen version from Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WB_VERSION"; then
  log "cargo install wasm-bindgen-cli $WB_VERSION (about 3-5 minutes)"
  nice cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

# 5. Node tools: wasm-opt and wasm2js (npm binaryen), playwright-core
#    (Chromium), puppeteer-core (Firefox over WebDriver BiDi; it must not
#    download a browser: Debian's firefox-esr is used), tus-js-client.
if [ ! -x tools/node_modules/.bin/wasm-opt ] || [ ! -d tools/node_modules/playwright-core ] \
   || [ ! -d tools/node_modules/puppeteer-core ] || [ ! -d tools/node_modules/tus-js-client ] \
   || [ tools/package-lock.json -nt tools/node_modules/.package-lock.json ]; then
  log "npm ci in tools/"
  (cd tools && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# 6. Python packages for the independent test-vector checker.
if ! python3 -c 'import cryptography, argon2' 2>/dev/null; then
  log "pip install ${PIP_PACKAGES[*]}"
  python3 -m pip install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
fi

# 7. moto, the S3 server the multi-instance tests start on 127.0.0.1.
if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
  log "pip install moto[server]"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
fi

log "ok"
