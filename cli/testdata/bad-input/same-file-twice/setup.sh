#!/usr/bin/env bash
set -euo pipefail
ln -s fleet.yaml again.yaml
