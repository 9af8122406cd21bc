#!/usr/bin/env bash
# Storage engines side by side (make bench), on 127.0.0.1 and bounded:
#  1. 1 GiB upload (one request, and tus in 16 MiB PATCHes) and download
#     through blob-server on local disk (sled) and on S3 (moto) with
#     PostgreSQL records, with each instance's peak RSS per phase; beside
#     boto3 (`aws s3 cp`'s library) copying the same bytes straight to moto
#     and back (what the S3 engine cannot beat);
#  2. claims per second under contention: wrk hammering one download-limited
#     blob, sled vs PostgreSQL (objects in a local directory, so the records
#     are what is measured; and with moto, for the whole path), checking
#     afterwards that every 200 was counted exactly once.
# Starts its own PostgreSQL cluster and moto with temporary data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/veil-engines.XXXXXX)
PIDS=()
PGDATA="$WORK/pg/data"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" stop -m fast -D "$PGDATA" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
mbps() { python3 -c "import sys; print(f'{int(sys.argv[1])/float(sys.argv[2])/1e6:.0f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
hwm_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
# Resets a process's peak RSS so each phase is measured on its own.
reset_hwm() { echo 5 > "/proc/$1/clear_refs"; }

[ -n "${BLOB_SERVER:-}" ] || { cargo build --release -p blob-server >/dev/null 2>&1; BLOB_SERVER=./target/release/blob-server; }
GIB=$((1 << 30))
head -c $GIB /dev/urandom > "$WORK/1g.bin"

# --- PostgreSQL and moto.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
chmod 755 "$WORK"; mkdir -p "$PGDATA"; [ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK/pg"
as_pg "$PGBIN/initdb" -A trust -U veil --no-sync -D "$PGDATA" >/dev/null
PGPORT=$(free_port)
as_pg "$PGBIN/pg_ctl" start -w -D "$PGDATA" -l "$PGDATA/log" \
  -o "-h 127.0.0.1 -p $PGPORT -k $WORK/pg -c max_connections=200" >/dev/null
# One database per store: the records of one deployment belong to one store.
for db in veil_s3 veil_dir; do psql -q "postgres://veil@127.0.0.1:$PGPORT/postgres" -c "CREATE DATABASE $db"; done
PGURL="postgres://veil@127.0.0.1:$PGPORT/veil_s3"
PGURL_DIR="postgres://veil@127.0.0.1:$PGPORT/veil_dir"
S3PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$S3PORT" >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$S3PORT/" && break; sleep 0.1; done
curl -sf -o /dev/null -X PUT "http://127.0.0.1:$S3PORT/veil"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench

# Starts blob-server with extra flags; sets PORT and PID.
start() {
  PORT=$(free_port)
  VEIL_LOG=warn "$BLOB_SERVER" --bind "127.0.0.1:$PORT" --data-dir "$WORK/data-$PORT" \
    --static-dir "$ROOT/web" --max-blob-size $((2 * GIB)) --max-downloads 100000000 "$@" \
    > "$WORK/server-$PORT.log" 2>&1 & PID=$!; PIDS+=($PID)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "blob-server did not start: $(cat "$WORK/server-$PORT.log")" >&2; exit 1
}
s3_flags=(--storage "s3://veil/bench" --s3-endpoint "http://127.0.0.1:$S3PORT" --s3-region us-east-1 --s3-path-style)

echo "== 1 GiB through each engine (MB/s; peak RSS of the instance per phase)"
printf '%-26s %10s %10s %10s %8s %8s %8s\n' engine "POST MB/s" "tus MB/s" "GET MB/s" "POST MB" "tus MB" "GET MB"
declare -A RESULT
for engine in local s3; do
  if [ $engine = local ]; then start; else start --meta "$PGURL" "${s3_flags[@]}"; fi
  base="http://127.0.0.1:$PORT"
  reset_hwm $PID; t0=$(now)
  answer=$(curl -s -X POST -T "$WORK/1g.bin" -H 'Expect:' "$base/api/v1/blobs")
  id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$answer" 2>/dev/null) \
    || { echo "1 GiB POST to the $engine engine failed: $answer" >&2; tail -5 "$WORK/server-$PORT.log" >&2; exit 1; }
  t1=$(now); post_rss=$(hwm_mb $PID)
  reset_hwm $PID; t2=$(now)
  python3 bench/tus_upload.py "$base" "$WORK/1g.bin" > /dev/null
  t3=$(now); tus_rss=$(hwm_mb $PID)
  reset_hwm $PID; t4=$(now)
  curl -sf -o /dev/null "$base/api/v1/blobs/$id"
  t5=$(now); get_rss=$(hwm_mb $PID)
  post=$(python3 -c "print($t1-$t0)"); tus=$(python3 -c "print($t3-$t2)"); get=$(python3 -c "print($t5-$t4)")
  RESULT[$engine-post]=$post; RESULT[$engine-tus]=$tus; RESULT[$engine-get]=$get
  printf '%-26s %10s %10s %10s %8s %8s %8s\n' "$engine" "$(mbps $GIB $post)" "$(mbps $GIB $tus)" "$(mbps $GIB $get)" "$post_rss" "$tus_rss" "$get_rss"
  kill $PID; wait $PID 2>/dev/null || true
done
read -r plain_put plain_get < <(python3 bench/s3_plain.py "http://127.0.0.1:$S3PORT" veil "$WORK/1g.bin")
printf '%-26s %10s %10s %10s\n' "boto3 straight to moto" "$(mbps $GIB $plain_put)" "-" "$(mbps $GIB $plain_get)"
echo "time ratios (higher = slower): s3/local POST $(ratio ${RESULT[s3-post]} ${RESULT[local-post]}), tus $(ratio ${RESULT[s3-tus]} ${RESULT[local-tus]}), GET $(ratio ${RESULT[s3-get]} ${RESULT[local-get]});" \
  "s3 engine/plain moto PUT $(ratio ${RESULT[s3-post]} $plain_put), GET $(ratio ${RESULT[s3-get]} $plain_get)"

echo
echo "== claims per second on one limited blob (wrk, 2 threads, 32 connections, 10 s; 1 KiB blob)"
printf '%-34s %10s %10s %s\n' engine "claims/s" "non-200" "counted"
declare -A CLAIMS
for engine in sled postgres+dir postgres+moto; do
  case $engine in
    sled) start ;;
    postgres+dir) start --meta "$PGURL_DIR" --storage "file://$WORK/objects" ;;
    postgres+moto) start --meta "$PGURL" "${s3_flags[@]}" ;;
  esac
  base="http://127.0.0.1:$PORT"
  head -c 1024 /dev/urandom > "$WORK/1k.bin"
  id=$(curl -sf -X POST --data-binary @"$WORK/1k.bin" -H 'Veil-Max-Downloads: 100000000' "$base/api/v1/blobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  out=$(wrk -t2 -c32 -d10s "$base/api/v1/blobs/$id")
  total=$(awk '/requests in/ { print $1 }' <<<"$out")
  rate=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
  bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out"); bad=${bad:-0}
  left=$(curl -sfI "$base/api/v1/blobs/$id" | awk -F': ' 'tolower($1)=="veil-downloads-left" { print $2+0 }')
  counted=$((100000000 - left))
  CLAIMS[$engine]=$rate
  answered=$((total - bad))
  printf '%-34s %10s %10s %s\n' "$engine" "$rate" "$bad" "$counted claims recorded for $answered answered 200"
  # wrk stops with up to one request per connection in flight: those may be
  # counted without an answer, nothing else may differ.
  if [ "$bad" != 0 ] || [ "$counted" -lt "$answered" ] || [ "$counted" -gt $((answered + 32)) ]; then
    echo "FAIL: claims and answers disagree on $engine" >&2; exit 1
  fi
  kill $PID; wait $PID 2>/dev/null || true
done
echo "ratio postgres/sled: $(ratio ${CLAIMS[postgres+dir]} ${CLAIMS[sled]}) (records only), $(ratio ${CLAIMS[postgres+moto]} ${CLAIMS[sled]}) (with moto)"
