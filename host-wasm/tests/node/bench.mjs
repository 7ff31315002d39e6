// Times the package's `translate` in Node on the given manifest files, joined
// into one text (compare with `cargo run --release -p emissary-wasm --example
// bench` on the same files). Not a test: `node host-wasm/tests/node/bench.mjs FILE...`.

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const wasm = createRequire(import.meta.url)(path.join(root, "host-wasm/pkg/node/emissary_wasm.js"));
const text = process.argv.slice(2).map((f) => fs.readFileSync(f, "utf8") + "\n---\n").join("");
const times = [];
let routes = 0;
for (let i = 0; i < 15; i++) {
  const start = process.hrtime.bigint();
  const r = wasm.translate(text);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  routes = r.xds.routes.reduce((n, rc) => n + rc.virtual_hosts.reduce((m, vh) => m + vh.routes.length, 0), 0);
}
times.sort((a, b) => a - b);
console.log(`node translate: best ${times[0].toFixed(1)} ms, median ${times[7].toFixed(1)} ms (${routes} routes)`);
