#!/usr/bin/env bash
# The controller's image with docker or podman (docker when its daemon answers, else podman;
# CONTAINER_TOOL overrides).
#   scripts/image.sh build IMG [BASE_IMAGE]   builds the Dockerfile: BASE_IMAGE (node:24-bookworm-slim,
#                                             or scripts/image-base.sh's Debian-made base), the built-in
#                                             functions' WebAssembly module (scripts/build-fn-wasm.sh)
#                                             as the build context `fn-wasm`
#   scripts/image.sh podman ARGS...           podman with this machine's settings (below)
#   scripts/image.sh tool                     prints the engine it uses
# Rootful podman without systemd, in a VM or sandbox that caps RLIMIT_NOFILE and mixes cgroup v1 and
# v2, needs: cgroupfs, file events, runc (crun refuses hybrid cgroups) and default ulimits no higher
# than this shell's hard limits (podman asks for 1048576 open files; here 20000 is the most). Unless CONTAINERS_CONF is set,
# podman runs with a containers.conf saying so, written to
#   ${XDG_CACHE_HOME:-$HOME/.cache}/packagevariant-controller/image/containers.conf
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/packagevariant-controller/image"

tool="${CONTAINER_TOOL:-}"
if [[ -z "$tool" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then tool=docker; else tool=podman; fi
fi

podman_conf() {
  [[ -n "${CONTAINERS_CONF:-}" ]] && return
  local nofile nproc ulimits runtime=""
  # at most podman's own defaults (nofile 1048576, nproc 32768), at most the hard limits
  nofile="$(ulimit -Hn)" nproc="$(ulimit -Hu)"
  [[ "$nofile" == unlimited || "$nofile" -gt 1048576 ]] && nofile=1048576
  [[ "$nproc" == unlimited || "$nproc" -gt 32768 ]] && nproc=32768
  ulimits="\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\""
  command -v runc >/dev/null && runtime='runtime = "runc"'
  mkdir -p "$cache"
  printf '[containers]\ndefault_ulimits = [%s]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n%s\n' \
    "$ulimits" "$runtime" >"$cache/containers.conf.$$"
  mv "$cache/containers.conf.$$" "$cache/containers.conf"
  export CONTAINERS_CONF="$cache/containers.conf"
}
[[ "$tool" == podman ]] && podman_conf

case "${1:-}" in
  tool) echo "$tool" ;;
  podman) shift; exec podman "$@" ;;
  build)
    img="${2:?usage: scripts/image.sh build IMG [BASE_IMAGE]}"
    base="${3:-node:24-bookworm-slim}"
    wasm="$("$root/scripts/build-fn-wasm.sh" | tail -1)"
    extra=()
    # podman's default network needs CNI/netavark plugins; the build only needs to reach the npm registry
    [[ "$tool" == podman ]] && extra+=(--network=host)
    # npm in the build trusts what Node and npm here trust (a TLS-intercepting proxy's CA, say)
    cafile="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
    [[ -n "$cafile" && "$cafile" != null && -f "$cafile" ]] && extra+=(--secret "id=npm-ca,src=$cafile")
    start=$SECONDS
    echo "image: $tool build -t $img (base $base)" >&2
    "$tool" build "${extra[@]}" --build-arg "BASE_IMAGE=$base" --build-context "fn-wasm=$wasm" \
      -t "$img" -f "$root/Dockerfile" "$root" >&2
    echo "image: $img built in $((SECONDS - start))s" >&2
    ;;
  *) echo "usage: scripts/image.sh build IMG [BASE_IMAGE] | podman ARGS... | tool" >&2; exit 64 ;;
esac
