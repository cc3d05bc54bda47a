#!/usr/bin/env bash
# Builds the WebAssembly module of the built-in functions that wrap Go libraries (apply-replacements:
# kustomize's replacement filter; starlark: go.starlark.net) from lib/fn/wasm (this project's own
# glue; the Go modules come through the Go module proxy), or reuses a previous build.
#
# Cached outside the work tree, keyed by the sources (lib/fn/runtimes/wasm.ts computes the same key):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/fn-wasm/<key>/{functions.wasm,wasm_exec.js}
# A build goes to a temporary sibling directory that is renamed into place only when complete.
# Progress goes to stderr; the last line on stdout is the directory.
#   FN_WASM_FORCE=1   rebuild even if cached
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/lib/fn/wasm"

# The key: sha256 over "<name>\n<content>" of go.mod, go.sum and the .go files, in name order.
key="$(cd "$src" && for f in $(ls go.mod go.sum *.go | LC_ALL=C sort); do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/fn-wasm"
dest="$cache_root/$key"

if [[ "${FN_WASM_FORCE:-}" != 1 && -f "$dest/functions.wasm" && -f "$dest/wasm_exec.js" ]]; then
  echo "fn-wasm: reusing $dest" >&2
  echo "$dest"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "fn-wasm: Go is required to build the built-in functions (lib/fn/wasm/go.mod); render falls back to a clear error without it" >&2
  exit 1
fi

mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
echo "fn-wasm: building $dest with $(go version | awk '{print $3}') (cold: about two minutes)" >&2
(cd "$src" && GOOS=js GOARCH=wasm CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
  go build -trimpath -ldflags="-s -w" -o "$work/functions.wasm" .)
goroot="$(go env GOROOT)"
if [[ -f "$goroot/lib/wasm/wasm_exec.js" ]]; then cp "$goroot/lib/wasm/wasm_exec.js" "$work/"; else cp "$goroot/misc/wasm/wasm_exec.js" "$work/"; fi
go version >"$work/GO_VERSION"

if [[ -e "$dest" ]]; then rm -rf "$dest.old" && mv "$dest" "$dest.old"; fi
mv -T "$work" "$dest" 2>/dev/null || true
rm -rf "$dest.old"
echo "fn-wasm: done in $((SECONDS - start))s" >&2
echo "$dest"
