#!/usr/bin/env bash
# Checks (and, as root on Debian/Ubuntu, installs) the system programs the tests use besides Node:
# git with git-http-backend (smart HTTP tests), OpenSSH sshd and ssh-keygen (SSH tests), openssl
# (test certificates), tmux (the progress line as a terminal shows it), Prometheus with promtool
# (dashboards and alert rules evaluated against real scrapes; promtool check/test rules). Go builds the e2e API server (e2e/testenv/build.sh finds it).
set -euo pipefail
missing=()
command -v git >/dev/null || missing+=(git)
[ -x "${GIT_HTTP_BACKEND:-/usr/lib/git-core/git-http-backend}" ] || missing+=(git)
[ -x "${SSHD:-/usr/sbin/sshd}" ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null || missing+=(openssh-client)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v openssl >/dev/null || missing+=(openssl)
command -v tmux >/dev/null || missing+=(tmux)
[ -x /usr/bin/docker-registry ] && command -v htpasswd >/dev/null || missing+=(docker-registry apache2-utils) # OCI tests: registry, bcrypt htpasswd
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus) # metrics tests: Prometheus, promtool
# The image test (e2e/image.e2e.test.ts): a Debian base made with mmdebstrap, built and run with rootful podman
# (runc: crun refuses this sandbox's hybrid cgroups)
command -v podman >/dev/null && command -v mmdebstrap >/dev/null && command -v runc >/dev/null || missing+=(podman mmdebstrap runc)
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "system-deps: installing $packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $packages >/dev/null
else
  echo "system-deps: missing $packages — install them (e.g. sudo apt-get install $packages) and retry" >&2
  exit 1
fi
