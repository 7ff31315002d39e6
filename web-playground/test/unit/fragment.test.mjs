import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeFragment, encodeFragment, encodeText, decodeText, bytesToBase64url, base64urlToBytes,
} from "../../build/lib/fragment.js";

const yaml = "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: café-ü, namespace: default}\nspec: {prefix: /ünï/, service: 𝔁}\n";

test("base64url round-trips bytes without padding or +/", () => {
  const bytes = new Uint8Array([0, 251, 255, 62, 63, 1, 2]);
  const s = bytesToBase64url(bytes);
  assert.doesNotMatch(s, /[+/=]/);
  assert.deepEqual(base64urlToBytes(s), bytes);
});

test("text is UTF-8 before base64url (what tools generate)", () => {
  const expected = Buffer.from(yaml, "utf8").toString("base64url");
  assert.equal(encodeText(yaml), expected);
  assert.equal(decodeText(expected), yaml);
});

test("#yaml= with request and tab is read", async () => {
  const b64 = Buffer.from(yaml, "utf8").toString("base64url");
  const s = await decodeFragment(`#yaml=${b64}&request=${encodeURIComponent("GET https://foo.example.com/api/x?a=b+c")}&tab=envoy`);
  assert.equal(s.yaml, yaml);
  assert.equal(s.request, "GET https://foo.example.com/api/x?a=b+c");
  assert.equal(s.tab, "envoy");
});

test("standard base64 with padding is read too", async () => {
  const b64 = Buffer.from(yaml, "utf8").toString("base64");
  const s = await decodeFragment(`#yaml=${encodeURIComponent(b64)}`);
  assert.equal(s.yaml, yaml);
});

test("an unknown tab is ignored; no manifests gives null", async () => {
  const s = await decodeFragment(`#yaml=${encodeText("a: 1")}&tab=nope`);
  assert.equal(s.tab, undefined);
  assert.equal(await decodeFragment("#tab=routes"), null);
  assert.equal(await decodeFragment(""), null);
});

test("a malformed payload throws", async () => {
  await assert.rejects(decodeFragment("#yaml=%%%"));
  await assert.rejects(decodeFragment("#z=AAAA"));
});

test("written fragments read back, compressed when shorter", async () => {
  const big = yaml.repeat(50);
  const f = await encodeFragment({ yaml: big, request: "GET http://x/ y", headers: "x-a: 1", tab: "routes" });
  assert.match(f, /^#z=/);
  assert.ok(f.length < encodeText(big).length / 5);
  assert.deepEqual(await decodeFragment(f), { yaml: big, request: "GET http://x/ y", headers: "x-a: 1", tab: "routes" });
  const small = await encodeFragment({ yaml: "a: 1\n" });
  assert.match(small, /^#yaml=/);
  assert.deepEqual(await decodeFragment(small), { yaml: "a: 1\n" });
  const plain = await encodeFragment({ yaml: big }, { compress: false });
  assert.match(plain, /^#yaml=/);
});
