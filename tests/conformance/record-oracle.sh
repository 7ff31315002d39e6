#!/usr/bin/env bash
# Records what Emissary's own translator (../shared/conformance/oracle)
# generates for golden inputs, as conformance cases:
#   bash tests/conformance/record-oracle.sh FEATURE/CASE...
# writes tests/conformance/oracle/FEATURE/CASE/expected.json.gz from
# tests/golden/FEATURE/CASE/input.yaml. The input's `# options:` line is
# honoured: placeholder_secrets → `--secrets null` (else `strict`),
# ambassador_id / ambassador_namespace / single_namespace → Emissary's
# environment variables.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${ORACLE_PYTHON:-$HOME/.cache/emissary-oracle/venv/bin/python}
ORACLE=${ORACLE_DIR:-../shared/conformance/oracle}/emissary_oracle.py
for rel in "$@"; do
  input=tests/golden/$rel/input.yaml
  [ -f "$input" ] || { echo "no golden input $input" >&2; exit 1; }
  secrets=strict
  envs=()
  opts=$(head -n1 "$input" | sed -n 's/^# options://p')
  for kv in $opts; do
    k=${kv%%=*}; v=${kv#*=}; [ "$k" = "$kv" ] && v=true
    case $k in
      placeholder_secrets) [ "$v" = true ] && secrets=null ;;
      ambassador_id) envs+=("AMBASSADOR_ID=$v") ;;
      ambassador_namespace) envs+=("AMBASSADOR_NAMESPACE=$v") ;;
      single_namespace) [ "$v" = true ] && envs+=("AMBASSADOR_SINGLE_NAMESPACE=true") ;;
      *) echo "unknown option $k in $input" >&2; exit 1 ;;
    esac
  done
  out=tests/conformance/oracle/$rel
  mkdir -p "$out"
  tmp=$(mktemp)
  # Emissary's reader stops at a document with nothing in it (the options
  # line alone before the first `---`): give it the documents only.
  docs=$(mktemp --suffix .yaml)
  python3 -c 'import sys, yaml; yaml.safe_dump_all([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout, sort_keys=False)' "$input" > "$docs"
  env "${envs[@]}" "$PY" "$ORACLE" "$docs" --secrets "$secrets" -o "$tmp"
  rm -f "$docs"
  python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), sort_keys=True, separators=(",", ":")))' "$tmp" \
    | gzip -n > "$out/expected.json.gz"
  rm -f "$tmp"
  echo "recorded $out/expected.json.gz"
done
