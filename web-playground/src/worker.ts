// The translation worker: validation, translation, route table and request
// explanation run here, so that typing never waits for the translator.
import init, { validate, translate, explain, version } from "./generated/wasm/emissary_wasm.js";
import wasmUrl from "./generated/wasm/emissary_wasm_bg.wasm?url";
import { stringify as yamlStringify } from "yaml";
import { routeTableFromIr } from "./lib/routes.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let last: { seq: number; result: any } | null = null;
let pending: Extract<ToWorker, { type: "update" }> | null = null;
const queue: ToWorker[] = [];
let running = false;

const ready = (async () => {
  const t0 = performance.now();
  try {
    await init({ module_or_path: wasmUrl });
    post({ type: "ready", version: version(), ms: performance.now() - t0 });
    return true;
  } catch (e) {
    post({ type: "fatal", message: e instanceof Error ? e.message : String(e) });
    return false;
  }
})();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function runUpdate(m: Extract<ToWorker, { type: "update" }>) {
  let t0 = performance.now();
  try {
    const diagnostics = validate(m.text, m.options);
    post({ type: "diagnostics", seq: m.seq, diagnostics, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: "failed", seq: m.seq, error: errorText(e) });
    return;
  }
  // Large inputs: translate once typing has paused.
  if (m.quietMs > 0) {
    await sleep(m.quietMs);
    if (pending) return;
  }
  t0 = performance.now();
  try {
    const result = translate(m.text, m.options);
    last = { seq: m.seq, result };
    const table = routeTableFromIr(result.ir);
    const sizes: Record<string, number> = {};
    for (const [k, v] of Object.entries(result.xds)) sizes[k] = (v as unknown[]).length;
    post({ type: "translated", seq: m.seq, table, sizes, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: "failed", seq: m.seq, error: errorText(e) });
  }
}

function render(what: string, format: "json" | "yaml"): string {
  if (!last) return "";
  const r = last.result;
  const value = what === "ir" ? r.ir : what === "bootstrap" ? r.bootstrap : what === "xds" ? r.xds : r.xds[what];
  if (value === undefined) return "";
  return format === "yaml" ? yamlStringify(value, { lineWidth: 0, aliasDuplicateObjects: false }) : JSON.stringify(value, null, 2);
}

async function drain() {
  if (running) return;
  running = true;
  if (!(await ready)) { running = false; return; }
  while (pending || queue.length) {
    if (pending) {
      const m = pending;
      pending = null;
      await runUpdate(m);
      continue;
    }
    const m = queue.shift()!;
    if (m.type === "explain") {
      try {
        post({ type: "explained", seq: m.seq, explanation: explain(m.text, m.request, m.options) });
      } catch (e) {
        post({ type: "explained", seq: m.seq, error: errorText(e) });
      }
    } else if (m.type === "render") {
      post({ type: "rendered", seq: m.seq, what: m.what, text: render(m.what, m.format) });
    }
  }
  running = false;
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.type === "update") pending = m; // only the newest text matters
  else queue.push(m);
  void drain();
};
