//! Replays every fuzz target over its committed corpus (`fuzz/corpus/<target>/`)
//! and over every input that once crashed or hung it
//! (`fuzz/regressions/<target>/`): the regression test CI runs. AFL++ itself
//! runs only by hand (fuzz/README.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The inputs of one target, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        out.extend(
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md")),
        );
    }
    out.sort();
    out
}

/// Runs `f` on every input of `target`; names the input that panics, and the
/// slowest one.
fn replay(target: &str, f: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.len() >= 10,
        "fuzz/corpus/{target}/ holds only {} inputs",
        files.len()
    );
    let mut slowest = (Duration::ZERO, PathBuf::new());
    for p in &files {
        let data = std::fs::read(p).unwrap();
        let start = Instant::now();
        if std::panic::catch_unwind(|| f(&data)).is_err() {
            panic!("fuzz target `{target}` panics on {}", p.display());
        }
        let took = start.elapsed();
        if took > slowest.0 {
            slowest = (took, p.clone());
        }
    }
    eprintln!(
        "{target}: {} inputs, slowest {:?} ({})",
        files.len(),
        slowest.0,
        slowest.1.display()
    );
}

#[test]
fn yaml() {
    replay("yaml", emissary_fuzz::yaml);
}

#[test]
fn model() {
    replay("model", emissary_fuzz::model);
}

#[test]
fn lower() {
    replay("lower", emissary_fuzz::lower);
}

#[test]
fn translate() {
    replay("translate", emissary_fuzz::translate);
}

/// `fuzz/emissary.dict` is what [`emissary_fuzz::dictionary`] generates
/// from core's schema (`UPDATE_FUZZ_DICT=1` rewrites it).
#[test]
fn the_dictionary_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("emissary.dict");
    let want = emissary_fuzz::dictionary();
    if std::env::var_os("UPDATE_FUZZ_DICT").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "fuzz/emissary.dict is stale: UPDATE_FUZZ_DICT=1 cargo test -p emissary-fuzz --test replay"
    );
}
