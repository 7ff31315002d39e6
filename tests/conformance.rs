//! Conformance with Emissary: translates each case of
//! `../shared/conformance/emissary-unit` (and its `with-listeners/` copies)
//! with the environment Emissary ran with, and has the routing kit compare our
//! ADS resources (what the daemon serves: EDS clusters with their
//! ClusterLoadAssignments, as Emissary's) with Emissary's output probe by probe.
//!
//! The agreement per case is ratcheted in `tests/conformance/baseline.json`:
//! the test fails when a case agrees on fewer probes than recorded there.
//! `UPDATE_CONFORMANCE=1` rewrites the baseline; the per-feature summary is
//! printed and written to `target/conformance-report.txt`.

use emissary_core::{Inputs, Options, SourceFile};
use emissary_tests::repo_root;
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let args = Arguments::from_args();
    let trial = match emissary_tests::shared() {
        Ok(shared) => Trial::test("conformance::emissary_unit", move || run(&shared)),
        Err(why) => {
            // Without Emissary's outputs there is nothing to compare with.
            eprintln!("conformance::emissary_unit skipped: {why}");
            Trial::test("conformance::emissary_unit", || Ok(())).with_ignored_flag(true)
        }
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}

/// A case and the key its output is stored under.
struct Case {
    dir: PathBuf,
    label: String,
    options: Options,
}

/// Our own cases: golden inputs with the output of Emissary's translator (the
/// oracle) in `tests/conformance/oracle/<feature>/<case>/expected.json.gz`.
/// Each is materialized as a kit case (input.yaml + expected) under `tmp`.
fn oracle_cases(tmp: &Path) -> Result<Vec<Case>, String> {
    let root = repo_root().join("tests/conformance/oracle");
    let mut out = Vec::new();
    let mut features: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .collect();
    features.sort();
    for f in features {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&f)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for d in dirs {
            let rel = d
                .strip_prefix(&root)
                .map_err(|e| e.to_string())?
                .to_path_buf();
            let input = std::fs::read_to_string(
                repo_root()
                    .join("tests/golden")
                    .join(&rel)
                    .join("input.yaml"),
            )
            .map_err(|e| format!("golden input for {}: {e}", rel.display()))?;
            let dir = tmp.join("oracle").join(&rel);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("input.yaml"), &input).map_err(|e| e.to_string())?;
            std::fs::copy(d.join("expected.json.gz"), dir.join("expected.json.gz"))
                .map_err(|e| e.to_string())?;
            out.push(Case {
                dir,
                label: format!("oracle/{}", rel.display()),
                options: emissary_tests::case_options(&input),
            });
        }
    }
    Ok(out)
}

fn cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input.yaml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let wl = d.join("with-listeners");
        let options = options_for(&d);
        out.push(Case {
            dir: d,
            label: name.clone(),
            options,
        });
        if wl.join("input.yaml").is_file() {
            let options = options_for(&wl);
            out.push(Case {
                dir: wl,
                label: format!("{name}/with-listeners"),
                options,
            });
        }
    }
    out
}

