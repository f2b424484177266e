#!/usr/bin/env bash
# Measures the intake of `sextant serve` under load with cmd/loadgen, on
# loopback, as recorded in BENCHMARKS.md ("`sextant serve` intake").
#
#   scripts/bench-serve.sh [sqlite|postgres] [webhook] [reports] [open]
#
# Scenarios (default: all three):
#   webhook  HMAC-signed webhook deliveries of 1 finding, closed loop, 16 workers
#   reports  POST /v1/reports of 200 findings each, closed loop, 8 workers
#   open     POST /v1/reports of 1 finding, open loop at 200 requests/s
#
# Each scenario gets a fresh database (a temporary SQLite file, or a new
# PostgreSQL database on $PGURL), a new API token and its own server
# (`sextant serve --no-intel --log-level warn` on a free loopback port), so
# that the backlog one scenario leaves in the queue does not slow the next.
# The server's RSS and CPU time are sampled during the run.
#
# Environment:
#   DURATION=20s      length of each scenario
#   PGURL=postgres://postgres@127.0.0.1:5432   server for `postgres` (trust auth)
#   MAX_LOAD=1.5      wait (up to LOAD_TRIES × 45 s) while the 1-minute load
#   LOAD_TRIES=6      average is above this: the machine may be shared
#   PROFILE=1         write a CPU profile of each server to $BENCH_DIR
#   BENCH_DIR=bench-data   binaries, logs and the JSON results (git-ignored)
#
# Needs go, curl, jq, GNU time (/usr/bin/time) and python3 (to pick a free
# port); psql for postgres.
set -euo pipefail
cd "$(dirname "$0")/.."

store=sqlite
case "${1:-}" in
sqlite | postgres) store=$1; shift ;;
esac
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(webhook reports open)
duration=${DURATION:-20s}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
max_load=${MAX_LOAD:-1.5}
load_tries=${LOAD_TRIES:-6}
dir=${BENCH_DIR:-bench-data}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

go build -o "$dir/sextant" ./cmd/sextant
go build -o "$dir/loadgen" ./cmd/loadgen

tmp=$(mktemp -d)
server_pid=
pgdb=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$pgdb" ]; then
    psql -q "$pgurl/postgres" -c "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

SEXTANT_BENCH_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SEXTANT_BENCH_SECRET
cat >"$tmp/sextant.yaml" <<'EOF'
webhooks:
  - name: bench
    scheme: hmac-sha256
    secret: {env: SEXTANT_BENCH_SECRET}
    max_body_bytes: 10MiB
EOF
"$dir/sextant" config check --config "$tmp/sextant.yaml" >/dev/null 2>&1 ||
  "$dir/sextant" config check --config "$tmp/sextant.yaml"

# wait_quiet waits while the 1-minute load average is above $max_load, and
# prints the load average the measurement starts at.
wait_quiet() {
  local i load
  for ((i = 1; i <= load_tries; i++)); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if awk -v l="$load" -v m="$max_load" 'BEGIN { exit !(l <= m) }'; then
      break
    fi
    echo "load average $load > $max_load; waiting 45 s ($i/$load_tries)" >&2
    sleep 45
  done
  cut -d' ' -f1-3 /proc/loadavg
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME: a fresh database, a token in $token, a server in
# $server_pid listening on $url.
start_server() {
  local name=$1 db
  if [ "$store" = postgres ]; then
    pgdb="sextant_bench_$$_$name"
    psql -q "$pgurl/postgres" -c "CREATE DATABASE $pgdb" >/dev/null
    db="$pgurl/$pgdb"
  else
    db="$tmp/$name.db"
  fi
  token=$("$dir/sextant" token create --name bench --role analyst --database "$db" 2>>"$dir/serve-$store-$name.log")
  local port
  port=$(free_port)
  url="http://127.0.0.1:$port"
  local prof=()
  [ -z "${PROFILE:-}" ] || prof=(env "SEXTANT_CPUPROFILE=$dir/serve-$store-$name.prof")
  "${prof[@]}" "$dir/sextant" serve --config "$tmp/sextant.yaml" --database "$db" \
    --addr "127.0.0.1:$port" --no-intel --log-level warn 2>>"$dir/serve-$store-$name.log" &
  server_pid=$!
  for _ in $(seq 100); do
    curl -fsS "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "sextant serve did not become ready; see $dir/serve-$store-$name.log" >&2
  return 1
}

# stop_server: how many of the payloads accepted were processed by the end
# of the run (from /metrics), then SIGTERM, which lets the jobs in hand
# finish and writes the CPU profile.
stop_server() {
  curl -fsS "$url/metrics" | awk '
    /^sextant_intake_payloads_total\{/ { in_ += $NF }
    /^sextant_jobs_total\{outcome="done"\}/ { done += $NF }
    END { printf "%d of %d processed", done, in_ }'
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=
  if [ -n "$pgdb" ]; then
    psql -q "$pgurl/postgres" -c "DROP DATABASE $pgdb" >/dev/null
    pgdb=
  fi
}

: >"$dir/serve-$store.tsv"
for sc in "${scenarios[@]}"; do
  case "$sc" in
  webhook) args=(-mode webhook -webhook-source bench -secret-env SEXTANT_BENCH_SECRET -findings 1 -concurrency 16) ;;
  reports) args=(-mode reports -findings 200 -concurrency 8) ;;
  open) args=(-mode reports -findings 1 -rate 200) ;;
  *) echo "unknown scenario $sc: want webhook, reports or open" >&2; exit 2 ;;
  esac
  load=$(wait_quiet)
  start_server "$sc"
  out="$dir/serve-$store-$sc.json"
  echo "== $store $sc (load $load): loadgen ${args[*]} -duration $duration" >&2
  SEXTANT_TOKEN=$token /usr/bin/time -f '%U %S' -o "$tmp/loadgen-cpu" \
    "$dir/loadgen" -url "$url" "${args[@]}" -duration "$duration" -pid "$server_pid" -o json >"$out"
  loadgen_cpu=$(awk '{ printf "%.1f s", $1 + $2 }' "$tmp/loadgen-cpu")
  queue=$(stop_server)
  jq -r --arg store "$store" --arg sc "$sc" --arg load "$load" --arg queue "$queue" --arg lcpu "$loadgen_cpu" '[$store, $sc, $load,
      (.payloads_per_second | round), (.findings_per_second | round),
      (.latency_ms.p50 * 10 | round / 10), (.latency_ms.p99 * 10 | round / 10), (.latency_ms.max | round),
      ([.errors | to_entries[] | "\(.key)×\(.value)"] | join(" ") | if . == "" then "0" else . end),
      "\(.server.rss_start_mib | round)/\(.server.rss_max_mib | round)/\(.server.rss_end_mib | round) MiB",
      "\(.server.cpu_seconds * 10 | round / 10) s", $lcpu, $queue] | @tsv' "$out" >>"$dir/serve-$store.tsv"
done

echo
echo "| store | scenario | load avg | payloads/s | findings/s | p50 ms | p99 ms | max ms | errors | RSS start/max/end | server CPU | loadgen CPU | processed by the end |"
echo "|---|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|"
awk -F'\t' '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "" }' "$dir/serve-$store.tsv"
echo
echo "JSON results: $dir/serve-$store-*.json" >&2
