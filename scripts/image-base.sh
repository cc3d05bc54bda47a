#!/usr/bin/env bash
# Builds (or reuses) a base image made only from Debian packages and the npm registry, for machines
# that cannot pull node:24-bookworm-slim: Debian bookworm from the apt archive (mmdebstrap, variant
# essential, plus git, openssh-client, ca-certificates and the libstdc++ Node links), the project's own Node (the `node` binary
# scripts/toolchain.sh installs from the npm registry) in /usr/local/bin, and npm from the npm
# registry in /usr/local/lib/node_modules/npm — the layout of the official Node images, so the
# Dockerfile treats both alike (`make docker-build BASE_IMAGE=$(scripts/image-base.sh)`).
#
# The root file system is cached as a tarball, keyed by this script, the Node version and the CPU:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/image/base-<key>.tar
# and imported into the container engine (podman, or docker when its daemon answers) as
# localhost/packagevariant-base:<key> unless the engine already holds it. Cold: about a minute
# (apt downloads); warm: instant. Progress goes to stderr; stdout's last line is the image name.
#   DEBIAN_MIRROR (http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security)
#   CONTAINER_TOOL (podman or docker; default: docker when its daemon answers, else podman)
#   IMAGE_BASE_FORCE=1   rebuild the tarball even if cached
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
NPM_VERSION=11.21.2
SUITE=bookworm
PACKAGES=git,openssh-client,ca-certificates,libstdc++6
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

node_bin="$("$root/scripts/toolchain.sh")/node"
node_version="$("$node_bin" --version)"
key="$({ cat "$0"; echo "$node_version $(uname -m)"; } | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/image"
tarball="$cache/base-$key.tar"
image="localhost/packagevariant-base:$key"

tool="${CONTAINER_TOOL:-}"
if [[ -z "$tool" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then tool=docker; else tool=podman; fi
fi

if [[ "${IMAGE_BASE_FORCE:-}" == 1 || ! -f "$tarball" ]]; then
  command -v mmdebstrap >/dev/null || { echo "image-base: mmdebstrap is missing (make system-deps installs it)" >&2; exit 1; }
  mkdir -p "$cache"
  work="$(mktemp "$cache/.base-XXXXXX.tar")"
  trap 'rm -f "$work"' EXIT
  start=$SECONDS
  echo "image-base: building $tarball (Debian $SUITE from $mirror, Node $node_version, npm $NPM_VERSION)" >&2
  # No documentation, manual pages or translations (the copyright files stay); npm goes in with the
  # host's npm into the new root (a relative bin link), Node as the toolchain's binary.
  mmdebstrap --variant=essential --include="$PACKAGES" --format=tar --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook="install -D -m 0755 '$node_bin' \"\$1/usr/local/bin/node\"" \
    --customize-hook="npm install --global --prefix \"\$1/usr/local\" --no-audit --no-fund --loglevel=error npm@$NPM_VERSION >&2" \
    --customize-hook='rm -rf "$1/var/cache/apt" "$1/var/lib/apt/lists" "$1/var/log"/*.log' \
    "$SUITE" "$work" "deb $mirror $SUITE main" "deb $mirror $SUITE-updates main" "deb $security $SUITE-security main" \
    </dev/null >&2
  mv "$work" "$tarball"
  trap - EXIT
  echo "image-base: tarball done in $((SECONDS - start))s ($(du -m "$tarball" | cut -f1) MB)" >&2
  "$tool" rmi -f "$image" >/dev/null 2>&1 || true
fi

if ! "$tool" image inspect "$image" >/dev/null 2>&1; then
  echo "image-base: importing $tarball into $tool as $image" >&2
  "$tool" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$tarball" "$image" >/dev/null
fi
echo "$image"
