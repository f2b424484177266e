#!/usr/bin/env bash
# Measures `sextant triage` end to end on generated Trivy reports against
# jq and Python reading the same file, as recorded in BENCHMARKS.md.
#
#   scripts/bench-triage.sh [findings...]     default: 100000 1000000
#
# Each report is about 1 KB per finding (100,000 findings ≈ 100 MB). Files go
# to ${BENCH_DIR:-bench-data} (git-ignored). Needs jq and python3 for the
# comparison columns; /usr/bin/time for peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-bench-data}
mkdir -p "$dir"
go build -o "$dir/sextant" ./cmd/sextant
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
t() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
printf '| findings | report | jq -c . | python json.load | sextant -o table | sextant -o json |\n|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  f="$dir/trivy-$n.json"
  [ -s "$f" ] || go run ./internal/triage/gen -findings "$n" -o "$f"
  size=$(du -m "$f" | cut -f1)
  read -r jt jm < <(t jq -c . "$f")
  read -r pt pm < <(t python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f")
  read -r st sm < <(t "$dir/sextant" triage --no-intel --progress never "$f")
  read -r jst jsm < <(t "$dir/sextant" triage --no-intel --progress never -o json "$f")
  printf '| %d | %d MB | %s s, %d MB | %s s, %d MB | %s s, %d MB | %s s, %d MB |\n' "$n" "$size" \
    "$jt" $((jm / 1024)) "$pt" $((pm / 1024)) "$st" $((sm / 1024)) "$jst" $((jsm / 1024))
done
