//! The agreement of the declared schemas with the readers, and their shape.

use super::*;
use crate::model::read::asked;
use crate::{Inputs, SourceFile};
use std::collections::BTreeSet;

/// A whole object of `k` with every declared field set.
fn sample_object(k: &KindSchema) -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": k.kind,
        // Only the Module named `ambassador` has its `config` read.
        "metadata": {"name": if k.kind == "Module" { "ambassador" } else { "sample" }, "namespace": "default"},
        "spec": k.spec.sample(),
    })
}

fn translate_one(doc: &Value) -> Vec<crate::diag::Diagnostic> {
    let inputs = Inputs {
        files: vec![SourceFile {
            name: "sample.yaml".into(),
            text: serde_json::to_string_pretty(doc).unwrap(),
        }],
        ..Default::default()
    };
    crate::translate(&inputs).diagnostics
}

/// Every path the declaration allows, `[]` for list items and `k` for the
/// key of a map; a path ending in `.*` allows everything beneath it.
fn declared(ty: &Ty, path: &str, out: &mut BTreeSet<String>) {
    match ty {
        Ty::Obj(o) => {
            for f in &o.fields {
                let p = format!("{path}.{}", f.name);
                out.insert(p.clone());
                declared(&f.ty, &p, out);
            }
        }
        Ty::List(t) => {
            out.insert(format!("{path}[]"));
            declared(t, &format!("{path}[]"), out);
        }
        Ty::Map(t) => {
            out.insert(format!("{path}.k"));
            declared(t, &format!("{path}.k"), out);
        }
        Ty::Any => {
            out.insert(format!("{path}.*"));
        }
        _ => {}
    }
}

/// The paths of the fields declared [`Field::kept`] in the sample object.
fn kept_paths(ty: &Ty, path: &str, out: &mut BTreeSet<String>) {
    match ty {
        Ty::Obj(o) => {
            for f in &o.fields {
                let p = format!("{path}.{}", f.name);
                if f.kept {
                    out.insert(p.clone());
                }
                kept_paths(&f.ty, &p, out);
            }
        }
        Ty::List(t) => kept_paths(t, &format!("{path}[0]"), out),
        Ty::Map(t) => kept_paths(t, &format!("{path}.k"), out),
        _ => {}
    }
}

fn is_declared(all: &BTreeSet<String>, path: &str) -> bool {
    if all.contains(path) {
        return true;
    }
    // Beneath a value of any shape, or a map key other than the sample's.
    let mut prefix = path;
    while let Some(i) = prefix.rfind(['.', '[']) {
        prefix = &prefix[..i];
        if all.contains(&format!("{prefix}.*")) {
            return true;
        }
    }
    false
}

#[test]
fn every_declared_field_is_read_without_a_type_error_or_an_unknown_field() {
    let mut problems = Vec::new();
    for k in kinds().iter().filter(|k| k.translated) {
        let diags = translate_one(&sample_object(k));
        let ours: Vec<_> = diags
            .iter()
            .filter(|d| d.object.as_ref().is_some_and(|o| o.kind == k.kind))
            .collect();
        let mut kept = BTreeSet::new();
        kept_paths(&Ty::Obj(k.spec.clone()), "spec", &mut kept);
        for d in &ours {
            if d.code == "unknown-field" && kept.contains(&d.path) {
                continue;
            }
            // Errors of meaning (a Secret that does not exist) are no concern here.
            if matches!(
                d.code,
                "wrong-type" | "unknown-field" | "missing-field" | "object-ignored"
            ) {
                problems.push(format!(
                    "{}: {} at {}: {}",
                    k.kind, d.code, d.path, d.message
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_field_a_reader_asks_for_is_declared() {
    let mut problems = Vec::new();
    for k in kinds().iter().filter(|k| k.translated) {
        let doc = sample_object(k);
        let paths = asked::during(|| {
            translate_one(&doc);
        });
        let mut all = BTreeSet::new();
        declared(&Ty::Obj(k.spec.clone()), "spec", &mut all);
        for p in paths.iter().filter(|p| p.starts_with("spec.")) {
            if !is_declared(&all, p) {
                problems.push(format!("{}: `{p}` is read but not declared", k.kind));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_check_finds_an_undeclared_field() {
    // The agreement check can fail: drop a field the reader asks for.
    let mut k = kinds().into_iter().find(|k| k.kind == "Mapping").unwrap();
    k.spec.fields.retain(|f| f.name != "timeout_ms");
    let paths = asked::during(|| {
        translate_one(&sample_object(&k));
    });
    let mut all = BTreeSet::new();
    declared(&Ty::Obj(k.spec.clone()), "spec", &mut all);
    assert!(paths.contains("spec.timeout_ms"));
    assert!(!is_declared(&all, "spec.timeout_ms"));
}

#[test]
fn every_getambassador_kind_the_model_knows_is_declared() {
    let declared: BTreeSet<&str> = kinds().iter().map(|k| k.kind).collect();
    let known: BTreeSet<&str> = super::super::TRANSLATED
        .iter()
        .chain(super::super::NOT_YET)
        .copied()
        .collect();
    assert_eq!(declared, known);
    for k in kinds() {
        assert_eq!(k.translated, !super::super::NOT_YET.contains(&k.kind));
    }
}

/// Structural schemas (what an API server requires): every node has a type
/// unless it keeps unknown fields, and `properties` never comes with
/// `additionalProperties`.
fn structural(v: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(m) = v.as_object() else {
        problems.push(format!("{path}: not an object"));
        return;
    };
    if !m.contains_key("type")
        && m.get("x-kubernetes-preserve-unknown-fields") != Some(&json!(true))
    {
        problems.push(format!("{path}: no type"));
    }
    if m.contains_key("properties") && m.contains_key("additionalProperties") {
        problems.push(format!("{path}: properties and additionalProperties"));
    }
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            structural(p, &format!("{path}.{k}"), problems);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(p) = m.get(key) {
            structural(p, &format!("{path}.{key}"), problems);
        }
    }
}

#[test]
fn every_schema_is_structural() {
    let mut problems = Vec::new();
    for k in kinds() {
        structural(&k.openapi(), k.kind, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:?}");
}
