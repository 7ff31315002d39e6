#!/usr/bin/env python3
"""compare_cases.py -- compare our outputs with Emissary's, case by case.

  compare_cases.py KIT_DIR CASES.json REPORT.json

Called by tests/conformance.rs. CASES.json is a list of
  {"label", "input", "expected", "output", "ignore_extras": [KEY, ...]}
(`input` the manifests the probes come from, `expected` Emissary's output,
`output` ours). Each case is compared at level full with the listed extras
left out (`tls_cert` where both sides serve invented placeholder
certificates), which also yields the level core agreement. REPORT.json gets
one record per case, in order:
  {"label", "probes", "agree", "core_agree", "differing_fields": {field: n},
   "first_mismatches": [{"probe", "a", "b"}], "error"?}
The conformance kit (KIT_DIR) does the probing and the simulation.
"""

import json
import sys


def main(argv):
    kit, cases_path, report_path = argv
    sys.path.insert(0, kit)
    import compare  # noqa: E402
    import envoysim  # noqa: E402
    import probes as probelib  # noqa: E402

    with open(cases_path) as fh:
        cases = json.load(fh)
    report = []
    for c in cases:
        rec = {"label": c["label"]}
        plist = probelib.probes_for_path(c["input"], probelib.DEFAULT_LIMIT)["probes"]
        rec["probes"] = len(plist)
        try:
            res = compare.compare_configs(
                envoysim.load_config(c["expected"]),
                envoysim.load_config(c["output"]),
                plist,
                "full",
                set(c.get("ignore_extras", [])),
            )
        except (ValueError, OSError) as e:
            rec.update(agree=0, core_agree=0, error=f"cannot load: {e}")
            report.append(rec)
            continue
        fields = {}
        for m in res["mismatches"]:
            for f in m["fields"]:
                fields[f] = fields.get(f, 0) + 1
        rec.update(
            agree=res["agree"],
            core_agree=res["core_agree"],
            differing_fields=fields,
            first_mismatches=[
                {"probe": m["probe"]["id"], "a": m["a"], "b": m["b"]} for m in res["mismatches"][:3]
            ],
        )
        report.append(rec)
    with open(report_path, "w") as fh:
        json.dump(report, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
