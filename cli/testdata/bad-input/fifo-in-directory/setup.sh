#!/usr/bin/env bash
set -euo pipefail
mkdir manifests && mv fleet.yaml manifests/ && mkfifo manifests/pipe.yaml
