#!/usr/bin/env bash
# Builds the npm package into host-wasm/pkg/ (web/: `--target web`, node/:
# `--target nodejs`, both shrunk by wasm-opt -Oz) and the WASI component
# (target/wasm/wasm32-wasip2/wasm/emissary_wasm.wasm). Installs the pinned
# wasm-bindgen CLI from crates.io and binaryen from npm when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen = "=…"` pin in host-wasm/Cargo.toml
export CARGO_TARGET_DIR="$PWD/target/wasm"

rustup target add wasm32-unknown-unknown wasm32-wasip2 >/dev/null
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WASM_BINDGEN_VERSION"; then
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if [ ! -x host-wasm/tools/node_modules/.bin/wasm-opt ]; then
  (cd host-wasm/tools && npm ci --no-audit --no-fund --ignore-scripts)
fi
wasm_opt="$PWD/host-wasm/tools/node_modules/.bin/wasm-opt"

cargo build -p emissary-wasm --locked --profile wasm --target wasm32-unknown-unknown
cargo build -p emissary-wasm --locked --profile wasm --target wasm32-wasip2

out=host-wasm/pkg
rm -rf "$out"
mkdir -p "$out"
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/emissary_wasm.wasm"
wasm-bindgen --target web --out-dir "$out/web" "$wasm"
wasm-bindgen --target nodejs --out-dir "$out/node" "$wasm"
for t in web node; do
  "$wasm_opt" -Oz "$out/$t/emissary_wasm_bg.wasm" -o "$out/$t/emissary_wasm_bg.wasm"
done
echo '{"type": "module"}' > "$out/web/package.json"
echo '{"type": "commonjs"}' > "$out/node/package.json"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
sed "s/\"version\": \"0.0.0\"/\"version\": \"$version\"/" host-wasm/npm/package.json > "$out/package.json"
cp host-wasm/npm/README.md "$out/README.md"

size=$(wc -c < "$out/web/emissary_wasm_bg.wasm")
gz=$(gzip -9 -n -c "$out/web/emissary_wasm_bg.wasm" | wc -c)
echo "host-wasm/pkg: emissary_wasm_bg.wasm $size bytes, $gz gzipped"
