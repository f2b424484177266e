#!/usr/bin/env bash
# compare-k8s-peers.sh — sextant side by side with kube-score and kubesec.
#
# Installs kube-score and kubesec into a temporary directory (never into the
# repository, never on PATH), runs the three tools on the same manifests and
# prints Markdown tables: the machine, the tool versions, wall time over the
# shared Kubernetes fixtures and over 10,000 generated objects, and whether
# the peer coverage table in docs/k8s-checks.md still lists every kube-score
# check and kubesec rule. Every tool reads local files only.
#
#   scripts/compare-k8s-peers.sh            # from the repository root
#   RUNS=20 scripts/compare-k8s-peers.sh    # more timed runs per tool
#   KEEP=1 scripts/compare-k8s-peers.sh     # keep the temporary directory
#
# Environment:
#   SEXTANT_FIXTURES  the shared fixtures folder (default: ../shared/fixtures
#                     beside the repository)
#   RUNS              timed runs per tool and set (default 10), after 2 warm-ups
#   OBJECTS           size of the generated set (default 10000; a multiple of 10)
#   KEEP              1 keeps the temporary directory and prints its path
#
# Needs: go, awk. Uses hyperfine when installed (apt-get install -y hyperfine),
# else a loop with bash's time; GNU time (/usr/bin/time) for peak memory and jq
# for object and finding counts when they are installed.
#
# About kubesec: the stock `kubesec scan` validates every object against JSON
# schemas it downloads from GitHub before it runs a rule, and handles one file
# per call. Without network access it reports every object invalid and runs no
# rule. The script therefore also builds "kubesec-local", a 30-line program in
# the same scratch module that calls kubesec's own rule engine (pkg/ruler) with
# schema validation off — what kubesec does for objects that come from a
# cluster — over all the files in one process. Its timings are kubesec's rule
# engine without the schema download.
set -euo pipefail

KUBE_SCORE_VERSION=v1.20.0
KUBESEC_VERSION=v2.14.2
RUNS=${RUNS:-10}
OBJECTS=${OBJECTS:-10000}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures=${SEXTANT_FIXTURES:-$repo/../shared/fixtures}
k8sdir=$fixtures/k8s
if [[ ! -d $k8sdir ]]; then
	echo "compare-k8s-peers: no $k8sdir; set SEXTANT_FIXTURES to the shared fixtures folder" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sextant-peers.XXXXXX")
if [[ ${KEEP:-} == 1 ]]; then
	echo "compare-k8s-peers: keeping $work" >&2
else
	trap 'rm -rf "$work"' EXIT
fi
bin=$work/bin
mkdir -p "$bin"
log() { echo "compare-k8s-peers: $*" >&2; }

# --- build and install -------------------------------------------------------
log "building sextant"
(cd "$repo" && go build -o "$bin/sextant" ./cmd/sextant)

log "installing kube-score $KUBE_SCORE_VERSION into $bin"
(cd "$work" && GOBIN=$bin GOFLAGS=-mod=mod go install "github.com/zegl/kube-score/cmd/kube-score@$KUBE_SCORE_VERSION")

log "building kubesec $KUBESEC_VERSION in a scratch module"
mkdir -p "$work/kubesec/local"
cat >"$work/kubesec/go.mod" <<'EOF'
module scratch/kubesec

go 1.26
EOF
cat >"$work/kubesec/local/main.go" <<'EOF'
// kubesec-local runs kubesec's rule engine on local files, schema validation
// off (the stock CLI downloads JSON schemas before it runs any rule).
package main

import (
	"fmt"
	"os"

	"github.com/controlplaneio/kubesec/v2/pkg/report"
	"github.com/controlplaneio/kubesec/v2/pkg/ruler"
	"go.uber.org/zap"
)

