//! Tidy checks over the source tree: every Rust module opens with a `//!`
//! paragraph saying what it is for.

use emissary_tests::repo_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| {
                !matches!(
                    n.to_str(),
                    Some("target" | "golden" | ".venv" | "node_modules" | ".git")
                )
            }) {
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
        "fuzz/src",
        "fuzz/tests",
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

/// The layers of core, bottom first. A module may use only modules of
/// layers below its own (and itself); `lib.rs` is the facade over all of
/// them. ARCHITECTURE.md explains the order.
const CORE_LAYERS: &[&[&str]] = &[
    &["inputs", "pb", "hash"],
    &["diag"],
    &["source"],
    &["ir"],
    &["model"],
    &["migrate"],
    &["lower"],
    &["xds"],
    &["explain", "status"],
    &["pipeline"],
    &["api"],
];

/// Rust source without comments, string and char literals (their text
/// cannot name a module), and without `#[cfg(test)]` modules and `tests.rs`
/// files (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                // A raw string: r"…", r#"…"#, …
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == b'"'
                        && b[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|c| **c == b'#')
                            .count()
                            == hashes
                    {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') || (b.get(i + 1) == Some(&b'\\')) => {
                // A char literal ('x', '\n', '\''); lifetimes have no closing quote.
                i += 1;
                while i < b.len() && b[i] != b'\'' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// The top-level modules each top-level module of a crate's `src` uses
/// through `crate::` paths (including `use crate::{a, b::c}` groups), with
/// the files that do.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in files {
        let rel = f
            .strip_prefix(src)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "lib.rs" || rel == "main.rs" || rel.ends_with("/tests.rs") {
            continue;
        }
        let top = rel
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        let code = code_of(&std::fs::read_to_string(&f).unwrap_or_default());
        let mut used = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `emissary_core::`
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c, d}`: the first segment of each item.
                let mut depth = 0;
                let mut item_start = true;
                for (k, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') && depth == 0 => {
                            let name: String = group[k..]
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            used.insert(name);
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                used.insert(name);
            }
        }
        for u in used {
            if u != top && !u.is_empty() && u != "self" {
                graph
                    .entry(top.clone())
                    .or_default()
                    .entry(u)
                    .or_default()
                    .insert(rel.clone());
            }
        }
    }
    graph
}

/// A cycle in the graph, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[at..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for next in graph.get(n).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(next, graph, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn core_imports_only_downward() {
    let src = repo_root().join("core/src");
    let graph = module_graph(&src);
    assert!(graph.len() >= 8, "the scan found too little: {graph:?}");
    let layer = |m: &str| CORE_LAYERS.iter().position(|l| l.contains(&m));
    let mut problems = Vec::new();
    for (from, uses) in &graph {
        let Some(lf) = layer(from) else {
            problems.push(format!("`{from}` is in no layer of CORE_LAYERS"));
            continue;
        };
        for (to, files) in uses {
            match layer(to) {
                Some(lt) if lt < lf => {}
                Some(_) => problems.push(format!("`{from}` uses `{to}`, not below it: {files:?}")),
                None => problems.push(format!("`{from}` uses `{to}`, in no layer: {files:?}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(find_cycle(&graph), None);
    assert!(
        !graph.get("xds").is_some_and(|u| u.contains_key("model")),
        "xds reads the IR only"
    );
}

#[test]
fn the_import_scan_sees_groups_and_skips_comments_and_strings() {
    let dir = std::env::temp_dir().join(format!("emissary-tidy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("b")).unwrap();
    std::fs::write(
        dir.join("a.rs"),
        "//! a\nuse crate::{b::X, c};\n// crate::d\nconst S: &str = \"crate::e\";\nfn f() { crate::b::y(); other_crate::g(); }\n#[cfg(test)]\nmod tests { use crate::h; }\n",
    )
    .unwrap();
    std::fs::write(dir.join("b/mod.rs"), "//! b\nuse crate::a;\n").unwrap();
    let graph = module_graph(&dir);
    let uses = |m: &str| -> Vec<&str> { graph[m].keys().map(String::as_str).collect() };
    assert_eq!(uses("a"), ["b", "c"]);
    assert_eq!(uses("b"), ["a"]);
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every module of every crate is named in ARCHITECTURE.md's code map (as
/// `file.rs`, `dir/file.rs` or, for a directory module, `dir/`), and every
/// `.rs` file the code map names exists.
#[test]
fn the_code_map_names_every_module() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let map = doc
        .split("## Code map")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("ARCHITECTURE.md has a `## Code map` section");
    let mut missing = Vec::new();
    for krate in ["core", "host-k8s", "host-wasm", "tests", "xtask"] {
        let src = root
            .join(krate)
            .join(if krate == "tests" { "" } else { "src" });
        let mut files = Vec::new();
        if krate == "tests" {
            for f in std::fs::read_dir(&src).unwrap().flatten() {
                let p = f.path();
                if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
            rust_files(&src.join("src"), &mut files);
        } else {
            rust_files(&src, &mut files);
        }
        for f in files {
            let rel = f
                .strip_prefix(&src)
                .unwrap_or(&f)
                .to_string_lossy()
                .replace('\\', "/");
            if matches!(rel.as_str(), "lib.rs" | "main.rs" | "src/lib.rs")
                || rel.ends_with("/tests.rs")
            {
                continue;
            }
            let name = rel.rsplit('/').next().unwrap_or(&rel);
            let named = if name == "mod.rs" {
                let dir = rel.trim_end_matches("/mod.rs");
                let last = dir.rsplit('/').next().unwrap_or(dir);
                map.contains(&format!("`{dir}/`")) || map.contains(&format!("`{last}/`"))
            } else {
                map.contains(&format!("`{name}`"))
                    || map.contains(&format!("`{rel}`"))
                    || map.contains(&format!("/`{name}`"))
                    || map.contains(&format!("`{}`", rel.trim_end_matches(".rs")))
            };
            if !named {
                missing.push(format!("{krate}: {rel}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "modules the code map does not name: {missing:?}"
    );
    // Every Rust file of the repository, for the names the code map gives.
    let mut every = Vec::new();
    rust_files(&root, &mut every);
    let all: Vec<String> = every
        .iter()
        .map(|f| {
            f.strip_prefix(&root)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let mut stale = Vec::new();
    for piece in map.split('`').skip(1).step_by(2) {
        if piece.ends_with(".rs") && !piece.contains(' ') && !piece.contains('*') {
            let exists = all
                .iter()
                .any(|f| f == piece || f.ends_with(&format!("/{piece}")));
            if !exists {
                stale.push(piece.to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the code map names files that do not exist: {stale:?}"
    );
}

/// The daemon's library has no import cycle either: `serve` wires the
/// modules, and nothing below imports it (only `cli` does).
#[test]
fn host_k8s_imports_form_no_cycle() {
    let graph = module_graph(&repo_root().join("host-k8s/src"));
    assert!(graph.len() >= 5, "the scan found too little: {graph:?}");
    assert_eq!(find_cycle(&graph), None);
    let users_of_serve: Vec<&String> = graph
        .iter()
        .filter(|(_, uses)| uses.contains_key("serve"))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(users_of_serve, ["cli"]);
}
