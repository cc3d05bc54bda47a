#!/usr/bin/env bash
set -euo pipefail
mkdir -p manifests/sub && mv fleet.yaml manifests/ && ln -s .. manifests/sub/loop && ln -s nowhere.yaml manifests/dangling.yaml
