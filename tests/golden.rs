//! The golden corpus: `tests/golden/<feature>/<case>/input.yaml` with the
//! expected outputs beside it — one YAML file per Envoy resource type as
//! served over ADS (`listeners.yaml`, `routes.yaml`, `clusters.yaml`,
//! `endpoints.yaml`, `secrets.yaml`; absent when empty) and the rendered
//! `diagnostics.txt`. Each case is two tests: the outputs must match
//! (`UPDATE_GOLDEN=1 cargo test -p emissary-tests --test golden` rewrites them
//! and deletes stale ones), and the static Bootstrap built from the same input
//! must pass the real `envoy --mode validate`.

use emissary_core::{Inputs, SourceFile, pb, xds};
use emissary_tests::{case_options, envoy_validate, repo_root};
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

const OUTPUTS: [&str; 6] = [
    "listeners.yaml",
    "routes.yaml",
    "clusters.yaml",
    "endpoints.yaml",
    "secrets.yaml",
    "diagnostics.txt",
];

fn main() {
    let args = Arguments::from_args();
    let root = repo_root().join("tests/golden");
    let cases = emissary_tests::golden_cases();
    let mut trials = Vec::new();
    for dir in cases {
        let name = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .display()
            .to_string();
        let d = dir.clone();
        trials.push(Trial::test(format!("golden::{name}"), move || {
            check_outputs(&d)
        }));
        trials.push(Trial::test(format!("envoy_validate::{name}"), move || {
            validate(&dir)
        }));
    }
    // The README's example must run in a real Envoy as is.
    trials.push(Trial::test("envoy_validate::examples/quickstart", || {
        let dir = repo_root().join("examples/quickstart");
        let mut files = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
            files.push(SourceFile {
                name: p.display().to_string(),
                text,
            });
        }
        let t = emissary_core::translate(&Inputs {
            files,
            options: Default::default(),
        });
        if !t.diagnostics.is_empty() {
            return Err(format!("the example has diagnostics:\n{}", t.render_diagnostics()).into());
        }
        if t.ir.listeners.len() != 2 {
            return Err(format!("expected 2 listeners, got {}", t.ir.listeners.len()).into());
        }
        validate_bootstrap(&t, "quickstart")
    }));
    libtest_mimic::run(&args, trials).exit();
}

fn translate(dir: &Path) -> Result<emissary_core::Translation, Failed> {
    let text = std::fs::read_to_string(dir.join("input.yaml"))
        .map_err(|e| format!("reading input: {e}"))?;
    let options = case_options(&text);
    Ok(emissary_core::translate(&Inputs {
        files: vec![SourceFile {
            name: "input.yaml".into(),
            text,
        }],
        options,
    }))
}

/// Renders every output of a case, in golden-file form.
fn render(t: &emissary_core::Translation) -> Result<Vec<(&'static str, String)>, Failed> {
    let res = t.resources(xds::Mode::Ads);
    let yaml = |v: serde_json::Value| -> String {
        match &v {
            serde_json::Value::Array(a) if a.is_empty() => String::new(),
            _ => pb::yaml::to_string(&v),
        }
    };
    let to = |r: Result<serde_json::Value, serde_json::Error>| {
        r.map_err(|e| Failed::from(format!("rendering: {e}")))
    };
    Ok(vec![
        (
            "listeners.yaml",
            yaml(to(serde_json::to_value(&res.listeners))?),
        ),
        ("routes.yaml", yaml(to(serde_json::to_value(&res.routes))?)),
        (
            "clusters.yaml",
            yaml(to(serde_json::to_value(&res.clusters))?),
        ),
        (
            "endpoints.yaml",
            yaml(to(serde_json::to_value(&res.endpoints))?),
        ),
        (
            "secrets.yaml",
            yaml(to(serde_json::to_value(&res.secrets))?),
        ),
        ("diagnostics.txt", t.render_diagnostics()),
    ])
}

fn check_outputs(dir: &Path) -> Result<(), Failed> {
    let t = translate(dir)?;
    let outputs = render(&t)?;
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut problems = Vec::new();
    for (file, text) in outputs {
        debug_assert!(OUTPUTS.contains(&file));
        let path = dir.join(file);
        let existing = std::fs::read_to_string(&path).ok();
        if update {
            if text.is_empty() {
                let _ = std::fs::remove_file(&path);
            } else if existing.as_deref() != Some(text.as_str()) {
                std::fs::write(&path, &text)
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            continue;
        }
        match (existing, text.is_empty()) {
            (None, true) => {}
            (Some(old), true) => problems.push(format!(
                "{file}: expected\n{old}\nbut the output is now empty"
            )),
            (None, false) => problems.push(format!("{file}: missing; the output is\n{text}")),
            (Some(old), false) if old != text => problems.push(format!(
                "{file}: differs\n{}",
                first_difference(&old, &text)
            )),
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n(run with UPDATE_GOLDEN=1 to accept)",
            problems.join("\n")
        )
        .into())
    }
}

fn first_difference(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = i.saturating_sub(3);
    let mut s = format!("first difference at line {}:\n", i + 1);
    for l in &a[from..(i + 4).min(a.len())] {
        s.push_str(&format!("- {l}\n"));
    }
    for l in &b[from..(i + 4).min(b.len())] {
        s.push_str(&format!("+ {l}\n"));
    }
    s
}

fn validate(dir: &Path) -> Result<(), Failed> {
    let t = translate(dir)?;
    validate_bootstrap(&t, &sanitize(dir))
}

fn validate_bootstrap(t: &emissary_core::Translation, key: &str) -> Result<(), Failed> {
    let bootstrap = serde_json::to_string_pretty(&t.bootstrap())
        .map_err(|e| format!("rendering bootstrap: {e}"))?;
    let tmp = std::env::temp_dir().join(format!(
        "emissary-golden-{}-{}.json",
        std::process::id(),
        key
    ));
    std::fs::write(&tmp, bootstrap).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    let r = envoy_validate(&tmp);
    let _ = std::fs::remove_file(&tmp);
    r.map_err(Failed::from)
}

fn sanitize(p: &Path) -> String {
    p.display()
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
