#!/usr/bin/env bash
# Builds a real kube-apiserver, etcd and kubectl for the operator's tests (the way controller-runtime's envtest
# runs them) into a cache folder outside git. Both come from Go modules: a throwaway module requires
# k8s.io/kubernetes at a release and pins its staging modules (k8s.io/api, apimachinery, …) to the
# matching v0.x versions, since the main module's go.mod points them at ./staging, which only works
# inside the kubernetes repository itself.
# Tests find the binaries through STRATA_TOOLS_DIR (default ~/.cache/strata-tools/bin).
set -euo pipefail
kube_version="${STRATA_KUBE_VERSION:-v1.35.4}"
etcd_version="${STRATA_ETCD_VERSION:-v3.6.16}"
tools="${STRATA_TOOLS_DIR:-$HOME/.cache/strata-tools/bin}"
work="$(dirname "$tools")/src"
mkdir -p "$tools" "$work"

if ! command -v go >/dev/null; then
  echo "go not found: kube-apiserver and etcd cannot be built; operator API tests will be skipped" >&2
  exit 0
fi
# Building kube-apiserver needs a few GiB of memory; two parallel compile jobs keep it bounded.
export GOFLAGS="-mod=mod -p=2" CGO_ENABLED=0

build_kube_apiserver() {
  local dir="$work/kube-apiserver-$kube_version"
  mkdir -p "$dir"
  cd "$dir"
  [ -f go.mod ] || go mod init strata.local/kube-tools >/dev/null 2>&1
  local kube_mod
  kube_mod="$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local minor="${kube_version#v1.}"
  # Every `k8s.io/x => ./staging/src/k8s.io/x` in kubernetes' go.mod becomes `k8s.io/x => k8s.io/x v0.<minor>`.
  sed -n 's#^\s*\(k8s.io/[A-Za-z0-9._-]*\) => ./staging/src/.*#\1#p' "$kube_mod" | while read -r module; do
    go mod edit -replace "$module=$module@v0.$minor"
  done
  go mod edit -require "k8s.io/kubernetes@$kube_version"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$kube_version"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
  go build -trimpath -ldflags "$ldflags" -o "$tools/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  # kubectl at the server's version, so `kubectl explain` and apply behave as they will for users.
  go build -trimpath -ldflags "$ldflags" -o "$tools/kubectl" k8s.io/kubernetes/cmd/kubectl
  echo "$kube_version" >"$tools/kube-apiserver.version"
}

build_etcd() {
  local dir="$work/etcd-$etcd_version"
  mkdir -p "$dir"
  cd "$dir"
  [ -f go.mod ] || go mod init strata.local/etcd-tools >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$etcd_version"
  go build -trimpath -ldflags "-s -w" -o "$tools/etcd" go.etcd.io/etcd/server/v3
  echo "$etcd_version" >"$tools/etcd.version"
}

[ "$(cat "$tools/etcd.version" 2>/dev/null)" = "$etcd_version" ] || build_etcd
[ "$(cat "$tools/kube-apiserver.version" 2>/dev/null)" = "$kube_version" ] || build_kube_apiserver
echo "kube-apiserver $kube_version and etcd $etcd_version in $tools"
