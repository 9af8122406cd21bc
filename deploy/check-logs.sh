#!/usr/bin/env bash
# Proves, on a running deployment, that the proxy's access log holds no
# client address: sends one request with a marker address in every
# forwarding header, then looks for the marker and for the caller's own
# address in the log. Usage: deploy/check-logs.sh URL LOGFILE
set -euo pipefail
url=${1:?usage: check-logs.sh URL LOGFILE}; log=${2:?usage: check-logs.sh URL LOGFILE}
marker=203.0.113.77
curl -sk -o /dev/null -H "X-Forwarded-For: $marker" -H "X-Real-IP: $marker" -H "Forwarded: for=$marker" \
  -A "veil-check-$marker" -e "http://$marker/" "$url/healthz?from=$marker"
sleep 1
# The addresses this machine could have come from, plus the marker.
addresses=$( { hostname -I 2>/dev/null | tr ' ' '\n'; echo 127.0.0.1; echo ::1; echo "$marker"; } | grep -v '^$')
if grep -Fq -f <(printf '%s\n' "$addresses" "veil-check" "from=") "$log"; then
  echo "FAIL: $log holds a client address, user agent or query:"; grep -F -f <(printf '%s\n' "$addresses" "veil-check" "from=") "$log" | tail -3; exit 1
fi
echo "OK: $(wc -l <"$log") lines in $log, none with a client address, user agent or query"