fn options_for(dir: &Path) -> Options {
    let mut o = Options::default();
    let meta = dir.join("meta.json");
    let meta = std::fs::read_to_string(&meta)
        .or_else(|_| std::fs::read_to_string(dir.join("../meta.json")));
    if let Ok(text) = meta
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
    {
        o.placeholder_secrets = v["secret_handler"] == "NullSecretHandler";
        if let Some(ns) = v["env"]["AMBASSADOR_NAMESPACE"].as_str() {
            o.ambassador_namespace = ns.to_string();
        }
        if let Some(id) = v["env"]["AMBASSADOR_ID"].as_str() {
            o.ambassador_id = id.to_string();
        }
        if v["env"]["AMBASSADOR_SINGLE_NAMESPACE"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
        {
            o.single_namespace = true;
        }
    }
    o
}

fn key(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn run(shared: &Path) -> Result<(), Failed> {
    let root = shared.join("conformance/emissary-unit");
    let kit = shared.join("conformance/kit");
    if !kit.join("compare.py").is_file() {
        return Err(format!("conformance kit not found at {}", kit.display()).into());
    }
    // `EMISSARY_CONFORMANCE_KEEP=DIR` keeps our outputs, the materialized
    // cases, the case list and the report in DIR, to compare one case by hand:
    // `python3 KIT/compare.py CASE/ads.json DIR/KEY.json --manifests
    // CASE/input.yaml` (KEY from DIR/cases.json).
    let keep = std::env::var_os("EMISSARY_CONFORMANCE_KEEP").map(PathBuf::from);
    let out = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("emissary-conformance-{}", std::process::id()))
    });
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let mut cases = cases(&root);
    cases.extend(oracle_cases(&out)?);
    let mut list = Vec::new();
    for c in &cases {
        let input = c.dir.join("input.yaml");
        let text = std::fs::read_to_string(&input).map_err(|e| e.to_string())?;
        let t = emissary_core::translate(&Inputs {
            files: vec![SourceFile {
                name: "input.yaml".into(),
                text,
            }],
            options: c.options.clone(),
        });
        // What the daemon serves over ADS (EDS clusters with their
        // ClusterLoadAssignments, as Emissary's), plus the bootstrap's runtime.
        let mut view = serde_json::to_value(t.resources(emissary_core::xds::Mode::Ads))
            .map_err(|e| e.to_string())?;
        let boot = serde_json::to_value(t.bootstrap()).map_err(|e| e.to_string())?;
        if let (Some(v), Some(rt)) = (view.as_object_mut(), boot.get("layered_runtime")) {
            v.insert("layered_runtime".into(), rt.clone());
        }
        let output = out.join(format!("{}.json", key(&c.label)));
        let json = serde_json::to_string(&view).map_err(|e| e.to_string())?;
        std::fs::write(&output, json).map_err(|e| e.to_string())?;
        let expected = ["expected.json", "expected.json.gz", "ads.json"]
            .iter()
            .map(|n| c.dir.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{}: no Emissary output", c.dir.display()))?;
        // With placeholder secrets both sides serve a certificate of their
        // own invention: which one says nothing about agreement.
        let ignore: &[&str] = if c.options.placeholder_secrets {
            &["tls_cert"]
        } else {
            &[]
        };
        list.push(serde_json::json!({
            "label": c.label,
            "input": input,
            "expected": expected,
            "output": output,
            "ignore_extras": ignore,
        }));
    }
    let list_path = out.join("cases.json");
    std::fs::write(
        &list_path,
        serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let report = out.join("report.json");
    let status = Command::new("python3")
        .arg(repo_root().join("tests/conformance/compare_cases.py"))
        .arg(&kit)
        .arg(&list_path)
        .arg(&report)
        .output()
        .map_err(|e| format!("running the kit: {e}"))?;
    let text = std::fs::read_to_string(&report).map_err(|e| {
        format!(
            "kit wrote no report ({e}): {}",
            String::from_utf8_lossy(&status.stderr)
        )
    })?;
    let recs: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if recs.len() != cases.len() {
        return Err(format!(
            "kit reported {} cases, expected {}",
            recs.len(),
            cases.len()
        )
        .into());
    }
    let mut now: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut core_agree: BTreeMap<String, u64> = BTreeMap::new();
    // Cases that differ somewhere, with the outcome fields that differ and
    // how many probes each; and why a case could not be compared.
    let mut differing = String::new();
    for (c, r) in cases.iter().zip(&recs) {
        let agree = r["agree"].as_u64().unwrap_or(0);
        let probes = r["probes"].as_u64().unwrap_or(0);
        now.insert(c.label.clone(), (agree, probes));
        core_agree.insert(c.label.clone(), r["core_agree"].as_u64().unwrap_or(agree));
        if let Some(e) = r["error"].as_str() {
            differing.push_str(&format!("  {}: {e}\n", c.label));
        } else if agree != probes {
            let fields: Vec<String> = r["differing_fields"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}×{v}")).collect())
                .unwrap_or_default();
            differing.push_str(&format!(
                "  {}: {agree}/{probes} ({})\n",
                c.label,
                fields.join(", ")
            ));
        }
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&out);
    }

    // Per-feature summary: probes agreeing at level full and core, cases fully agreeing.
    let mut by_feature: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for (label, (a, p)) in &now {
        let feature = label.split(".py_").next().unwrap_or(label).to_string();
        let e = by_feature.entry(feature).or_default();
        e[0] += a;
        e[1] += p;
        e[2] += core_agree.get(label).copied().unwrap_or(0);
        e[3] += u64::from(a == p);
        e[4] += 1;
    }
    let (ta, tp): (u64, u64) = now.values().fold((0, 0), |(x, y), (a, p)| (x + a, y + p));
    let tc: u64 = core_agree.values().sum();
    let mut summary = format!(
        "{:45} {:>12} {:>7} {:>7} {:>7}\n",
        "feature", "probes", "full", "core", "cases"
    );
    for (f, [a, p, c, full, n]) in &by_feature {
        summary.push_str(&format!(
            "{f:45} {a:5}/{p:<6} {:6.1}% {:6.1}% {full:3}/{n:<3}\n",
            pct(*a, *p),
            pct(*c, *p)
        ));
    }
    summary.push_str(&format!(
        "TOTAL {ta}/{tp} probes agree at level full ({:.1}%), {tc}/{tp} at level core ({:.1}%), over {} cases\n",
        pct(ta, tp),
        pct(tc, tp),
        now.len()
    ));
    if !differing.is_empty() {
        summary.push_str("cases that differ at level full (differing outcome fields × probes):\n");
        summary.push_str(&differing);
    }
    print!("{summary}");
    let _ = std::fs::write(repo_root().join("target/conformance-report.txt"), &summary);

    let baseline_path = repo_root().join("tests/conformance/baseline.json");
    if std::env::var_os("UPDATE_CONFORMANCE").is_some() {
        let json: BTreeMap<&String, [u64; 2]> =
            now.iter().map(|(k, (a, p))| (k, [*a, *p])).collect();
        let _ = std::fs::create_dir_all(baseline_path.parent().unwrap_or(Path::new(".")));
        std::fs::write(
            &baseline_path,
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n",
        )
        .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let base: BTreeMap<String, [u64; 2]> = std::fs::read_to_string(&baseline_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            format!(
                "no baseline at {} (run with UPDATE_CONFORMANCE=1)",
                baseline_path.display()
            )
        })?;
    let mut worse = Vec::new();
    for (label, [ba, bp]) in &base {
        match now.get(label) {
            Some((a, p)) if (*a as f64) * (*bp as f64) >= (*ba as f64) * (*p as f64) => {}
            Some((a, p)) => {
                worse.push(format!("{label}: {a}/{p} probes agree, baseline {ba}/{bp}"))
            }
            None => worse.push(format!("{label}: case missing")),
        }
    }
    if worse.is_empty() {
        Ok(())
    } else {
        Err(format!("conformance dropped:\n{}", worse.join("\n")).into())
    }
}

fn pct(a: u64, p: u64) -> f64 {
    if p == 0 {
        100.0
    } else {
        100.0 * a as f64 / p as f64
    }
}
