#!/usr/bin/env bash
# Moves the test environment to another Kubernetes release: rewrites go.mod so that it requires
# k8s.io/kubernetes at <version>, etcd at the version that release's go.mod pins, and replaces every
# staging module (required there as v0.0.0) with the matching v0.<minor>.<patch>; then tidies.
#   e2e/testenv/update-gomod.sh v1.36.3
set -euo pipefail
version="${1:?usage: update-gomod.sh <k8s version, e.g. v1.36.3>}"
[[ "$version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "not a Kubernetes release: $version" >&2; exit 1; }
staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
cd "$(dirname "$0")"

upstream_mod="$(go mod download -json "k8s.io/kubernetes@$version" | awk -F'"' '$2 == "GoMod" { print $4 }')"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$upstream_mod")"
go_version="$(awk '$1 == "go" { print $2; exit }' "$upstream_mod")"
mapfile -t staging < <(awk '$2 == "v0.0.0" && $1 ~ /^k8s\.io\// { print $1 }' "$upstream_mod" | sort -u)
[[ -n "$etcd_version" && ${#staging[@]} -gt 0 ]] || { echo "cannot read $upstream_mod" >&2; exit 1; }

for old in $(go mod edit -json | awk -F'"' '/"Old":/ { getline; print $4 }'); do
  go mod edit -dropreplace="$old"
done
go mod edit -go="$go_version" -require="k8s.io/kubernetes@$version" -require="go.etcd.io/etcd/server/v3@$etcd_version"
{
  echo
  echo 'replace ('
  for module in "${staging[@]}"; do printf '\t%s => %s %s\n' "$module" "$module" "$staging_version"; done
  echo ')'
} >>go.mod
go mod tidy
echo "k8s.io/kubernetes $version, etcd $etcd_version, ${#staging[@]} staging modules at $staging_version" >&2
