#!/usr/bin/env bash
# Records Emissary's output for golden inputs through its production input
# path (a watt snapshot, as Emissary's Go side builds it), for cases with
# Ingresses or getambassador.io/config annotations:
#   bash tests/conformance/record-oracle-watt.sh FEATURE/CASE...
# Ingress backends are first converted from the networking.k8s.io/v1 shape
# (service.name / service.port) to the v1beta1 one (serviceName /
# servicePort), the conversion Emissary's Go side applies before its
# translator sees them. Writes tests/conformance/oracle/FEATURE/CASE/expected.json.gz.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${ORACLE_PYTHON:-$HOME/.cache/emissary-oracle/venv/bin/python}
ORACLE=${ORACLE_DIR:-../shared/conformance/oracle}
for rel in "$@"; do
  input=tests/golden/$rel/input.yaml
  [ -f "$input" ] || { echo "no golden input $input" >&2; exit 1; }
  secrets=strict
  head -n1 "$input" | grep -q placeholder_secrets && secrets=null
  tmp=$(mktemp -d)
  python3 - "$input" > "$tmp/input.yaml" <<'PY'
import sys, yaml
def conv(b):
    if not isinstance(b, dict) or "service" not in b:
        return b
    s = b["service"]; p = s.get("port") or {}
    return {"serviceName": s.get("name"), "servicePort": p.get("number", p.get("name"))}
docs = []
for d in yaml.safe_load_all(open(sys.argv[1])):
    if isinstance(d, dict) and d.get("kind") == "Ingress":
        sp = d.get("spec") or {}
        if "defaultBackend" in sp:
            sp["backend"] = conv(sp.pop("defaultBackend"))
        for r in sp.get("rules") or []:
            for p in (r.get("http") or {}).get("paths") or []:
                p["backend"] = conv(p.get("backend"))
    docs.append(d)
yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)
PY
  python3 "$ORACLE/yaml2watt.py" "$tmp/input.yaml" > "$tmp/watt.json"
  "$PY" "$ORACLE/emissary_oracle.py" "$tmp/watt.json" --watt --secrets "$secrets" -o "$tmp/out.json"
  out=tests/conformance/oracle/$rel
  mkdir -p "$out"
  python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), sort_keys=True, separators=(",", ":")))' "$tmp/out.json" \
    | gzip -n > "$out/expected.json.gz"
  rm -rf "$tmp"
  echo "recorded $out/expected.json.gz"
done
