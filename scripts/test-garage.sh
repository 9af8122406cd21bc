#!/usr/bin/env bash
# `make test-garage`: the multi-instance suite (blob-server/tests/shared)
# against Garage, a real distributed S3 engine, instead of moto. Installs
# Garage with cargo if missing (10-20 minutes on two cores; not part of
# `make test`), starts a one-node cluster on 127.0.0.1 with temporary data,
# creates a bucket and a key, runs the suite, stops Garage.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[test-garage] %s\n' "$*"; }

if ! command -v garage >/dev/null; then
  log "cargo install garage --locked (10-20 minutes)"
  nice cargo install garage --locked
fi

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3_port=$(free_port)
rpc_port=$(free_port)
admin_port=$(free_port)
cat >"$work/garage.toml" <<EOF
metadata_dir = "$work/meta"
data_dir = "$work/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
EOF
g() { garage -c "$work/garage.toml" "$@"; }

garage -c "$work/garage.toml" server >"$work/garage.log" 2>&1 &
garage_pid=$!
cleanup() { kill "$garage_pid" 2>/dev/null || true; wait "$garage_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 100); do
  g status >/dev/null 2>&1 && break
  sleep 0.2
done
node=$(g node id -q 2>/dev/null | cut -d@ -f1)
[ -n "$node" ] || { log "garage did not start:"; cat "$work/garage.log"; exit 1; }
g layout assign -z dc1 -c 1G "$node" >/dev/null
g layout apply --version 1 >/dev/null
g bucket create veil >/dev/null
key_info=$(g key create veil-test)
key_id=$(awk '/Key ID/ { print $NF; exit }' <<<"$key_info")
secret=$(awk '/Secret key/ { print $NF; exit }' <<<"$key_info")
[ -n "$key_id" ] && [ -n "$secret" ] || { log "cannot read the key:"; echo "$key_info"; exit 1; }
g bucket allow --read --write --owner veil --key veil-test >/dev/null
log "garage $(g --version 2>/dev/null | head -1) on 127.0.0.1:$s3_port"

VEIL_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port" VEIL_TEST_S3_BUCKET=veil \
  AWS_ACCESS_KEY_ID="$key_id" AWS_SECRET_ACCESS_KEY="$secret" \
  cargo test -p blob-server --test shared -- --nocapture
