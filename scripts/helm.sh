#!/usr/bin/env bash
# Builds helm (for the chart in charts/: `helm lint` and `helm template` in the e2e tests) from its Go
# module through the Go module proxy, or reuses a previous build. The version is pinned below; the
# build uses helm's own go.mod and go.sum, so every dependency is the one helm releases with.
# Cached outside the work tree, keyed by version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/helm/<version>/helm
# A build goes to a temporary sibling directory that is renamed into place only when complete.
# Progress goes to stderr; the last line on stdout is the helm binary.
#   HELM_BUILD_JOBS  parallel compile jobs (default: number of CPUs, at most 2)
#   HELM_FORCE=1     rebuild even if cached
#   GOMODCACHE, GOCACHE, GOPROXY, XDG_CACHE_HOME are honoured as usual
set -euo pipefail

module=helm.sh/helm/v3
version=v3.22.0
cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/helm"
dest="$cache_root/$version"

if [[ "${HELM_FORCE:-}" != 1 && -x "$dest/helm" ]]; then
  echo "helm: reusing $module@$version from $dest" >&2
  echo "$dest/helm"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "helm: Go is required to build $module@$version" >&2
  exit 1
fi

jobs="${HELM_BUILD_JOBS:-$(($(nproc) < 2 ? $(nproc) : 2))}"
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { echo "helm: [$((SECONDS - start))s] $*" >&2; }

# An older local Go fetches the toolchain helm's go.mod asks for through the module proxy (GOTOOLCHAIN=auto).
export GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0
step "downloading $module@$version"
src="$(go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4 }')"
if [[ -z "$src" ]]; then
  echo "helm: go mod download $module@$version printed no source directory" >&2
  exit 1
fi
cd "$src"
# What helm's Makefile stamps into a release: the version, and the Kubernetes version `helm lint` and
# `helm template` assume (one minor above the client-go helm is built with, as its Makefile computes).
client_go="$(go list -f '{{.Version}}' -m k8s.io/client-go)"
client_go="${client_go#v}"
k8s_major=$((${client_go%%.*} + 1))
k8s_minor="${client_go#*.}"
k8s_minor="${k8s_minor%%.*}"
ldflags="-s -w -X $module/internal/version.version=$version -X $module/internal/version.metadata="
ldflags+=" -X $module/internal/version.gitTreeState=clean"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X $module/$pkg.k8sVersionMajor=$k8s_major -X $module/$pkg.k8sVersionMinor=$k8s_minor"
done
step "compiling helm $version with $(go version | awk '{print $3}') ($jobs jobs; a cold build takes a few minutes)"
go build -p "$jobs" -trimpath -ldflags="$ldflags" -o "$work/out/helm" ./cmd/helm
"$work/out/helm" version --short >/dev/null

# Atomic publish: rename the finished directory into place; if another build won the race, keep it.
if [[ -e "$dest" ]]; then
  rm -rf "$dest.old" && mv "$dest" "$dest.old"
fi
mv -T "$work/out" "$dest" 2>/dev/null || true
rm -rf "$dest.old"
step "built $dest/helm ($("$dest/helm" version --short))"
echo "$dest/helm"
