// Measures the playground in the system Chromium, from a local static server:
//   node bench/playground.mjs [runs]
// - first render: navigation start to the route table of the quickstart
//   (a fresh profile each run, so nothing is cached);
// - keystroke to updated diagnostics in the editor at 100 and 1,000
//   Mappings (the keydown's timestamp to the moment the worker's answer is
//   in the editor), and the longest main-thread task while typing;
// - the shipped JS, CSS and wasm, gzipped (-9).
// Needs `npm run build` first.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { serveStatic, launch, dist, translated, untilTranslatedAfter } from "../test/e2e/support.mjs";

const runs = Number(process.argv[2] ?? 5);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const fmt = (xs) => `median ${median(xs).toFixed(0)} ms, best ${Math.min(...xs).toFixed(0)}, worst ${Math.max(...xs).toFixed(0)} (n=${xs.length})`;

function manifests(n) {
  let out = `---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: "*", requestPolicy: {insecure: {action: Route}}}
`;
  for (let i = 0; i < n; i++) {
    out += `---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata:
  name: svc-${i}
  namespace: default
spec:
  hostname: "*"
  prefix: /svc-${i}/
  service: svc-${i}.default:80
  timeout_ms: 5000
`;
  }
  return out;
}

const server = await serveStatic();
const results = {};

// First render, cold.
const first = [];
for (let i = 0; i < runs; i++) {
  const b = await launch();
  await b.page.goto(server.url);
  await b.page.waitForFunction(() => performance.getEntriesByName("first-routes").length > 0, null, { timeout: 20_000 });
  first.push(await b.page.evaluate(() => performance.getEntriesByName("first-routes")[0].startTime));
  await b.close();
}
results["first render (quickstart, cold)"] = fmt(first);

// Keystroke to diagnostics.
const b = await launch();
for (const n of [100, 1000]) {
  await b.page.goto(server.url);
  await translated(b.page);
  let seq = await b.page.evaluate(() => Number(document.body.dataset.translatedSeq));
  const text = manifests(n);
  await b.page.evaluate((t) => window.playground.setText(t), text);
  await untilTranslatedAfter(b.page, seq);
  await b.page.evaluate(() => {
    window.__keys = [];
    document.addEventListener("keydown", (e) => window.__keys.push(e.timeStamp), true);
    window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: "longtask" });
  });
  // The cursor at the end of a Mapping's prefix line in the middle.
  const line = text.split("\n").findIndex((l) => l === `  prefix: /svc-${Math.floor(n / 2)}/`);
  await b.page.locator(".cm-content").click();
  await b.page.keyboard.press("Control+Home");
  for (let i = 0; i < line; i++) await b.page.keyboard.press("ArrowDown");
  await b.page.keyboard.press("End");
  const times = [];
  for (let i = 0; i < runs * 2; i++) {
    const before = await b.page.evaluate(() => Number(document.body.dataset.diagSeq));
    await b.page.keyboard.type(i % 2 ? "x" : "y");
    await b.page.waitForFunction((s) => Number(document.body.dataset.diagSeq) > s, before, { timeout: 20_000 });
    // Let a pending translation finish, so each keystroke starts from idle.
    await b.page.waitForTimeout(n >= 1000 ? 900 : 150);
    times.push(await b.page.evaluate(() => {
      const m = performance.getEntriesByName("diagnostics")[0];
      return m.startTime - window.__keys[window.__keys.length - 1];
    }));
  }
  results[`keystroke → diagnostics, ${n} Mappings`] = fmt(times);
  // A burst of typing: the longest main-thread task.
  await b.page.evaluate(() => { window.__long = []; });
  await b.page.keyboard.type("abcdefghijklmnopqrst", { delay: 30 });
  await b.page.waitForTimeout(1500);
  const long = await b.page.evaluate(() => window.__long);
  results[`typing 20 characters at 30 ms, ${n} Mappings: main-thread tasks over 50 ms`] =
    long.length ? `${long.length}, longest ${Math.max(...long).toFixed(0)} ms` : "none";
}
await b.close();
await server.close();

// Sizes.
const assets = join(dist, "assets");
let js = 0, css = 0, wasm = 0;
for (const f of readdirSync(assets)) {
  const gz = gzipSync(readFileSync(join(assets, f)), { level: 9 }).length;
  if (f.endsWith(".js")) js += gz; else if (f.endsWith(".css")) css += gz; else if (f.endsWith(".wasm")) wasm += gz;
}
const html = gzipSync(readFileSync(join(dist, "index.html")), { level: 9 }).length;
results["gzipped: JS (page + worker)"] = `${js.toLocaleString("en")} B`;
results["gzipped: wasm"] = `${wasm.toLocaleString("en")} B`;
results["gzipped: CSS + HTML"] = `${(css + html).toLocaleString("en")} B`;
results["gzipped: total"] = `${(js + wasm + css + html).toLocaleString("en")} B`;

for (const [k, v] of Object.entries(results)) console.log(`${k}: ${v}`);
