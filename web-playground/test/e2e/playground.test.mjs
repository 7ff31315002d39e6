// The playground in Chromium, from a static server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serveStatic, launch, shot, translated, untilTranslatedAfter } from "./support.mjs";

let server;
let b;

before(async () => {
  server = await serveStatic();
  b = await launch();
});
after(async () => {
  await b?.close();
  await server?.close();
});

async function fresh() {
  await b.page.goto(server.url);
  await b.page.evaluate(() => localStorage.clear());
  await b.page.goto(server.url);
  return translated(b.page);
}

test("first visit shows the quickstart with its routes", async () => {
  const page = b.page;
  await fresh();
  assert.match(await page.locator(".cm-content").innerText(), /kind: Mapping/);
  await page.locator("#routes .chunk").first().waitFor();
  assert.match(await page.locator("#route-summary").innerText(), /\d+ routes on 2 listeners/);
  assert.ok(await page.locator('#routes tr[data-mapping="default/api-v2"]').count() > 0);
  assert.match(await page.locator("#version").innerText(), /^emissary \d/);
  await shot(page, "01-quickstart");
});

test("picking an example shows its route table; clicking a row selects the Mapping", async () => {
  const page = b.page;
  const seq = await fresh();
  await page.selectOption("#examples", "mapping/canary-weights");
  await untilTranslatedAfter(page, seq);
  const rows = page.locator("#routes .vhost-routes").first().locator("tbody tr").filter({ hasText: "/shop/" });
  assert.deepEqual(await rows.locator("td:nth-child(5)").allInnerTexts(), ["default/v2", "default/v3", "default/v1"]);
  assert.deepEqual(await rows.locator(".share").allInnerTexts(), ["30%", "20%", "50%"]);
  await rows.nth(1).click();
  const selected = await page.evaluate(() => window.playground.selection());
  assert.match(selected, /^apiVersion: \S+\nkind: Mapping\nmetadata: \{name: v3, namespace: default\}\nspec:[\s\S]*weight: 20\n$/);
  await shot(page, "02-example-canary-routes");
});

test("an error gets a squiggle and a problem at its line; clicking it moves the cursor", async () => {
  const page = b.page;
  let seq = await fresh();
  await page.selectOption("#examples", "mapping/basic-prefix");
  await untilTranslatedAfter(page, seq);
  seq = await page.evaluate(() => Number(document.body.dataset.translatedSeq));
  // Type a Mapping whose prefix is a regex that does not compile.
  const text = await page.evaluate(() => window.playground.text());
  const first = text.split("\n").length; // the empty line after the final newline
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type('---\nkind: Mapping\napiVersion: getambassador.io/v3alpha1\nmetadata: {name: broken, namespace: default}\nspec: {hostname: "*", prefix: "/(", prefix_regex: true, service: x}\n');
  await untilTranslatedAfter(page, seq);
  // Typing goes through intermediate texts with problems of their own; the
  // squiggle that matters is the one under the regex.
  const squiggle = page.locator(".cm-lintRange-error", { hasText: '"/("' });
  await squiggle.waitFor();
  assert.equal(await squiggle.count(), 1);
  await page.click("#tab-problems");
  const problem = page.locator(".problem").filter({ hasText: "regex" }).first();
  await problem.waitFor();
  const badLine = first + 4;
  assert.equal(await problem.locator(".where").innerText(), `${badLine}:31`);
  assert.match(await problem.locator(".sev").innerText(), /error/i);
  assert.match(await problem.innerText(), /regex-invalid[\s\S]*Mapping default\/broken/);
  // Move away, then click the problem: the cursor goes to its line.
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+Home");
  await problem.click();
  const cursorLine = await page.evaluate(() => window.playground.cursor().line);
  assert.equal(cursorLine, badLine);
  assert.ok(Number(await page.locator("#problem-count").innerText()) >= 1);
  await shot(page, "03-error-squiggle-and-problem");
});

