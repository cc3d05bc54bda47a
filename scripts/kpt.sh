#!/usr/bin/env bash
# Builds kpt (the kpt fleet-upgrade baseline of `make bench`) from its Go module through the Go module
# proxy, or reuses a previous build. Cached outside the work tree, keyed by version:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/kpt/<version>/kpt
# A build goes to a temporary sibling directory that is renamed into place only when complete.
# Progress goes to stderr; the last line on stdout is the kpt binary.
#   KPT_VERSION  module version (default below)   KPT_FORCE=1  rebuild even if cached
set -euo pipefail

module=github.com/GoogleContainerTools/kpt
version="${KPT_VERSION:-v1.0.0-beta.49}"
cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/kpt"
dest="$cache_root/$version"

if [[ "${KPT_FORCE:-}" != 1 && -x "$dest/kpt" ]]; then
  echo "kpt: reusing $module@$version from $dest" >&2
  echo "$dest/kpt"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "kpt: Go is required to build $module@$version" >&2
  exit 1
fi

mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
echo "kpt: building $module@$version with $(go version | awk '{print $3}') (a cold build takes a few minutes)" >&2
# The checksum database has no entry for kpt's own module here (404 through the proxy), so that one
# module is fetched unverified (GONOSUMDB); its dependencies are checked against kpt's own go.sum.
# `go install module@version` also asks the proxy for the module's version list, which it refuses,
# so the module is downloaded and built in a copy of its source. kpt links wasmtime-go through cgo;
# -p bounds the parallel compile jobs (2-core machines).
export GONOSUMDB="$module" GOFLAGS="-buildvcs=false -mod=readonly -p=${KPT_BUILD_JOBS:-2}"
src="$(go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" { print $4 }')"
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$work/bin"
(cd "$work/src" && go build -ldflags "-s -w -X $module/run.version=$version" -o "$work/bin/kpt" .) >&2
mkdir -p "$work/out"
mv "$work/bin/kpt" "$work/out/kpt"
rm -rf "$dest"
mv "$work/out" "$dest"
echo "kpt: [$((SECONDS - start))s] built $dest/kpt" >&2
echo "$dest/kpt"
