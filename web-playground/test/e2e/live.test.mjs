// Live mode: `emissary serve` with a real Envoy serves the page under /ui/;
// the page shows the configuration being served, its diagnostics and the
// Envoy's ACKs, and follows changes to the manifests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdtempSync, writeFileSync, rmSync, openSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { root, dist, shots, launch, shot } from "./support.mjs";

const BIN = process.env.EMISSARY_BIN ?? join(root, "target", "debug", "emissary");
const ENVOY = process.env.EMISSARY_ENVOY ?? join(root, ".venv", "bin", "envoy");

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, ms, probe) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { if ((last = await probe())) return last; } catch (e) { last = e; }
    await sleep(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
}

let dir;
let proc;
let admin;
let b;
let listenerPort;

const base = (port) => `---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: ${port}, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: any, namespace: default}
spec: {hostname: "*", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: quote, namespace: default}
spec: {hostname: "*", prefix: /quote/, service: "127.0.0.1:9"}
`;

before(async () => {
  assert.ok(existsSync(BIN), `EMISSARY_BIN ${BIN} is missing: cargo build -p emissary-k8s --bin emissary`);
  assert.ok(existsSync(ENVOY), `${ENVOY} is missing (Envoy 1.40 in .venv, see examples/run.sh)`);
  dir = mkdtempSync(join(tmpdir(), "playground-live-"));
  const config = join(dir, "config");
  mkdirSync(config);
  const [ads, envoyAdmin] = [await freePort(), await freePort()];
  admin = await freePort();
  listenerPort = await freePort();
  writeFileSync(join(config, "base.yaml"), base(listenerPort));
  mkdirSync(shots, { recursive: true });
  // A file, not a pipe: Node's pipes are sockets, where Envoy's access log
  // (/dev/stdout) cannot be opened.
  const log = openSync(join(shots, "live-serve.log"), "w");
  proc = spawn(BIN, [
    "serve", "--config-dir", config, "--envoy", ENVOY, "--envoy-admin-port", String(envoyAdmin),
    "--ads-port", String(ads), "--admin-port", String(admin), "--admin-address", "127.0.0.1",
    "--node-id", "playground-live", "--envoy-drain-seconds", "1", "--ui-dir", dist,
  ], { stdio: ["ignore", log, log], env: { ...process.env, RUST_LOG: "info" } });
  closeSync(log);
  await until("Envoy to ACK the first snapshot (/readyz)", 60_000, async () => {
    if (proc.exitCode !== null) throw new Error(`emissary serve exited with ${proc.exitCode}; see target/playground/live-serve.log`);
    return (await fetch(`http://127.0.0.1:${admin}/readyz`)).ok;
  });
  b = await launch();
});

after(async () => {
  await b?.close();
  if (proc && proc.exitCode === null) {
    proc.kill("SIGTERM");
    await Promise.race([new Promise((r) => proc.once("exit", r)), sleep(10_000)]);
    if (proc.exitCode === null) proc.kill("SIGKILL");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the daemon serves the page and its state under /ui/", async () => {
  const index = await fetch(`http://127.0.0.1:${admin}/ui/`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), /Emissary playground/);
  const state = await (await fetch(`http://127.0.0.1:${admin}/ui/state.json`)).json();
  assert.equal(state.live, true);
  assert.ok(state.config.listeners.length >= 1);
  assert.equal(state.ads.nodes[0].id, "playground-live");
  // Polling with the last stamp: nothing changed, nothing sent.
  const again = await (await fetch(`http://127.0.0.1:${admin}/ui/state.json?stamp=${state.stamp}`)).json();
  assert.deepEqual(again, { live: true, unchanged: true, stamp: state.stamp });
  // Only files under the directory: an encoded `..` does not get out.
  assert.equal((await fetch(`http://127.0.0.1:${admin}/ui/assets%2f..%2f..%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/ui/assets/nope.js`)).status, 404);
  const redirect = await fetch(`http://127.0.0.1:${admin}/ui`, { redirect: "manual" });
  assert.equal(redirect.status, 308);
});

test("the page shows the served routes, the Envoy's ACKs, and follows changes", async () => {
  const page = b.page;
  await page.goto(`http://127.0.0.1:${admin}/ui/`);
  await page.locator("#mode-badge").waitFor();
  assert.equal(await page.locator("#editor").isHidden(), true, "read-only: no editor");
  assert.equal(await page.locator("#tab-request").isHidden(), true);
  await page.locator("#routes tr", { hasText: "prefix /quote/" }).first().waitFor();
  const panel = page.locator("#live-panel");
  assert.match(await panel.innerText(), /Serving snapshot \d+/);
  assert.match(await panel.innerText(), /playground-live · connected/);
  await page.locator("#live-panel .ack").first().waitFor();
  assert.equal(await page.locator("#live-panel .nack").count(), 0);
  await shot(page, "09-live-routes");

  // A new Mapping, and one with an invalid regex (ignored, with a diagnostic).
  writeFileSync(join(dir, "config", "more.yaml"), `---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: added, namespace: default}
spec: {hostname: "*", prefix: /added/, service: "127.0.0.1:9"}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: broken, namespace: default}
spec: {hostname: "*", prefix: "/(", prefix_regex: true, service: x}
`);
  await page.locator("#routes tr", { hasText: "prefix /added/" }).first().waitFor({ timeout: 20_000 });
  // The daemon hands the page its IR: each route names its Mapping.
  assert.match(await page.locator("#routes tr", { hasText: "prefix /added/" }).first().innerText(), /default\/added/);
  await page.click("#tab-problems");
  const problem = page.locator(".problem", { hasText: "regex-invalid" }).first();
  await problem.waitFor({ timeout: 10_000 });
  assert.match(await problem.innerText(), /Mapping default\/broken/);
  // At its place in its file: line 10 of more.yaml, the prefix's value.
  assert.equal(await problem.locator(".where").innerText(), "10:31");
  assert.match(await problem.innerText(), /more\.yaml/);
  await page.click("#tab-envoy");
  await page.selectOption("#envoy-what", "routes");
  await page.waitForFunction(() => document.querySelector("#envoy-view .cm-content")?.textContent.includes("/added/"));
  await shot(page, "10-live-envoy-routes");
});
