#!/usr/bin/env bash
# kube-apiserver.sh builds the binaries that sextant's live-cluster tests run
# (internal/k8s/k8stest) and prints the directory that holds them, ready for
# SEXTANT_KUBE_ASSETS:
#
#   export SEXTANT_KUBE_ASSETS="$(scripts/kube-apiserver.sh)"
#
# - kube-apiserver is built from the Go module proxy (k8s.io/kubernetes at
#   $KUBE_VERSION, its staging modules replaced by the matching v0.x
#   releases) in a build module of its own under the cache directory, never
#   inside this repository. A cold build takes about 15 minutes on 2 cores and
#   grows the Go build cache by about 3 GB; afterwards the cached binary is
#   reused and the script returns in well under a second.
# - etcd comes from Debian's etcd-server package (installed when missing) and
#   is linked into the same directory.
#
# Environment:
#   KUBE_VERSION        Kubernetes version to build (default v1.37.2)
#   SEXTANT_KUBE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sextant)
#
# Progress goes to stderr; stdout carries only the directory.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
staging="v0.${KUBE_VERSION#v1.}"
root="${SEXTANT_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sextant}/kube-$KUBE_VERSION"
bin="$root/bin"
build="$root/build"

log() { echo "kube-apiserver.sh: $*" >&2; }

mkdir -p "$bin" "$build"

# One build at a time per cache directory (CI jobs and developers may race).
exec 9>"$root/.lock"
if command -v flock >/dev/null; then flock 9; fi

# etcd: Debian's etcd-server (3.4) works with kube-apiserver 1.37.
etcd_path="$(command -v etcd || true)"
if [ -z "$etcd_path" ]; then
  log "etcd not found; installing Debian's etcd-server"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >&2
  etcd_path="$(command -v etcd || echo /usr/bin/etcd)"
fi
[ -x "$etcd_path" ] || { log "etcd is still missing after install"; exit 1; }
ln -sfn "$etcd_path" "$bin/etcd"

if [ -x "$bin/kube-apiserver" ] && "$bin/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $KUBE_VERSION"; then
  log "reusing $bin/kube-apiserver ($KUBE_VERSION)"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }
log "building kube-apiserver $KUBE_VERSION in $build (about 15 minutes on 2 cores the first time)"
start=$(date +%s)

cd "$build"
# The upstream go.mod points its staging modules at ./staging/...; every one
# of them is published at the matching v0.x version, so replace them all.
upstream_mod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -n "$upstream_mod" ] || { log "cannot download k8s.io/kubernetes@$KUBE_VERSION"; exit 1; }
go_line="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_mod" | head -n1)"
{
  echo "module kapibuild"
  echo
  echo "go ${go_line:-1.26.0}"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  sed -n '/^replace (/,/^)/p' "$upstream_mod" | awk -v v="$staging" '$2=="=>"{print "\t"$1" => "$1" "v}'
  echo ")"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

// Package tools keeps kube-apiserver's dependencies in this build module.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
GOFLAGS=-mod=mod go mod tidy >&2

ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
done
ldflags="$ldflags -X k8s.io/component-base/version.gitTreeState=clean"
go build -trimpath -ldflags="$ldflags" -o "$bin/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$bin/kube-apiserver.tmp" "$bin/kube-apiserver"
log "built $("$bin/kube-apiserver" --version) in $(( $(date +%s) - start ))s"
echo "$bin"
