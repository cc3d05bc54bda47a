#!/usr/bin/env bash
set -euo pipefail
truncate -s 17M huge.yaml
