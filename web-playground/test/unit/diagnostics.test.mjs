import { test } from "node:test";
import assert from "node:assert/strict";
import { lineStarts, offsetOf, toMarks, counts, objectLabel } from "../../build/lib/diagnostics.js";

const d = (line, column, endLine, endColumn, extra = {}) => ({
  code: "x", severity: "error", message: "m", path: "", range: { file: "f", line, column, endLine, endColumn }, ...extra,
});

test("lines start after each newline", () => {
  assert.deepEqual(lineStarts("a\nbc\n\nd"), [0, 2, 5, 6]);
  assert.deepEqual(lineStarts(""), [0]);
});

test("1-based line and column to offsets, clamped to the line", () => {
  const t = "ab\ncdef\r\ng";
  const s = lineStarts(t);
  assert.equal(offsetOf(t, s, 1, 1), 0);
  assert.equal(offsetOf(t, s, 2, 3), 5);
  assert.equal(offsetOf(t, s, 2, 99), 7); // before \r\n
  assert.equal(offsetOf(t, s, 9, 1), t.length);
  assert.equal(offsetOf(t, s, 0, 1), 0);
});

test("columns are UTF-16 code units, as the package reports them", () => {
  // 𝔁 is two UTF-16 units: column 5 of line 2 is the `x` after "𝔁: ".
  const t = "a: 1\n𝔁: x\n";
  const [m] = toMarks(t, [d(2, 5, 2, 6)]);
  assert.equal(t.slice(m.from, m.to), "x");
  assert.equal(m.where, "2:5");
});

test("empty ranges widen to one character; ranges past the end clamp", () => {
  const t = "key: value\n";
  const [m] = toMarks(t, [d(1, 6, 1, 6)]);
  assert.equal(t.slice(m.from, m.to), "v");
  const [n] = toMarks(t, [d(1, 1, 7, 1)]);
  assert.equal(n.to, t.length);
});

test("marks are sorted by position then severity; rangeless ones sit at 0", () => {
  const t = "a\nb\nc\n";
  const ms = toMarks(t, [
    d(3, 1, 3, 2, { severity: "warning" }),
    d(2, 1, 2, 2, { severity: "info" }),
    d(2, 1, 2, 2, { severity: "error" }),
    { code: "y", severity: "warning", message: "no range", path: "" },
  ]);
  assert.deepEqual(ms.map((m) => [m.from, m.severity, m.index]), [[0, "warning", 3], [2, "error", 2], [2, "info", 1], [4, "warning", 0]]);
  assert.equal(ms[0].where, "");
});

test("counts and labels", () => {
  assert.deepEqual(counts([d(1, 1, 1, 1), d(1, 1, 1, 1, { severity: "info" })]), { error: 1, warning: 0, info: 1 });
  assert.equal(objectLabel({ kind: "Mapping", namespace: "default", name: "q" }), "Mapping default/q");
  assert.equal(objectLabel(undefined), "");
});
