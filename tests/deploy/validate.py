#!/usr/bin/env python3
"""Validates deploy/ and the CRD schemas against the inputs we know.

Checks, each counted as one test in node's `# pass N` / `# fail M` form:

1. Every file of deploy/ parses, and every install (`kubectl kustomize` of
   deploy/ and of each overlay) renders; the checked-in deploy/emissary.yaml
   equals the rendered default install.
2. Every built-in object of every install (and every CRD) validates against
   Kubernetes' own schemas (kubernetes-validate, strict: unknown fields fail).
3. Every CRD schema is structural (what an API server requires).
4. Every custom resource of every install validates against its CRD.
5. Every getambassador.io object in tests/golden/ and in the shared
   conformance corpus (v2 objects after `emissary migrate`) is judged by the
   CRD schema as core judges it: the schema rejects an object exactly when
   core reports a type error, a missing required field or an unknown field
   where the schema is typed, and at that field.

Usage: validate.py EMISSARY_BIN
"""

import copy
import glob
import json
import os
import subprocess
import sys

import jsonschema
import kubernetes_validate
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K8S_VERSION = "1.32.0"
OVERLAYS = ["namespaced", "ambassador-id", "single-replica"]
# Core's diagnostics that an API server's schema check also raises.
STRUCTURAL = {"wrong-type", "missing-field", "unknown-field"}

passed = 0
failed = 0


def check(name, problems):
    global passed, failed
    if problems:
        failed += 1
        print(f"not ok - {name}")
        for p in problems[:40]:
            print(f"  {p}")
        if len(problems) > 40:
            print(f"  ... and {len(problems) - 40} more")
    else:
        passed += 1
        print(f"ok - {name}")


def load_all(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def kustomize(path):
    out = subprocess.run(
        ["kubectl", "kustomize", path], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return out.stdout


# 1. Parse and render.
installs = {}
problems = []
for f in sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.yaml"), recursive=True)):
    try:
        load_all(open(f, encoding="utf-8").read())
    except yaml.YAMLError as e:
        problems.append(f"{os.path.relpath(f, ROOT)}: {e}")
for name, path in [("default", "deploy")] + [
    (o, f"deploy/overlays/{o}") for o in OVERLAYS
]:
    try:
        installs[name] = load_all(kustomize(os.path.join(ROOT, path)))
    except (RuntimeError, yaml.YAMLError) as e:
        problems.append(f"{path}: {e}")
single = load_all(open(os.path.join(ROOT, "deploy", "emissary.yaml"), encoding="utf-8").read())
if installs.get("default") != single:
    problems.append("deploy/emissary.yaml is not the rendered default install (cargo xtask deploy)")
if not any(d["kind"] == "Deployment" for d in installs.get("default", [])):
    problems.append("the default install has no Deployment")
check("deploy/ parses and every install renders", problems)

crds = {
    d["spec"]["names"]["kind"]: d
    for d in load_all(open(os.path.join(ROOT, "deploy", "crds", "crds.yaml"), encoding="utf-8").read())
}

# 2. Built-in kinds against Kubernetes' schemas.
problems = []
seen = 0
for name, docs in installs.items():
    for d in docs:
        if d.get("apiVersion", "").startswith("getambassador.io/"):
            continue
        seen += 1
        try:
            kubernetes_validate.validate(d, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{name}: {d['kind']} {d['metadata'].get('name')}: {e.message} at {list(e.path)}")
        except kubernetes_validate.SchemaNotFoundError as e:
            problems.append(f"{name}: {d['kind']}: no schema ({e})")
if seen < 10:
    problems.append(f"only {seen} built-in objects found")
check(f"{seen} built-in objects validate against Kubernetes {K8S_VERSION} (strict)", problems)


# 3. Structural schemas.
def structural(s, path, out):
    if not isinstance(s, dict):
        out.append(f"{path}: not a mapping")
        return
    if "type" not in s and s.get("x-kubernetes-preserve-unknown-fields") is not True:
        out.append(f"{path}: no type")
    if "properties" in s and "additionalProperties" in s:
        out.append(f"{path}: properties with additionalProperties")
    for k, v in s.get("properties", {}).items():
        structural(v, f"{path}.{k}", out)
    for k in ("items", "additionalProperties"):
        if isinstance(s.get(k), dict):
            structural(s[k], f"{path}.{k}", out)


problems = []
for kind, crd in crds.items():
    versions = crd["spec"]["versions"]
    if [v["name"] for v in versions] != ["v3alpha1"] or not versions[0]["storage"]:
        problems.append(f"{kind}: not served and stored at v3alpha1 only")
    structural(versions[0]["schema"]["openAPIV3Schema"], kind, problems)
if len(crds) != 14:
    problems.append(f"{len(crds)} CRDs, expected 14")
check(f"{len(crds)} CRD schemas are structural, served and stored at v3alpha1", problems)


def json_schema(s):
    """The JSON Schema an API server's strict field validation applies."""
    s = copy.deepcopy(s)

    def walk(n):
        if not isinstance(n, dict):
            return
        preserve = n.pop("x-kubernetes-preserve-unknown-fields", False)
        if "properties" in n and not preserve:
            n["additionalProperties"] = False
        for v in n.get("properties", {}).values():
            walk(v)
        for k in ("items", "additionalProperties"):
            if isinstance(n.get(k), dict):
                walk(n[k])

    walk(s)
    return s


validators = {
    kind: jsonschema.Draft7Validator(json_schema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]))
    for kind, crd in crds.items()
}


def schema_errors(doc):
    """(field path, message) of each schema error of a getambassador.io object."""
    out = []
    for e in validators[doc["kind"]].iter_errors(doc):
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e.absolute_path)
        path = path.replace(".[", "[")
        if e.validator == "required":
            missing = e.message.split("'")[1]
            path = f"{path}.{missing}" if path else missing
        if e.validator == "additionalProperties":
            # One error names every unexpected key.
            for extra in sorted(set(e.instance) - set(e.schema.get("properties", {}))):
                out.append((f"{path}.{extra}" if path else extra, e.message))
            continue
        out.append((path, e.message))
    return out


