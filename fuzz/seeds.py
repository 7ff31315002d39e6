#!/usr/bin/env python3
"""Writes the unminimised seeds of every fuzz target into OUT/<target>/.

Usage: python3 fuzz/seeds.py OUT [CONFORMANCE_DIR]

Seeds are the golden inputs (tests/golden/**/input.yaml) and, when given,
the conformance inputs (emissary-unit/*/input.yaml). `yaml` takes the text
as it is; `model`, `lower` and `translate` take a flags byte first (see
fuzz/src/lib.rs: bit 0 single_namespace, bit 1 placeholder_secrets, bit 2
ambassador_id blue, bit 3 ambassador_namespace emissary, bit 4 for
`translate` the Translator check), set from the golden `# options:` line.
`translate` also gets each golden feature's inputs joined by NUL bytes (one
file each). `cargo afl cmin` then keeps what adds coverage.
"""
import hashlib
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parent.parent
out = pathlib.Path(sys.argv[1])
extra = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None


def flags(text: bytes) -> int:
    first = text.split(b"\n", 1)[0]
    f = 0
    if first.startswith(b"# options:"):
        for kv in first[len(b"# options:"):].split():
            k, _, v = kv.partition(b"=")
            v = v or b"true"
            if k == b"single_namespace" and v == b"true":
                f |= 1
            elif k == b"placeholder_secrets" and v == b"true":
                f |= 2
            elif k == b"ambassador_id" and v == b"blue":
                f |= 4
            elif k == b"ambassador_namespace" and v == b"emissary":
                f |= 8
    return f


def write(target: str, data: bytes) -> None:
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)


inputs = sorted(root.glob("tests/golden/*/*/input.yaml"))
if extra:
    inputs += sorted(extra.glob("*/input.yaml"))
by_feature = {}
for p in inputs:
    text = p.read_bytes()
    f = flags(text)
    write("yaml", text)
    for t in ("model", "lower"):
        write(t, bytes([f]) + text)
    write("translate", bytes([f]) + text)
    write("translate", bytes([f | 16]) + text)
    by_feature.setdefault(p.parent.parent.name, []).append((f, text))
for feature, cases in by_feature.items():
    f = cases[0][0]
    write("translate", bytes([f | 16]) + b"\0".join(t for _, t in cases[:8]))
