// Times the package's `translate` and `translateText` in Node on the given
// manifest files, joined into one text (compare with `cargo run --release -p
// emissary-wasm --example bench` on the same files, which times the
// `translate_text` both call). Not a test:
// `node host-wasm/tests/node/bench.mjs FILE...`.

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const wasm = createRequire(import.meta.url)(path.join(root, "host-wasm/pkg/node/emissary_wasm.js"));
const text = process.argv.slice(2).map((f) => fs.readFileSync(f, "utf8") + "\n---\n").join("");
const RUNS = 15;

function time(name, f) {
  const times = [];
  let out;
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    out = f();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`node ${name}: best ${times[0].toFixed(1)} ms, median ${times[RUNS >> 1].toFixed(1)} ms`);
  return out;
}

const r = time("translate", () => wasm.translate(text));
const t = time("translateText", () => wasm.translateText(text));
const routes = r.xds.routes.reduce((n, rc) => n + rc.virtual_hosts.reduce((m, vh) => m + vh.routes.length, 0), 0);
const bytes = t.bootstrap.length + t.xds.length + t.ir.length;
console.log(`(${routes} routes, ${bytes} characters of JSON text)`);