# 4. Custom resources of the installs.
problems = []
seen = 0
for name, docs in installs.items():
    for d in docs:
        if d.get("apiVersion", "").startswith("getambassador.io/"):
            seen += 1
            if d["apiVersion"] != "getambassador.io/v3alpha1":
                problems.append(f"{name}: {d['kind']} is {d['apiVersion']}")
            for path, msg in schema_errors(d):
                problems.append(f"{name}: {d['kind']} {d['metadata']['name']}: {path}: {msg}")
if seen == 0:
    problems.append("no custom resources in the installs")
check(f"{seen} custom resources of the installs validate against the CRDs", problems)


# 5. Golden and conformance inputs: the schema judges as core judges.
emissary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "emissary")


def core_diagnostics(path):
    out = subprocess.run(
        [emissary, "translate", "--output", "diagnostics", path],
        capture_output=True, text=True, check=False,
    )
    return json.loads(out.stdout or "[]")


def migrated(path):
    """The file's objects as v3alpha1 (`emissary migrate`), or None."""
    out = subprocess.run([emissary, "migrate", path], capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1) or not out.stdout.strip():
        return None
    return out.stdout


def typed_at(schema, path):
    """Whether the CRD schema types the value at `path` (not kept as written)."""
    node = schema
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if node.get("x-kubernetes-preserve-unknown-fields") and "properties" not in node:
            return False
        if part.startswith("["):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            # An unknown key: rejected unless the mapping keeps unknown fields.
            return not node.get("x-kubernetes-preserve-unknown-fields", False)
    return not (node.get("x-kubernetes-preserve-unknown-fields") and "type" not in node)


def judge(files):
    problems = []
    objects = 0
    skipped_v2 = 0
    rejected = 0
    for f in files:
        text = open(f, encoding="utf-8").read()
        try:
            docs = load_all(text)
        except yaml.YAMLError:
            continue  # inputs that test the YAML reader
        ours = [d for d in docs if isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("getambassador.io/")]
        if not ours:
            continue
        src = f
        if any(d.get("apiVersion") != "getambassador.io/v3alpha1" for d in ours):
            m = migrated(f)
            if m is None:
                skipped_v2 += 1
                continue
            tmp = os.path.join(ROOT, "target", "deploy-check.yaml")
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            open(tmp, "w", encoding="utf-8").write(m)
            src = tmp
            try:
                docs = load_all(m)
            except yaml.YAMLError as e:
                problems.append(f"{f}: migrated output does not parse: {e}")
                continue
            ours = [d for d in docs if isinstance(d, dict) and str(d.get("apiVersion", "")).startswith("getambassador.io/")]
        diags = core_diagnostics(src)
        for d in ours:
            kind = d.get("kind")
            meta = d.get("metadata") or {}
            if kind not in validators or not isinstance(meta, dict) or "name" not in meta:
                continue
            if not isinstance(d.get("spec", {}), dict):
                continue
            objects += 1
            name = meta["name"]
            ns = meta.get("namespace", "default")
            mine = [
                x
                for x in diags
                if x.get("object", {}).get("kind") == kind
                and x.get("object", {}).get("name") == name
                and x.get("object", {}).get("namespace", ns) == ns
                and x.get("path", "").startswith("spec")
            ]
            # What core rejects as the schema would; and every field core
            # says anything about (a value out of range, an unknown enum value).
            core = {x["path"] for x in mine if x["code"] in STRUCTURAL}
            flagged = {x["path"] for x in mine}
            schema = crds[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            core_typed = {p for p in core if typed_at(schema, p)}
            found = {p for p, _ in schema_errors(d)}
            rejected += bool(found)
            where = f"{os.path.relpath(f, ROOT)}: {kind} {ns}/{name}"
            for p in sorted(found - flagged):
                # The schema may see an error beneath the one core reports.
                if not any(p.startswith(c) for c in flagged):
                    problems.append(f"{where}: the schema rejects `{p}`, core accepts it")
            for p in sorted(core_typed - found):
                if not any(q.startswith(p) for q in found):
                    problems.append(f"{where}: core rejects `{p}`, the schema accepts it")
    return problems, objects, skipped_v2, rejected


golden = sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "**", "input*.yaml"), recursive=True))
problems, objects, skipped, rejected = judge(golden)
if objects < 100:
    problems.append(f"only {objects} objects judged")
note = f", {skipped} files of v2 objects skipped (no `emissary migrate`)" if skipped else ""
check(f"{objects} getambassador.io objects of tests/golden ({rejected} rejected) are judged by the CRD schemas as by core{note}", problems)

shared = os.environ.get("EMISSARY_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
conf = sorted(glob.glob(os.path.join(shared, "conformance", "emissary-unit", "*", "input.yaml")))
if conf:
    problems, objects, skipped, rejected = judge(conf)
    note = f", {skipped} files of v2 objects skipped (no `emissary migrate`)" if skipped else ""
    check(f"{objects} getambassador.io objects of the conformance corpus ({rejected} rejected) are judged by the CRD schemas as by core{note}", problems)
else:
    print(f"# the conformance corpus is not at {shared}/conformance: skipped")

print(f"# pass {passed}")
print(f"# fail {failed}")
sys.exit(1 if failed else 0)
