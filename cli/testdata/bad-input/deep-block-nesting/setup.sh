#!/usr/bin/env bash
set -euo pipefail
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n' > deep.yaml
for i in $(seq 1 2000); do printf '%*sa:\n' $i ''; done >> deep.yaml
printf '#\n' > bad.yaml
