#!/usr/bin/env bash
set -euo pipefail
printf 'bad: []\n' > bad.yaml
{ printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: "'; head -c 4194304 /dev/zero | tr '\0' x; printf '"\n'; } > big.yaml
