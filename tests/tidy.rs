//! Tidy checks over the source tree: every Rust module opens with a `//!`
//! paragraph saying what it is for.

use emissary_tests::repo_root;
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n != "target" && n != "golden")
            {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_has_a_doc_comment() {
    let root = repo_root();
    let mut files = Vec::new();
    for d in [
        "core/src",
        "core/benches",
        "core/tests",
        "host-k8s/src",
        "host-wasm/src",
        "host-wasm/tests",
        "host-wasm/embed/src",
        "host-wasm/embed/tests",
        "host-wasm/embed/examples",
        "tests",
        "xtask/src",
    ] {
        rust_files(&root.join(d), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(&root).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc comment: {missing:?}"
    );
}
