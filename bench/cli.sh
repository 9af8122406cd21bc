#!/usr/bin/env bash
# veil send / veil get of 1 GiB over loopback against a release blob-server,
# compared with curl moving the same bytes to the same server (upload with
# POST, download with GET): wall time, MB/s, the ratio, and peak RSS of the
# veil process (/usr/bin/time -v).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/veil-cli-bench.XXXXXX)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
cargo build --release -p blob-server -p veil-cli >/dev/null 2>&1
GIB=$((1 << 30))
head -c $GIB /dev/urandom > "$WORK/1g.bin"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VEIL_LOG=warn ./target/release/blob-server --bind 127.0.0.1:$PORT --data-dir "$WORK/data" --static-dir web \
  --max-blob-size $((2 * GIB)) >/dev/null 2>&1 & SPID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"
t() { /usr/bin/time -f '%e %M' "$@" 2> "$WORK/time" >"$WORK/out"; tail -1 "$WORK/time"; }
read -r send_s send_kb < <(t ./target/release/veil send "$WORK/1g.bin" --server "$URL" --json)
LINK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["link"])' "$WORK/out")
read -r curl_up_s _ < <(t curl -s -T "$WORK/1g.bin" -X POST "$URL/api/v1/blobs")
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/out")
mkdir -p "$WORK/get"
read -r get_s get_kb < <(cd "$WORK/get" && t "$OLDPWD/target/release/veil" get "$LINK" -o got.bin)
read -r curl_down_s _ < <(t curl -s -o "$WORK/curl.bin" "$URL/api/v1/blobs/$ID")
cmp -s "$WORK/1g.bin" "$WORK/get/got.bin" && echo "veil get output identical to the input"
r() { python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{a:.2f} s ({(1<<30)/a/1e6:.0f} MB/s) vs curl {b:.2f} s ({(1<<30)/b/1e6:.0f} MB/s): ratio veil/curl throughput {b/a:.2f}')" "$1" "$2"; }
echo "veil send 1 GiB: $(r "$send_s" "$curl_up_s"); peak RSS $((send_kb / 1024)) MiB"
echo "veil get  1 GiB: $(r "$get_s" "$curl_down_s"); peak RSS $((get_kb / 1024)) MiB"
