#!/usr/bin/env bash
# The web playground's checks, as .ci/run calls them (after
# `bash host-wasm/build.sh` and `cargo build -p emissary-k8s --bin emissary`):
# installs Debian's Chromium when it is missing (never a downloaded browser),
# the pinned npm packages (package-lock.json), builds dist/, then runs the
# unit tests and the browser tests. Both print node's test runner summary
# (`# pass N` / `# fail M`); the script fails when either fails.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y --no-install-recommends chromium >/dev/null
fi
# Vite 7 needs Node 20.19 or later.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "web-playground: Node $(node --version) is too old; the build needs Node 20.19 or later" >&2
  exit 1
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export EMISSARY_BIN="${EMISSARY_BIN:-$PWD/../target/debug/emissary}"

npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
npm run --silent build

status=0
npm run --silent test:unit || status=1
npm run --silent test:e2e || status=1
exit "$status"
