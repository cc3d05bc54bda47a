#!/usr/bin/env bash
# Builds the real kube-apiserver and etcd used by the e2e tests, and kubectl (with its built-in
# kustomize, to render config/), from their upstream Go modules (through the Go module proxy), or
# reuses a previous build.
#
# The versions are pinned once, in go.mod next to this script (the `require` lines for
# k8s.io/kubernetes and go.etcd.io/etcd/server/v3). Outputs are cached outside the work tree:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/testenv/<k8s>-<etcd>/bin/{kube-apiserver,etcd,kubectl}
# A build goes to a temporary sibling directory that is renamed into place only when complete.
#
# Progress goes to stderr; the last line on stdout is the bin directory.
#   TESTENV_BUILD_JOBS  parallel compile jobs (default: number of CPUs, at most 2 — keeps memory low)
#   TESTENV_FORCE=1     rebuild even if cached
#   GOMODCACHE, GOCACHE, GOPROXY, XDG_CACHE_HOME are honoured as usual
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
gomod="$here/go.mod"

module_version() {
  awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$gomod"
}
k8s_version="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
if [[ -z "$k8s_version" || -z "$etcd_version" ]]; then
  echo "testenv: cannot read the k8s.io/kubernetes and etcd versions from $gomod" >&2
  exit 1
fi

cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/testenv"
dest="$cache_root/$k8s_version-$etcd_version"

servers_cached() { [[ "${TESTENV_FORCE:-}" != 1 && -x "$dest/bin/kube-apiserver" && -x "$dest/bin/etcd" ]]; }
if servers_cached && [[ -x "$dest/bin/kubectl" ]]; then
  echo "testenv: reusing kube-apiserver $k8s_version, etcd $etcd_version and kubectl from $dest" >&2
  echo "$dest/bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "testenv: Go is required to build kube-apiserver and etcd (go.mod needs $(awk '$1 == "go" { print $2 }' "$gomod") or newer)" >&2
  exit 1
fi

jobs="${TESTENV_BUILD_JOBS:-$(($(nproc) < 2 ? $(nproc) : 2))}"
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT

start=$SECONDS
step() { echo "testenv: [$((SECONDS - start))s] $*" >&2; }

# An older local Go fetches the toolchain go.mod asks for through the module proxy (GOTOOLCHAIN=auto).
export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
cd "$here"

# A cache from before kubectl was added: build only kubectl next to the servers.
if servers_cached; then
  step "compiling kubectl $k8s_version into $dest/bin"
  go build -p "$jobs" -trimpath -ldflags="-s -w" -o "$work/kubectl" k8s.io/kubernetes/cmd/kubectl
  mv -f "$work/kubectl" "$dest/bin/kubectl"
  echo "$dest/bin"
  exit 0
fi

step "building kube-apiserver $k8s_version and etcd $etcd_version with $(go version | awk '{print $3}') into $dest (cold builds take several minutes)"
# What hack/lib/version.sh stamps into an official build (otherwise /version says v0.0.0-master).
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
version_flags=()
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=("-X=$pkg.gitVersion=$k8s_version" "-X=$pkg.gitMajor=1" "-X=$pkg.gitMinor=$minor" "-X=$pkg.gitTreeState=clean")
done

step "downloading modules and compiling etcd"
go build -p "$jobs" -trimpath -ldflags="-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
step "compiling kube-apiserver"
go build -p "$jobs" -trimpath -ldflags="-s -w ${version_flags[*]}" -o "$work/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
step "compiling kubectl"
go build -p "$jobs" -trimpath -ldflags="-s -w" -o "$work/bin/kubectl" k8s.io/kubernetes/cmd/kubectl
printf 'kubernetes %s\netcd %s\n' "$k8s_version" "$etcd_version" >"$work/VERSIONS"

# Atomic publish: rename the finished directory into place; if another build won the race, keep it.
if [[ -e "$dest" ]]; then
  rm -rf "$dest.old" && mv "$dest" "$dest.old"
fi
mv -T "$work" "$dest" 2>/dev/null || true
rm -rf "$dest.old"
step "done: $("$dest/bin/kube-apiserver" --version), etcd $("$dest/bin/etcd" --version | awk '/etcd Version/ {print $3}')"
echo "$dest/bin"