test("the request tester names the Mapping, upstream, rewritten path and canary shares", async () => {
  const page = b.page;
  const seq = await fresh();
  await page.selectOption("#examples", "quickstart");
  await untilTranslatedAfter(page, seq).catch(() => {});
  await page.click("#tab-request");
  await page.fill("#request-line", "GET http://example.com/api/users?id=7");
  await page.click("#request-run");
  await page.waitForFunction(() => document.querySelector("#explain")?.dataset.outcome === "forwarded");
  const verdict = await page.locator("#explain .verdict").innerText();
  assert.match(verdict, /Forwarded by Mapping default\/api-v1/);
  const facts = await page.locator("#explain dl.facts").innerText();
  assert.match(facts, /Upstream\s+127\.0\.0\.1:9000/);
  assert.match(facts, /Upstream path\s+\/v1\/users\?id=7/);
  const shares = await page.locator("#explain table.targets tbody tr").allInnerTexts();
  assert.equal(shares.length, 2);
  assert.match(shares.join("\n"), /10%.*api-v2/);
  assert.match(shares.join("\n"), /90%.*api-v1/);
  const checks = await page.locator("#explain table.checks .reason").allInnerTexts();
  assert.ok(checks.some((r) => /does not start with/.test(r)), "earlier routes say why they did not match");
  await shot(page, "04-request-tester");
  // A request nothing serves.
  await page.fill("#request-line", "GET http://example.com/nothing-here");
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => document.querySelector("#explain")?.dataset.outcome === "no-route");
});

test("a share link brings back the manifests, the request and the tab", async () => {
  const page = b.page;
  const yaml = (await import("node:fs")).readFileSync(new URL("../../../tests/golden/mapping/canary-weights/input.yaml", import.meta.url), "utf8");
  const link = `${server.url}#yaml=${Buffer.from(yaml, "utf8").toString("base64url")}&request=${encodeURIComponent("GET http://example.com/shop/cart")}&tab=envoy`;
  await page.goto("about:blank");
  await page.goto(link);
  await translated(page);
  assert.equal(await page.evaluate(() => window.playground.text()), yaml);
  assert.equal(await page.getAttribute("#tab-envoy", "aria-selected"), "true");
  assert.equal(await page.inputValue("#request-line"), "GET http://example.com/shop/cart");
  await page.waitForFunction(() => document.querySelector("#explain")?.dataset.outcome === "forwarded");
  await page.waitForFunction(() => document.querySelector("#envoy-view .cm-content")?.textContent.includes("listener-8080"));
  await shot(page, "05-share-link-envoy-tab");
  // Switch to YAML: the same listeners.
  await page.selectOption("#envoy-format", "yaml");
  await page.waitForFunction(() => document.querySelector("#envoy-view .cm-content")?.textContent.includes("name: listener-8080"));
  // The page writes its own link (compressed) and reads it back.
  await page.click("#tab-routes");
  await page.click("#share");
  await page.waitForFunction(() => location.hash.startsWith("#z="));
  const own = await page.evaluate(() => location.href);
  await page.goto("about:blank");
  await page.goto(own);
  await translated(page);
  assert.equal(await page.evaluate(() => window.playground.text()), yaml);
  assert.equal(await page.getAttribute("#tab-routes", "aria-selected"), "true");
  assert.equal(await page.inputValue("#request-line"), "GET http://example.com/shop/cart");
});

test("dark theme, the IR tab, and an honest message when the wasm module does not load", async () => {
  const page = b.page;
  await fresh();
  await page.keyboard.press("Alt+T");
  const themeNow = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.keyboard.press("Alt+4");
  assert.equal(await page.evaluate(() => window.playground.tab()), "ir");
  await page.waitForFunction(() => document.querySelector("#ir-view .cm-content")?.textContent.includes("listeners"));
  await shot(page, `06-ir-${themeNow}`);
  await page.keyboard.press("Alt+T");
  assert.notEqual(await page.evaluate(() => document.documentElement.dataset.theme), themeNow);
  // The wasm module fails to load.
  await page.route("**/*.wasm", (r) => r.fulfill({ status: 404, body: "gone" }));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset.wasm === "failed");
  assert.match(await page.locator("#banner").innerText(), /failed to load/);
  await shot(page, "07-wasm-failed");
  await page.unroute("**/*.wasm");
});

test("an empty editor says what to do, in every tab", async () => {
  const page = b.page;
  await fresh();
  await page.click("#clear");
  await page.locator("#routes .empty h2", { hasText: "Nothing to route yet" }).waitFor();
  await page.click("#tab-problems");
  assert.match(await page.locator("#problems").innerText(), /No manifests, no problems/);
  assert.match(await page.locator(".cm-placeholder").innerText(), /Paste Emissary manifests/);
  await page.click("#tab-request");
  await page.fill("#request-line", "");
  await page.click("#request-run");
  assert.match(await page.locator("#explain").innerText(), /Type a request/);
  await shot(page, "08-empty");
});

test("no page errors", () => {
  assert.deepEqual(b.errors, []);
});