func main() {
	logger := zap.NewNop().Sugar()
	cfg := ruler.NewDefaultSchemaConfig()
	cfg.DisableValidation = true
	var all []ruler.Report
	for _, name := range os.Args[1:] {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		rs, err := ruler.NewRuleset(logger).Run(name, b, cfg)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		}
		all = append(all, rs...)
	}
	if err := report.WriteReports("json", os.Stdout, all, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
EOF
(
	cd "$work/kubesec"
	GOFLAGS=-mod=mod go get "github.com/controlplaneio/kubesec/v2@$KUBESEC_VERSION" >/dev/null 2>&1
	GOFLAGS=-mod=mod go build -o "$bin/kubesec" github.com/controlplaneio/kubesec/v2
	GOFLAGS=-mod=mod go build -o "$bin/kubesec-local" ./local
)

# --- inputs ------------------------------------------------------------------
# Every file of the five manifest folders except unrendered templates (Helm
# "{{ ... }}"), which none of the tools can read.
files=()
skipped=()
for d in kube-score kubesec polaris kubernetes-goat real-world; do
	for f in "$k8sdir/$d"/*; do
		[[ -f $f ]] || continue
		if grep -q '{{' "$f"; then
			skipped+=("$d/$(basename "$f")")
		else
			files+=("$f")
		fi
	done
done
docs=$(cat "${files[@]}" | grep -c '^kind:' || true)

# The generated set mirrors benchManifests in internal/k8s/context_bench_test.go:
# apps of ten objects (Deployment, Service — every tenth a LoadBalancer —,
# ServiceAccount, Role, RoleBinding, NetworkPolicy, Ingress, ConfigMap, Secret
# and a standalone Pod) over 50 namespaces with 200 distinct images.
gen=$work/generated-$OBJECTS.yaml
awk -v n="$((OBJECTS / 10))" 'BEGIN {
	for (i = 0; i < n; i++) {
		ns = "team-" (i % 50); app = "app-" i
		img = "registry.example.com/svc-" (i % 200) ":1." (i % 7)
		type = (i % 10 == 0) ? "LoadBalancer" : "ClusterIP"
		printf "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {app: %s, owner: team-%d, environment: prod}\n", app, ns, app, i % 20
		printf "spec:\n  replicas: 3\n  selector: {matchLabels: {app: %s}}\n  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n      serviceAccountName: %s\n", app, app, app
		printf "      containers:\n      - name: main\n        image: %s\n        securityContext: {allowPrivilegeEscalation: false, runAsNonRoot: true}\n        resources: {limits: {cpu: 100m, memory: 128Mi}}\n      - name: sidecar\n        image: envoyproxy/envoy:v1.30.0\n---\n", img
		printf "apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  type: %s\n  selector: {app: %s}\n  ports: [{port: 443, targetPort: 8443}]\n---\n", app, ns, type, app
		printf "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: %s}\n---\n", app, ns
		printf "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: %s, namespace: %s}\nrules:\n- {apiGroups: [\"\"], resources: [configmaps, secrets], verbs: [get, list]}\n---\n", app, ns
		printf "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: %s, namespace: %s}\nsubjects: [{kind: ServiceAccount, name: %s}]\nroleRef: {kind: Role, name: %s, apiGroup: rbac.authorization.k8s.io}\n---\n", app, ns, app, app
		printf "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n  podSelector: {matchLabels: {app: %s}}\n  policyTypes: [Ingress]\n---\n", app, ns, app
		printf "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s, namespace: %s}\nspec:\n  rules:\n  - host: %s.example.com\n    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 443}}}}]}\n---\n", app, ns, app, app
		printf "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {config.yaml: \"key: value\"}\n---\n", app, ns
		printf "apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ndata: {token: c2VjcmV0}\n---\n", app, ns
		printf "apiVersion: v1\nkind: Pod\nmetadata: {name: %s-debug, namespace: %s, labels: {app: %s-debug}}\nspec:\n  containers:\n  - {name: debug, image: \"busybox:1.36\"}\n", app, ns, app
		if (i < n - 1) printf "---\n"
	}
}' >"$gen"

# The commands, one per tool; the same files for all three.
q() { printf '%q ' "$@"; }
fixture_args=$(q "${files[@]}")
cmd_for() { # tool set
	local args
	if [[ $2 == fixtures ]]; then args=$fixture_args; else args=$(q "$gen"); fi
	case $1 in
	sextant) echo "$(q "$bin/sextant") k8s scan -o json $args" ;;
	kube-score) echo "$(q "$bin/kube-score") score -o json $args" ;;
	kubesec) echo "$(q "$bin/kubesec-local") $args" ;;
	esac
}
tools=(sextant kube-score kubesec)

# --- counts ------------------------------------------------------------------
# Objects each tool reports on and what it flags, from one run's JSON.
count() { # tool set
	local out=$work/$1-$2.json
	bash -c "$(cmd_for "$1" "$2")" >"$out" 2>/dev/null || true
	if ! command -v jq >/dev/null; then
		echo "n/a | n/a"
		return
	fi
	case $1 in
	sextant) jq -r '"\(.summary.objects) | \(.summary.findings - .summary.suppressed) violations of \(.summary.checks) checks"' "$out" 2>/dev/null || echo "? | ?" ;;
	kube-score) jq -r '"\(length) | \([.[].checks[] | select(.skipped == false and .grade < 7)] | length) failed checks (WARNING or CRITICAL)"' "$out" 2>/dev/null || echo "? | ?" ;;
	kubesec) jq -r '"\(length) (\([.[] | select(.message | test("not supported")) ] | length) unsupported kinds) | \([.[].scoring.critical // [] | length] | add) critical rule hits"' "$out" 2>/dev/null || echo "? | ?" ;;
	esac
}

# --- timing ------------------------------------------------------------------
# time_set SET prints one Markdown row per tool: wall time mean ± stddev, min,
# max, mean CPU time (user + system; steadier than wall time on a busy
# machine), all in seconds, and peak RSS (MB).
peak_rss() { # command
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -f '%M' -o "$work/rss" bash -c "$1" >/dev/null 2>&1 || true
		# GNU time writes "Command exited with non-zero status N" first
		# when the tool fails (kube-score exits 1 on critical findings).
		tail -n 1 "$work/rss" | awk '{printf "%.0f", $1 / 1024}'
	else
		echo "n/a"
	fi
}
time_set() {
	local set=$1 tool cmd
	for tool in "${tools[@]}"; do
		cmd=$(cmd_for "$tool" "$set")
		local stats
		if command -v hyperfine >/dev/null; then
			hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$work/hf.json" "$cmd" >/dev/null 2>&1 ||
				hyperfine -i --warmup 2 --runs "$RUNS" --export-json "$work/hf.json" "$cmd" >/dev/null 2>&1
			stats=$(awk '
				/"mean"/ {gsub(/[",]/, ""); mean = $2}
				/"stddev"/ {gsub(/[",]/, ""); sd = $2}
				/"min"/ {gsub(/[",]/, ""); min = $2}
				/"max"/ {gsub(/[",]/, ""); max = $2}
				/"user"/ {gsub(/[",]/, ""); user = $2}
				/"system"/ {gsub(/[",]/, ""); sys = $2}
				END {printf "%.3f ± %.3f | %.3f | %.3f | %.3f", mean, sd, min, max, user + sys}' "$work/hf.json")
		else
			local i t times=()
			for ((i = 0; i < RUNS + 2; i++)); do
				t=$( { TIMEFORMAT='%R %U %S'; time bash -c "$cmd" >/dev/null 2>&1; } 2>&1 )
				((i >= 2)) && times+=("$t")
			done
			stats=$(printf '%s\n' "${times[@]}" | awk '
				{x[NR] = $1; s += $1; c += $2 + $3; if (NR == 1 || $1 < min) min = $1; if ($1 > max) max = $1}
				END {m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
					printf "%.3f ± %.3f | %.3f | %.3f | %.3f", m, sqrt(v / NR), min, max, c / NR}')
		fi
		echo "| $tool | $stats | $(peak_rss "$cmd") |"
	done
}

# --- report ------------------------------------------------------------------
cpu=$(awk -F: '/model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo 2>/dev/null || uname -m)
mem=$(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo "?")
timer=$(command -v hyperfine >/dev/null && hyperfine --version || echo "bash time loop")

echo "## sextant vs kube-score vs kubesec"
echo
echo "| machine | |"
echo "|---|---|"
echo "| CPU | $cpu, $(nproc) cores |"
echo "| memory | $mem |"
echo "| OS | $(uname -sr) |"
echo "| load average at start | $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?) (other processes share the cores when it exceeds the core count) |"
echo "| Go | $(go env GOVERSION) |"
echo "| timer | $timer, $RUNS runs after 2 warm-ups |"
echo "| sextant | $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown) |"
echo "| kube-score | $KUBE_SCORE_VERSION (go install) |"
echo "| kubesec | $KUBESEC_VERSION, rule engine via kubesec-local (schema download off) |"
echo
echo "Commands (paths shortened; every tool gets the same files, JSON output):"
echo
echo '```'
echo "sextant k8s scan -o json FILES"
echo "kube-score score -o json FILES"
echo "kubesec-local FILES    # ruler.NewRuleset(...).Run(file, bytes, SchemaConfig{DisableValidation: true}) per file"
echo '```'
echo
echo "### Fixtures: ${#files[@]} files, $docs documents (kube-score, kubesec, polaris, kubernetes-goat, real-world)"
echo
if ((${#skipped[@]})); then
	echo "Skipped (unrendered Helm templates): ${skipped[*]}"
	echo
fi
echo "| tool | objects reported | findings |"
echo "|---|---|---|"
for tool in "${tools[@]}"; do echo "| $tool | $(count "$tool" fixtures) |"; done
echo
echo "| tool | wall time mean ± σ (s) | min (s) | max (s) | CPU user+sys (s) | peak RSS (MB) |"
echo "|---|---|---|---|---|---|"
time_set fixtures
echo
echo "### Generated: $OBJECTS objects in one file ($(du -k "$gen" | cut -f1) KB)"
echo
echo "| tool | objects reported | findings |"
echo "|---|---|---|"
for tool in "${tools[@]}"; do echo "| $tool | $(count "$tool" generated) |"; done
echo
echo "| tool | wall time mean ± σ (s) | min (s) | max (s) | CPU user+sys (s) | peak RSS (MB) |"
echo "|---|---|---|---|---|---|"
time_set generated
echo

# --- coverage table up to date? ---------------------------------------------
# Every kube-score check and kubesec rule the installed versions know must
# have a row in the peer coverage table of docs/k8s-checks.md.
doc=$repo/docs/k8s-checks.md
echo "### Peer coverage table vs the installed peers"
echo
ks_ids=$("$bin/kube-score" list | cut -d, -f1 | sort -u)
kx_ids=$("$bin/kubesec" print-rules | awk -F'"' '/"id":/ {print $4}' | sort -u)
missing=()
for id in $ks_ids; do grep -q "^| kube-score | \`$id\`" "$doc" || missing+=("kube-score:$id"); done
for id in $kx_ids; do grep -q "^| kubesec | \`$id\`" "$doc" || missing+=("kubesec:$id"); done
echo "| peer | checks/rules in the installed version | rows missing from docs/k8s-checks.md |"
echo "|---|---|---|"
echo "| kube-score $KUBE_SCORE_VERSION | $(echo "$ks_ids" | wc -l) | $(printf '%s\n' "${missing[@]}" | grep -c '^kube-score:' || true) |"
echo "| kubesec $KUBESEC_VERSION | $(echo "$kx_ids" | wc -l) | $(printf '%s\n' "${missing[@]}" | grep -c '^kubesec:' || true) |"
if ((${#missing[@]})); then
	echo
	echo "Missing rows: ${missing[*]}"
fi
