//! `emissary_core::migrate` against the translator: every getambassador.io
//! v2/v1 input of the golden corpus (and of the conformance corpus in
//! `../shared/conformance`, when it is there) migrated to v3alpha1 must
//! translate to the very same Envoy resources as the original, and the
//! migrated text must hold no v2 object.

use emissary_core::{Inputs, SourceFile, migrate, pb, translate, xds};
use emissary_tests::{case_options, golden_cases, repo_root};
use std::path::{Path, PathBuf};

fn is_v2(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start_matches(['-', ' ']);
        l.starts_with("apiVersion:")
            && (l.contains("getambassador.io/v2") || l.contains("getambassador.io/v1"))
    })
}

/// The Envoy resources (canonical JSON) and the diagnostics that do not
/// speak of v2, as `(code, object, severity)`.
fn outcome(name: &str, text: &str, options: &emissary_core::Options) -> (String, Vec<String>) {
    let t = translate(&Inputs {
        files: vec![SourceFile {
            name: name.into(),
            text: text.into(),
        }],
        options: options.clone(),
    });
    let resources = pb::json::to_string(&t.resources(xds::Mode::Ads)).expect("renders");
    let mut diags: Vec<String> = t
        .diagnostics
        .iter()
        .filter(|d| !d.message.contains("v2"))
        // A v2 copy beside a v3alpha1 one: the translator reports it, the
        // migration leaves the superseded copy out (and reports that).
        .filter(|d| !(d.code == "object-duplicate" && d.message.contains("apiVersions")))
        .map(|d| format!("{} {:?} {:?}", d.code, d.object, d.severity))
        .collect();
    diags.sort();
    (resources, diags)
}

/// Migrates one input and compares; returns a problem, if any.
fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let options = case_options(&text);
    let m = migrate(&[SourceFile {
        name: path.display().to_string(),
        text: text.clone(),
    }]);
    if m.converted == 0 {
        return Err(format!("{}: no object was converted", path.display()));
    }
    if is_v2(&m.text) {
        return Err(format!("{}: v2 left in\n{}", path.display(), m.text));
    }
    let before = outcome("before.yaml", &text, &options);
    let after = outcome("after.yaml", &m.text, &options);
    if before.0 != after.0 {
        return Err(format!(
            "{}: the Envoy resources differ\nmigrated:\n{}\nbefore: {}\nafter:  {}",
            path.display(),
            m.text,
            before.0,
            after.0
        ));
    }
    if before.1 != after.1 {
        return Err(format!(
            "{}: the diagnostics differ\nmigrated:\n{}\nbefore: {:#?}\nafter: {:#?}",
            path.display(),
            m.text,
            before.1,
            after.1
        ));
    }
    Ok(())
}

fn inputs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            inputs_under(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
            && std::fs::read_to_string(&p).is_ok_and(|t| is_v2(&t))
        {
            out.push(p);
        }
    }
}

#[test]
fn golden_v2_inputs_translate_the_same_once_migrated() {
    let inputs: Vec<PathBuf> = golden_cases()
        .into_iter()
        .map(|d| d.join("input.yaml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| is_v2(&t)))
        .collect();
    assert!(
        inputs.len() >= 2,
        "the golden corpus should hold v2 inputs: {inputs:?}"
    );
    let problems: Vec<String> = inputs.iter().filter_map(|p| check(p).err()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn conformance_v2_inputs_translate_the_same_once_migrated() {
    let dir = repo_root().join("../shared/conformance");
    if !dir.is_dir() {
        println!("skipped: {} is not there", dir.display());
        return;
    }
    let mut inputs = Vec::new();
    inputs_under(&dir, &mut inputs);
    if inputs.is_empty() {
        println!(
            "skipped: no getambassador.io/v2 or v1 input under {}",
            dir.display()
        );
        return;
    }
    let problems: Vec<String> = inputs.iter().filter_map(|p| check(p).err()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn the_check_sees_a_difference() {
    // A migration that lost the `tls: true` would not pass.
    let v2 = "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l}\n\
        spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n---\n\
        apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: m}\n\
        spec: {prefix: /, service: s, host: a.example.com, tls: true}\n";
    let wrong = v2
        .replace("getambassador.io/v2", "getambassador.io/v3alpha1")
        .replace(", tls: true", "")
        .replace("host:", "hostname:");
    let o = emissary_core::Options::default();
    assert_ne!(outcome("a", v2, &o).0, outcome("b", &wrong, &o).0);
    let right = migrate(&[SourceFile {
        name: "a".into(),
        text: v2.into(),
    }]);
    assert_eq!(outcome("a", v2, &o).0, outcome("b", &right.text, &o).0);
}

#[test]
fn the_order_of_matches_is_kept() {
    // Header matches are taken in the order written: the migrated text keeps it.
    let v2 = "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l}\n\
        spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n---\n\
        apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: m}\n\
        spec: {service: s, prefix: /, headers: {x-z: z, x-p: true, x-a: a}, regex_headers: {x-r: r}}\n";
    let m = migrate(&[SourceFile {
        name: "a".into(),
        text: v2.into(),
    }]);
    let o = emissary_core::Options::default();
    assert_eq!(
        outcome("a", v2, &o),
        outcome("b", &m.text, &o),
        "{}",
        m.text
    );
}
