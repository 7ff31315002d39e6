// The built npm package (host-wasm/pkg, from host-wasm/build.sh) in Node:
// every golden case translates byte for byte as the native CLI does
// (`translateText`; `translate` gives the same as objects), validate
// places diagnostics in UTF-16 columns, explain answers, and the web build
// loads too. Run: node --test host-wasm/tests/node/
// The CLI is $EMISSARY_BIN, else target/debug/emissary.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const pkgDir = path.join(root, "host-wasm/pkg");
const wasm = createRequire(import.meta.url)(path.join(pkgDir, "node/emissary_wasm.js"));
const cli = process.env.EMISSARY_BIN ?? path.join(root, "target/debug/emissary");

function goldenCases(dir = path.join(root, "tests/golden"), out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (!e.isDirectory()) continue;
    if (fs.existsSync(path.join(p, "input.yaml"))) out.push(p);
    else goldenCases(p, out);
  }
  return out.sort();
}

// `# options: key=value …` → package options and the CLI's flags.
function caseOptions(text) {
  const options = {};
  const args = [];
  const first = text.split("\n", 1)[0];
  if (first.startsWith("# options:")) {
    for (const kv of first.slice("# options:".length).trim().split(/\s+/)) {
      const [k, v = "true"] = kv.split("=");
      if (k === "ambassador_id") { options.ambassadorId = v; args.push("--ambassador-id", v); }
      else if (k === "ambassador_namespace") { options.ambassadorNamespace = v; args.push("--ambassador-namespace", v); }
      else if (k === "single_namespace") { options.singleNamespace = v === "true"; args.push("--single-namespace", v); }
      else if (k === "placeholder_secrets") { options.placeholderSecrets = v === "true"; if (v === "true") args.push("--placeholder-secrets"); }
      else throw new Error(`unknown golden option ${k}`);
    }
  }
  return { options, args };
}

function runCli(args) {
  const env = { ...process.env };
  for (const k of ["AMBASSADOR_ID", "AMBASSADOR_NAMESPACE", "AMBASSADOR_SINGLE_NAMESPACE"]) delete env[k];
  const r = spawnSync(cli, args, { env, encoding: "utf8", maxBuffer: 1 << 28 });
  assert.ok(r.status === 0 || r.status === 1, `${cli} ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

const cases = goldenCases();

test("the golden corpus is there", () => {
  assert.ok(cases.length > 40, `only ${cases.length} golden cases`);
});

for (const dir of cases) {
  const name = path.relative(path.join(root, "tests/golden"), dir);
  // `translateText` keeps the CLI's bytes (a proto double's `100.0` included,
  // as in tracing/zipkin-tags-sampling); `translate` gives the same as JSON values.
  test(`golden ${name}: translateText is byte-identical to the CLI's output`, () => {
    const input = path.join(dir, "input.yaml");
    const text = fs.readFileSync(input, "utf8");
    const { options, args } = caseOptions(text);
    const t = wasm.translateText(text, options);
    const r = wasm.translate(text, options);
    for (const output of ["bootstrap", "xds", "ir"]) {
      const native = runCli(["translate", "--output", output, "--format", "json", ...args, input]);
      assert.equal(typeof t[output], "string", `${output} of ${name} is text`);
      assert.equal(t[output] + "\n", native, `${output} of ${name} differs from the CLI's bytes`);
      assert.deepStrictEqual(r[output], JSON.parse(t[output]), `${output} of ${name}: object form`);
    }
    assert.deepStrictEqual(r.diagnostics, t.diagnostics);
    const codes = JSON.parse(runCli(["translate", "--output", "diagnostics", "--format", "json", ...args, input]))
      .map((d) => d.code);
    assert.deepEqual(t.diagnostics.map((d) => d.code), codes);
  });
}

test("validate counts columns in UTF-16 code units after CJK and emoji", () => {
  const line = 'spec: {hostname: "*", prefix: "/日本🙂/", service: "svc:port"}';
  const text = [
    "apiVersion: getambassador.io/v3alpha1",
    "kind: Mapping",
    'metadata: {name: "ユニコード", namespace: default}',
    line,
    "",
  ].join("\n");
  const d = wasm.validate(text).find((d) => d.code === "service-invalid");
  assert.ok(d, "a service-invalid diagnostic");
  // 49 UTF-16 units precede the value (48 characters, 55 bytes).
  assert.equal(line.indexOf('"svc:port"'), 49);
  assert.deepEqual(d.range, { file: "manifests.yaml", line: 4, column: 50, endLine: 4, endColumn: 60 });
  assert.equal(d.object.name, "ユニコード");
  assert.equal(d.severity, "error");
});

test("explain reports canary weights", () => {
  const text = fs.readFileSync(path.join(root, "tests/golden/mapping/canary-weights/input.yaml"), "utf8");
  const e = wasm.explain(text, "GET http://example.com/shop/item");
  assert.equal(e.outcome, "forwarded");
  assert.deepEqual(
    e.targets.map((t) => [t.mapping.name, t.weight]),
    [["v2", 30], ["v3", 20], ["v1", 50]],
  );
  assert.equal(e.mapping.name, "v1");
  assert.equal(e.upstreamPath, "/item");
  const obj = wasm.explain(text, { method: "GET", url: "http://example.com/elsewhere", headers: [] });
  assert.equal(obj.outcome, "no-route");
});

test("options are checked", () => {
  assert.throws(() => wasm.translate("", { ambassadorId: 7 }));
  assert.match(wasm.version(), /^\d+\.\d+\.\d+/);
});

test("the web build loads and agrees with the Node build", async () => {
  const web = await import(pathToFileURL(path.join(pkgDir, "web/emissary_wasm.js")).href);
  web.initSync({ module: fs.readFileSync(path.join(pkgDir, "web/emissary_wasm_bg.wasm")) });
  const text = fs.readFileSync(path.join(cases[0], "input.yaml"), "utf8");
  assert.deepEqual(web.translate(text), wasm.translate(text));
  assert.deepEqual(web.translateText(text), wasm.translateText(text));
  assert.equal(web.version(), wasm.version());
});
