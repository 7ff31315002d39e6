import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRequest } from "../../build/lib/request.js";
import { findObject } from "../../build/lib/objects.js";

test("request line with method, URL and headers", () => {
  assert.deepEqual(parseRequest("POST https://foo.example.com/api/x?a=1", "x-user: alice\n\n:authority: b"), {
    method: "POST", url: "https://foo.example.com/api/x?a=1",
    headers: [{ name: "x-user", value: "alice" }, { name: ":authority", value: "b" }],
  });
});

test("the method defaults to GET and a bare host gets http://", () => {
  assert.deepEqual(parseRequest("  foo.example.com/x "), { method: "GET", url: "http://foo.example.com/x", headers: [] });
  assert.deepEqual(parseRequest("/x"), { method: "GET", url: "/x", headers: [] });
});

test("bad input says what is wrong", () => {
  assert.match(parseRequest("").error, /Type a request/);
  assert.match(parseRequest("GET a b").error, /method and a URL/);
  assert.match(parseRequest("GET /", "novalue").error, /Header line 1/);
});

test("objects are found in multi-document YAML, namespace default when absent", () => {
  const text = "kind: Host\nmetadata: {name: a}\n---\nkind: Mapping\nmetadata:\n  name: a\n  namespace: other\nspec: {}\n---\nkind: Mapping\nmetadata: {name: a}\nspec: {}\n";
  const other = findObject(text, { kind: "Mapping", namespace: "other", name: "a" });
  assert.ok(text.slice(other.from, other.to).startsWith("kind: Mapping\nmetadata:\n  name: a\n  namespace: other"));
  const dflt = findObject(text, { kind: "Mapping", namespace: "default", name: "a" });
  assert.ok(text.slice(dflt.from, dflt.to).startsWith("kind: Mapping\nmetadata: {name: a}"));
  assert.equal(findObject(text, { kind: "Mapping", namespace: "default", name: "zz" }), null);
  assert.equal(findObject("::: [", { kind: "Mapping", namespace: "default", name: "a" }), null);
});
