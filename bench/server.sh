#!/usr/bin/env bash
# Server benchmarks (make bench), all on 127.0.0.1 and bounded in time:
#  1. 1 GiB upload and download with curl: Veil vs nginx (sendfile GET,
#     WebDAV PUT) on the same machine, as a ratio;
#  2. peak RSS of blob-server (VmHWM) during 64 concurrent 100 MiB uploads
#     and then 64 concurrent downloads;
#  3. small-blob requests/s with wrk: create (POST 1 KiB), fetch (GET 1 KiB)
#     beside nginx serving the same bytes, and /healthz.
# BLOB_SERVER=path measures another build (e.g. an older one, for before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/veil-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f}')" "$1"; }
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1])/float(sys.argv[2])/1e6:.0f}')" "$1" "$2"; }

if [ -z "${BLOB_SERVER:-}" ]; then
  cargo build --release -p blob-server >/dev/null 2>&1
  BLOB_SERVER=./target/release/blob-server
fi
GIB=$((1 << 30))
head -c $GIB /dev/urandom > "$WORK/1g.bin"

# nginx: sendfile for GET, WebDAV PUT for uploads.
NPORT=$(free_port)
mkdir -p "$WORK/nginx/root" "$WORK/nginx/tmp"
# Workers must be able to write the temp and root folders (as root, run them as root).
NGINX_USER=""; [ "$(id -u)" -eq 0 ] && NGINX_USER="user root;"
cat > "$WORK/nginx/nginx.conf" <<CONF
$NGINX_USER
daemon off;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$NPORT;
    root $WORK/nginx/root;
    client_max_body_size 2g;
    location / { dav_methods PUT; create_full_put_path on; }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" & PIDS+=($!)

VPORT=$(free_port)
VEIL_LOG=warn "$BLOB_SERVER" --bind 127.0.0.1:$VPORT --data-dir "$WORK/veil" \
  --static-dir "$ROOT/web" --max-blob-size $((2 * GIB)) > "$WORK/veil.log" 2>&1 & VPID=$!; PIDS+=($VPID)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$VPORT/healthz" >/dev/null && curl -s "http://127.0.0.1:$NPORT/" >/dev/null && break; sleep 0.1; done
# Both must answer a real PUT/GET before timing anything.
echo probe > "$WORK/probe"
curl -sf -T "$WORK/probe" "http://127.0.0.1:$NPORT/probe" >/dev/null && curl -sf "http://127.0.0.1:$NPORT/probe" >/dev/null \
  || { echo "nginx is not serving (see $WORK/nginx/error.log)"; cat "$WORK/nginx/error.log"; exit 1; }

echo "== 1 GiB over loopback (curl), median of 3"
med() { sort -n | sed -n 2p; }
up_n=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{time_total}\n' -T "$WORK/1g.bin" "http://127.0.0.1:$NPORT/1g.bin"; done | med)
up_v=$(for _ in 1 2 3; do curl -s -o "$WORK/created.json" -w '%{time_total}\n' -T "$WORK/1g.bin" -X POST "http://127.0.0.1:$VPORT/api/v1/blobs"; done | med)
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/created.json")
down_n=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$NPORT/1g.bin"; done | med)
down_v=$(for _ in 1 2 3; do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$VPORT/api/v1/blobs/$ID"; done | med)
echo "upload:   nginx $(secs "$up_n") s ($(mbps $GIB "$up_n") MB/s) | veil $(secs "$up_v") s ($(mbps $GIB "$up_v") MB/s) | veil/nginx throughput $(python3 -c "print(f'{$up_n/$up_v:.2f}')")"
echo "download: nginx $(secs "$down_n") s ($(mbps $GIB "$down_n") MB/s) | veil $(secs "$down_v") s ($(mbps $GIB "$down_v") MB/s) | veil/nginx throughput $(python3 -c "print(f'{$down_n/$down_v:.2f}')")"

echo "== peak RSS with 64 concurrent 100 MiB transfers"
head -c $((100 << 20)) /dev/urandom > "$WORK/100m.bin"
rss() { awk '/VmRSS|VmHWM/ {printf "%s %s kB  ", $1, $2}' /proc/$VPID/status; echo; }
echo -n "before: "; rss
seq 64 | xargs -P 64 -I{} curl -s -o "$WORK/c{}.json" -T "$WORK/100m.bin" -X POST "http://127.0.0.1:$VPORT/api/v1/blobs"
echo -n "after 64 uploads: "; rss
seq 64 | xargs -P 64 -I{} sh -c "curl -s -o /dev/null http://127.0.0.1:$VPORT/api/v1/blobs/\$(python3 -c 'import json; print(json.load(open(\"$WORK/c{}.json\"))[\"id\"])')"
echo -n "after 64 downloads: "; rss

echo "== small blobs with wrk (2 threads, 32 connections, 10 s each)"
head -c 1024 /dev/urandom | base64 -w0 > "$WORK/small.txt"
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = io.open("$WORK/small.txt"):read("*a")
LUA
SMALL=$(curl -s --data-binary @"$WORK/small.txt" "http://127.0.0.1:$VPORT/api/v1/blobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo -n "create (POST 1 KiB, fsync each): "; wrk -t2 -c32 -d10s -s "$WORK/post.lua" "http://127.0.0.1:$VPORT/api/v1/blobs" | awk '/Requests\/sec/ {print $2 " req/s"}'
reqs() { wrk -t2 -c32 -d10s "$1" | awk '/Requests\/sec/ {print $2}'; }
cp "$WORK/small.txt" "$WORK/nginx/root/small.txt"
get_v=$(reqs "http://127.0.0.1:$VPORT/api/v1/blobs/$SMALL")
get_n=$(reqs "http://127.0.0.1:$NPORT/small.txt")
health=$(reqs "http://127.0.0.1:$VPORT/healthz")
echo "fetch (GET 1 KiB):               veil $get_v req/s | nginx (same bytes) $get_n req/s | veil/nginx $(python3 -c "print(f'{$get_v/$get_n:.2f}')")"
echo "/healthz:                        veil $health req/s"
