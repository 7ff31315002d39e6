//! The WASI component, run in wasmtime, translates every golden case exactly
//! as the native core does, and answers validate, explain and version.
//! Build the component first: `bash host-wasm/build.sh` (or set
//! `EMISSARY_COMPONENT`).

use emissary_core::HostOptions;
use emissary_tests::{case_options, repo_root};
use emissary_wasm_embed::{Options, Request, Translator, component_path, default_options};
use std::path::{Path, PathBuf};

fn translator() -> Translator {
    let path = component_path();
    assert!(
        path.is_file(),
        "{} is missing: run `bash host-wasm/build.sh` first",
        path.display()
    );
    Translator::load(&path).expect("loading the component")
}

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir)
        .expect("reading tests/golden")
        .flatten()
    {
        let p = e.path();
        if p.join("input.yaml").is_file() {
            out.push(p);
        } else if p.is_dir() {
            cases(&p, out);
        }
    }
}

#[test]
fn golden_cases_translate_as_natively() {
    let mut t = translator();
    let mut dirs = Vec::new();
    cases(&repo_root().join("tests/golden"), &mut dirs);
    dirs.sort();
    assert!(dirs.len() > 40, "only {} golden cases found", dirs.len());
    let mut failed = Vec::new();
    for dir in &dirs {
        let text = std::fs::read_to_string(dir.join("input.yaml")).expect("reading input");
        let o = case_options(&text);
        let native = emissary_core::translate_text(
            &text,
            &HostOptions {
                ambassador_id: Some(o.ambassador_id.clone()),
                ambassador_namespace: Some(o.ambassador_namespace.clone()),
                single_namespace: Some(o.single_namespace),
                placeholder_secrets: Some(o.placeholder_secrets),
                file_name: None,
            },
        );
        let options = Options {
            ambassador_id: Some(o.ambassador_id),
            ambassador_namespace: Some(o.ambassador_namespace),
            single_namespace: o.single_namespace,
            placeholder_secrets: o.placeholder_secrets,
            file_name: None,
        };
        let wasm = t.translate(&text, &options).expect("calling translate");
        if wasm.xds != native.xds || wasm.bootstrap != native.bootstrap || wasm.ir != native.ir {
            failed.push(dir.display().to_string());
        }
        let codes: Vec<&str> = wasm.diagnostics.iter().map(|d| d.code.as_str()).collect();
        let want: Vec<&str> = native.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, want, "diagnostics of {}", dir.display());
    }
    assert!(failed.is_empty(), "outputs differ for {failed:?}");
}

#[test]
fn validate_explain_and_version() {
    let mut t = translator();
    // The error comes after CJK and an emoji on its line: column 50 in UTF-16
    // units (49 in characters, 56 in bytes).
    let text = "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: \"ユニコード\", namespace: default}\nspec: {hostname: \"*\", prefix: \"/日本🙂/\", service: \"svc:port\"}\n";
    let diags = t.validate(text, &default_options()).expect("validate");
    let d = diags
        .iter()
        .find(|d| d.code == "service-invalid")
        .expect("a service-invalid diagnostic");
    let r = d.range.as_ref().expect("range");
    assert_eq!((r.line, r.column, r.end_column), (4, 50, 60), "{d:?}");

    let quickstart =
        std::fs::read_to_string(repo_root().join("tests/golden/mapping/basic-prefix/input.yaml"))
            .expect("reading input");
    let req = Request {
        method: "GET".into(),
        url: "http://example.com/backend/x".into(),
        headers: Vec::new(),
        port: None,
        sni: None,
    };
    let e = t
        .explain(&quickstart, &req, &default_options())
        .expect("explain");
    let native = emissary_core::explain_text(
        &quickstart,
        &emissary_core::explain::Request::parse("GET http://example.com/backend/x", &[]),
        &HostOptions::default(),
    );
    assert_eq!(e, serde_json_string(&native));
    assert_eq!(t.version().expect("version"), emissary_core::api::VERSION);
}

fn serde_json_string(e: &emissary_core::explain::Explanation) -> String {
    emissary_core::pb::json::to_string(e).expect("json")
}
