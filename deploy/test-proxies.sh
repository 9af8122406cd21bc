#!/usr/bin/env bash
# `make test-deploy`: the files in deploy/ work as shipped. Runs
# blob-server behind nginx (deploy/nginx.conf: HTTPS with a throwaway
# certificate, HTTP/2) and behind Caddy (deploy/Caddyfile, its log filter),
# each on 127.0.0.1 with temporary ports and directories, streams a 24 MiB
# upload and download through each, then runs deploy/check-logs.sh on each
# access log. Also checks deploy/torrc with tor and deploy/veil.service with
# systemd-analyze where they are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${BLOB_SERVER:-target/debug/blob-server}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
log() { printf '[test-deploy] %s\n' "$*"; }

backend=$(free_port)
VEIL_LOG=warn "$server" --bind "127.0.0.1:$backend" --data-dir "$work/data" --static-dir web \
  --max-blob-size 67108864 >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$backend/healthz" >/dev/null && break; sleep 0.1; done

head -c $((24 * 1024 * 1024)) /dev/urandom >"$work/blob"
# Waits for a proxy to answer; fails if it died.
wait_up() {
  local url=$1 pid=$2 what=$3
  for _ in $(seq 100); do curl -sk -o /dev/null "$url/healthz" && return 0; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  log "FAIL: $what did not start"; cat "$work"/*/*.log 2>/dev/null | tail -5; exit 1
}
# Uploads and downloads through a proxy; the bytes must come back intact.
round_trip() {
  local base=$1 id
  id=$(curl -sk --fail-with-body -X POST --data-binary @"$work/blob" "$base/api/v1/blobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sk --fail -o "$work/back" "$base/api/v1/blobs/$id"
  cmp -s "$work/blob" "$work/back" || { log "FAIL: bytes differ through $base"; exit 1; }
  # One range (a share's one file): the proxy must pass Range and the 206.
  [ "$(curl -sk --fail -r 1000-1999 -o "$work/part" -w '%{http_code}' "$base/api/v1/blobs/$id")" = 206 ] \
    || { log "FAIL: no 206 for a Range through $base"; exit 1; }
  cmp -s "$work/part" <(tail -c +1001 "$work/blob" | head -c 1000) || { log "FAIL: range bytes differ through $base"; exit 1; }
  log "24 MiB up and down, and one range, through $base: intact"
}

# --- nginx, as shipped, with ports, certificate and log paths moved.
if command -v nginx >/dev/null; then
  http=$(free_port); https=$(free_port)
  mkdir -p "$work/nginx"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=veil.example.org \
    -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2>/dev/null
  sed -e "s#127.0.0.1:8080#127.0.0.1:$backend#" \
      -e "s#listen 80;#listen 127.0.0.1:$http;#" -e "/listen \[::\]:80;/d" \
      -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https ssl http2;#" -e "/listen \[::\]:443 ssl http2;/d" \
      -e "s#/etc/letsencrypt/live/veil.example.org/fullchain.pem#$work/nginx/cert.pem#" \
      -e "s#/etc/letsencrypt/live/veil.example.org/privkey.pem#$work/nginx/key.pem#" \
      -e "s#/var/log/nginx/#$work/nginx/#" deploy/nginx.conf >"$work/nginx/veil.conf"
  cat >"$work/nginx/main.conf" <<EOF
pid $work/nginx/nginx.pid;
error_log $work/nginx/main-error.log;
daemon off;
events {}
http {
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  include $work/nginx/veil.conf;
}
EOF
  nginx -c "$work/nginx/main.conf" -e "$work/nginx/main-error.log" &
  pids+=($!)
  wait_up "https://127.0.0.1:$https" "$!" nginx
  round_trip "https://127.0.0.1:$https"
  [ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http/x")" = "301 https://127.0.0.1/x" ] \
    || { log "FAIL: nginx port 80 does not redirect to HTTPS"; exit 1; }
  deploy/check-logs.sh "https://127.0.0.1:$https" "$work/nginx/veil-access.log"
  # The check can fail: a log line in nginx's default format is caught.
  { cat "$work/nginx/veil-access.log"; echo '127.0.0.1 - - [01/Dec/2026:00:00:00 +0000] "GET /healthz HTTP/1.1" 200 2'; } >"$work/control.log"
  if deploy/check-logs.sh "https://127.0.0.1:$https" "$work/control.log" >/dev/null; then
    log "FAIL: check-logs.sh missed an address"; exit 1
  fi
  sed -n 1,2p "$work/nginx/veil-access.log"
else
  log "nginx not installed: skipped"
fi

# --- Caddy, as shipped, on plain HTTP (a certificate needs a public name).
if command -v caddy >/dev/null; then
  port=$(free_port)
  mkdir -p "$work/caddy"
  { printf '{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s/caddy/state\n}\n\n' "$work"
    sed -e "s#^veil.example.org {#http://127.0.0.1:$port {#" -e "s#127.0.0.1:8080#127.0.0.1:$backend#" \
        -e "s#/var/log/caddy/#$work/caddy/#" deploy/Caddyfile; } >"$work/caddy/Caddyfile"
  HOME="$work/caddy" XDG_DATA_HOME="$work/caddy" caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile \
    >"$work/caddy/caddy.log" 2>&1 &
  pids+=($!)
  wait_up "http://127.0.0.1:$port" "$!" caddy
  round_trip "http://127.0.0.1:$port"
  deploy/check-logs.sh "http://127.0.0.1:$port" "$work/caddy/veil-access.log"
  sed -n 1p "$work/caddy/veil-access.log"
else
  log "caddy not installed: skipped"
fi

# --- tor and systemd only validate their files.
if command -v tor >/dev/null; then
  sed "s#/var/lib/tor/veil/#$work/tor/hs/#" deploy/torrc >"$work/torrc"
  echo "DataDirectory $work/tor/data" >>"$work/torrc"
  tor --verify-config -f "$work/torrc" 2>&1 | grep -q "Configuration was valid" \
    || { log "FAIL: deploy/torrc"; exit 1; }
  log "deploy/torrc: valid"
fi
if command -v systemd-analyze >/dev/null; then
  # Only a missing binary may be reported (it is installed at deploy time).
  if systemd-analyze verify deploy/veil.service 2>&1 | grep -v 'is not executable' | grep .; then
    log "FAIL: deploy/veil.service"; exit 1
  fi
  log "deploy/veil.service: valid"
fi
