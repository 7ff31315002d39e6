//! The catalog of diagnostic codes (`emissary_core::diag::codes::CATALOG`)
//! checked against everything that can disagree with it: the raising sites in
//! `core/src` (scanned as text, so a code added tomorrow is caught), the
//! golden corpus's `diagnostics.txt` files (every catalogued code raised by at
//! least one case, every raised code catalogued), the catalog's own examples
//! (each raises its code), and the generated reference page
//! `docs/diagnostics.md` (`UPDATE_DIAGNOSTICS_DOC=1 cargo test -p
//! emissary-tests --test diagnostics` rewrites it).

use emissary_core::diag::codes::{CATALOG, Code, lookup};
use emissary_core::diag::{Severity, render};
use emissary_core::{Inputs, SourceFile};
use emissary_tests::{case_options, repo_root};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Codes that no golden case raises, with the reason.
const NOT_IN_GOLDEN: &[(&str, &str)] = &[(
    "yaml-too-many-documents",
    "needs more than 100,000 documents in one file; the example test raises it from the \
     repeated example, and core/src/source/tests.rs with a lower limit",
)];

/// Examples that raise their code only when repeated, with the count.
const REPEATED_EXAMPLES: &[(&str, usize)] = &[("yaml-too-many-documents", 100_001)];

// ---------------------------------------------------------------------------
// (a) The raising sites in core/src.
//
// The rule: a diagnostic's code is the `&'static str` argument named `code` of
// a raising function. The raising functions are every `fn` in core/src with a
// parameter `code: &'static str` — `Diagnostic::{new, error, warning, info}`
// and the helpers that forward a code (`Cx::error`, `Cx::warning`,
// `known_only`, `duplicates`, and any added later, since they are found the
// same way). Every call of one of those names (`Diagnostic::x(`/`Self::x(`
// for associated functions, `.x(` for methods, `x(` or `path::x(` for free
// functions) with enough arguments is a raising site, and its `code` argument
// must be a string literal — or, inside a raising function, that function's
// own `code` parameter passed on. Anything else (a code computed in a
// variable, a `match`, a constant) fails the test: write the literal at the
// call. The severity of a site is the function's name (`error`, `warning`,
// `info`), the `Severity::X` argument of `Diagnostic::new`, or, for a helper
// with another name, the severity of the call inside it that passes its code
// on. Comments, string contents and character literals are skipped by a small
// lexer, so neither a commented-out call nor a YAML example counts.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    /// `::`
    Path,
    /// Lifetimes and character literals: skipped by the scan.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn lex(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let count = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count(&b[start..i]);
        } else if let Some(hashes) = raw_string_start(&b[i..]) {
            // r"…", r#"…"#, br"…"
            let open = b[i..].iter().position(|&x| x == b'"').unwrap_or(0) + i + 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let end = find(b, open, &close).unwrap_or(b.len());
            out.push(Token {
                tok: Tok::Str(text[open..end].to_string()),
                line,
            });
            i = (end + close.len()).min(b.len());
            line += count(&b[start..i]);
        } else if c == b'"' || (c == b'b' && b.get(i + 1) == Some(&b'"')) {
            let open = if c == b'b' { i + 2 } else { i + 1 };
            let mut j = open;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push(Token {
                tok: Tok::Str(text[open..j.min(b.len())].to_string()),
                line,
            });
            i = (j + 1).min(b.len());
            line += count(&b[start..i]);
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            let rest = &text[i + 1..];
            let mut chars = rest.char_indices();
            match chars.next() {
                Some((_, '\\')) => {
                    let end = rest.find('\'').map_or(rest.len(), |e| e + 1);
                    // `'\''`: the quote right after the backslash is escaped.
                    let end = if rest.starts_with("\\'") {
                        3.min(rest.len())
                    } else {
                        end
                    };
                    i += 1 + end;
                }
                Some((_, ch)) if rest[ch.len_utf8()..].starts_with('\'') => {
                    i += 1 + ch.len_utf8() + 1;
                }
                _ => {
                    i += 1;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                }
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(text[start..i].to_string()),
                line,
            });
        } else if b[i..].starts_with(b"::") {
            out.push(Token {
                tok: Tok::Path,
                line,
            });
            i += 2;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += ch.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br##"` …: the number of `#`s, when a raw string starts here.
fn raw_string_start(b: &[u8]) -> Option<usize> {
    let rest = b.strip_prefix(b"br").or_else(|| b.strip_prefix(b"r"))?;
    let hashes = rest.iter().take_while(|&&x| x == b'#').count();
    (rest.get(hashes) == Some(&b'"')).then_some(hashes)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The arguments of the call whose `(` is at `open`, split at top-level commas.
fn call_args(toks: &[Token], open: usize) -> Vec<&[Token]> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for (j, t) in toks.iter().enumerate().skip(open + 1) {
        match t.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') if depth == 0 => {
                if j > start {
                    args.push(&toks[start..j]);
                }
                return args;
            }
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                args.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    args
}

/// A function with a `code: &'static str` parameter.
#[derive(Debug, Clone)]
struct Raiser {
    /// The `code` parameter's index among the call's arguments (`self` not counted).
    index: usize,
    /// `Some(Type)` for an associated function without `self`: called as `Type::name(`.
    owner: Option<String>,
    method: bool,
}

/// One `fn` item: its name, its parameters, and the token range of its body.
struct FnItem {
    name: String,
    raiser: Option<Raiser>,
    body: std::ops::Range<usize>,
}

/// Finds every `fn` (with the `impl` it is in) of one file.
fn fn_items(toks: &[Token]) -> Vec<FnItem> {
    let mut out = Vec::new();
    // (type, depth of its block)
    let mut impls: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut k = 0;
    while k < toks.len() {
        match &toks[k].tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                impls.retain(|(_, d)| *d <= depth);
            }
            Tok::Ident(w) if w == "impl" => {
                // `impl<…> Type<…> {` or `impl<…> Trait for Type<…> {`
                let mut j = k + 1;
                let mut angle = 0i32;
                let mut idents = Vec::new();
                while j < toks.len() && !(angle == 0 && toks[j].tok == Tok::Punct('{')) {
                    match &toks[j].tok {
                        Tok::Punct('<') => angle += 1,
                        Tok::Punct('>') => angle -= 1,
                        Tok::Punct(';') if angle == 0 => break,
                        Tok::Ident(w) if angle == 0 => idents.push(w.clone()),
                        _ => {}
                    }
                    j += 1;
                }
                let ty = match idents.iter().position(|w| w == "for") {
                    Some(p) => idents.get(p + 1),
                    None => idents.first(),
                };
                if let (Some(ty), Some(Tok::Punct('{'))) = (ty, toks.get(j).map(|t| &t.tok)) {
                    impls.push((ty.clone(), depth + 1));
                }
            }
            Tok::Ident(w) if w == "fn" => {
                if let Some(Tok::Ident(name)) = toks.get(k + 1).map(|t| &t.tok) {
                    // The parameter list: the first `(` after the name (generics skipped).
                    let mut j = k + 2;
                    let mut angle = 0i32;
                    while j < toks.len() && !(angle == 0 && toks[j].tok == Tok::Punct('(')) {
                        match toks[j].tok {
                            Tok::Punct('<') => angle += 1,
                            Tok::Punct('>') => angle -= 1,
                            _ => {}
                        }
                        j += 1;
                    }
                    let params = params(toks, j);
                    let is_self = |p: &&[Token]| {
                        p.iter()
                            .any(|t| matches!(&t.tok, Tok::Ident(w) if w == "self"))
                            && !p.iter().any(|t| t.tok == Tok::Punct(':'))
                    };
                    let method = params.first().is_some_and(is_self);
                    let raiser = params
                        .iter()
                        .filter(|p| !is_self(p))
                        .position(|p| is_code_param(p))
                        .map(|index| Raiser {
                            index,
                            owner: if method {
                                None
                            } else {
                                impls.last().map(|(t, _)| t.clone())
                            },
                            method,
                        });
                    // The body: the next `{` at this level (a `;` first means no body).
                    let mut b = j;
                    let mut paren = 0i32;
                    while b < toks.len() {
                        match toks[b].tok {
                            Tok::Punct('(' | '[') => paren += 1,
                            Tok::Punct(')' | ']') => paren -= 1,
                            Tok::Punct('{') if paren == 0 => break,
                            Tok::Punct(';') if paren == 0 => break,
                            _ => {}
                        }
                        b += 1;
                    }
                    if toks.get(b).map(|t| &t.tok) == Some(&Tok::Punct('{')) {
                        let end = matching_brace(toks, b);
                        out.push(FnItem {
                            name: name.clone(),
                            raiser,
                            body: b..end,
                        });
                    }
                }
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// The parameters of the `fn` whose `(` is at `open`: split at top-level
/// commas, where generic arguments (`BTreeMap<K, V>`) count as nesting.
fn params(toks: &[Token], open: usize) -> Vec<&[Token]> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    for (j, t) in toks.iter().enumerate().skip(open + 1) {
        match t.tok {
            Tok::Punct('(' | '[' | '{' | '<') => depth += 1,
            // `->` is no closing bracket.
            Tok::Punct('>') if toks[j - 1].tok == Tok::Punct('-') => {}
            Tok::Punct(')' | ']' | '}' | '>') if depth == 0 => {
                if j > start {
                    out.push(&toks[start..j]);
                }
                return out;
            }
            Tok::Punct(')' | ']' | '}' | '>') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                out.push(&toks[start..j]);
                start = j + 1;
            }
            _ => {}
        }
    }
    out
}

fn is_code_param(p: &[Token]) -> bool {
    let words: Vec<String> = p
        .iter()
        .map(|t| match &t.tok {
            Tok::Ident(w) => w.clone(),
            Tok::Punct(c) => c.to_string(),
            Tok::Other => "'lifetime".into(),
            _ => String::new(),
        })
        .collect();
    words == ["code", ":", "&", "'lifetime", "str"]
}

fn matching_brace(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// What the scan found.
#[derive(Debug, Default)]
struct Scan {
    /// code → severities → sites (`file:line`).
    codes: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Raising sites whose code is not a literal.
    problems: Vec<String>,
    /// The raising functions found, by name.
    raisers: BTreeSet<String>,
}

/// Scans Rust sources (`(name, text)`) for the codes they raise.
fn scan(files: &[(String, String)]) -> Scan {
    let lexed: Vec<(String, Vec<Token>, Vec<FnItem>)> = files
        .iter()
        .map(|(name, text)| {
            let toks = lex(text);
            let items = fn_items(&toks);
            (name.clone(), toks, items)
        })
        .collect();
    let mut raisers: BTreeMap<String, Vec<Raiser>> = BTreeMap::new();
    for (_, _, items) in &lexed {
        for it in items {
            if let Some(r) = &it.raiser {
                raisers.entry(it.name.clone()).or_default().push(r.clone());
            }
        }
    }
    // A site: (file, line, callee, code argument, severity argument of `new`, enclosing fn).
    struct Site<'a> {
        at: String,
        callee: String,
        code: &'a [Token],
        new_severity: Option<String>,
        inside: Option<&'a FnItem>,
    }
    let mut sites = Vec::new();
    for (name, toks, items) in &lexed {
        for k in 1..toks.len() {
            let Tok::Ident(callee) = &toks[k].tok else {
                continue;
            };
            let Some(rs) = raisers.get(callee) else {
                continue;
            };
            if toks.get(k + 1).map(|t| &t.tok) != Some(&Tok::Punct('(')) {
                continue;
            }
            let prev = &toks[k - 1].tok;
            if matches!(prev, Tok::Ident(w) if w == "fn") {
                continue;
            }
            let before = k.checked_sub(2).map(|p| &toks[p].tok);
            let r = rs.iter().find(|r| match (&r.owner, r.method) {
                (_, true) => *prev == Tok::Punct('.'),
                (Some(owner), false) => {
                    *prev == Tok::Path
                        && matches!(before, Some(Tok::Ident(w)) if w == owner || w == "Self")
                }
                (None, false) => *prev != Tok::Punct('.'),
            });
            let Some(r) = r else { continue };
            let args = call_args(toks, k + 1);
            let Some(code) = args.get(r.index) else {
                continue; // `e.info()`: not this function
            };
            let new_severity = (callee == "new")
                .then(|| {
                    args.get(r.index + 1)
                        .and_then(|a| match a.last().map(|t| &t.tok) {
                            Some(Tok::Ident(w)) => Some(w.to_ascii_lowercase()),
                            _ => None,
                        })
                })
                .flatten();
            let inside = items
                .iter()
                .filter(|it| it.body.contains(&k))
                .min_by_key(|it| it.body.len());
            sites.push(Site {
                at: format!("{name}:{}", toks[k].line),
                callee: callee.clone(),
                code,
                new_severity,
                inside,
            });
        }
    }
    // Helpers named otherwise take the severity of the call that passes their code on.
    let mut helper_severity: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..4 {
        for s in &sites {
            if let (Some(f), [t]) = (s.inside, s.code)
                && t.tok == Tok::Ident("code".into())
                && let Some(sev) = site_severity(&s.callee, &s.new_severity, &helper_severity)
            {
                helper_severity.insert(f.name.clone(), sev);
            }
        }
    }
    let mut out = Scan {
        raisers: raisers.keys().cloned().collect(),
        ..Scan::default()
    };
    for s in &sites {
        match s.code {
            [Token {
                tok: Tok::Str(code),
                ..
            }] => {
                let sev = site_severity(&s.callee, &s.new_severity, &helper_severity)
                    .unwrap_or_else(|| "unknown".into());
                out.codes
                    .entry(code.clone())
                    .or_default()
                    .entry(sev)
                    .or_default()
                    .push(s.at.clone());
            }
            [t] if t.tok == Tok::Ident("code".into())
                && s.inside.is_some_and(|f| f.raiser.is_some()) => {}
            other => out.problems.push(format!(
                "{}: `{}` is called with a code that is not a string literal ({}); write the literal at the call",
                s.at,
                s.callee,
                other
                    .iter()
                    .map(|t| match &t.tok {
                        Tok::Ident(w) => w.clone(),
                        Tok::Str(s) => format!("{s:?}"),
                        Tok::Punct(c) => c.to_string(),
                        Tok::Path => "::".into(),
                        Tok::Other => "'_".into(),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }
    out
}

fn site_severity(
    callee: &str,
    new_severity: &Option<String>,
    helpers: &BTreeMap<String, String>,
) -> Option<String> {
    match callee {
        "error" | "warning" | "info" => Some(callee.to_string()),
        "new" => new_severity.clone(),
        other => helpers.get(other).cloned(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn core_sources() -> Vec<(String, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    rust_files(&root.join("core/src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (
                p.strip_prefix(&root).unwrap_or(&p).display().to_string(),
                text,
            )
        })
        .collect()
}

fn severity_name(s: Severity) -> &'static str {
    s.as_str()
}

fn allowed(c: &Code, sev: &str) -> bool {
    severity_name(c.severity) == sev || c.also.iter().any(|s| severity_name(*s) == sev)
}

#[test]
fn every_raised_code_is_catalogued() {
    let s = scan(&core_sources());
    assert!(
        s.raisers.contains("error") && s.raisers.contains("warning") && s.raisers.contains("new"),
        "the scan did not find Diagnostic's constructors: {:?}",
        s.raisers
    );
    assert!(
        s.codes.len() > 50,
        "the scan found only {} codes",
        s.codes.len()
    );
    let mut problems = s.problems.clone();
    for (code, sevs) in &s.codes {
        let Some(c) = lookup(code) else {
            problems.push(format!(
                "`{code}` (raised at {}) is not in core/src/diag/codes.rs",
                sevs.values()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        };
        for (sev, at) in sevs {
            if !allowed(c, sev) {
                problems.push(format!(
                    "`{code}` is raised as {sev} at {}, but the catalog says {:?} (also {:?})",
                    at.join(", "),
                    c.severity,
                    c.also
                ));
            }
        }
    }
    for c in CATALOG {
        match s.codes.get(c.code) {
            None => problems.push(format!(
                "`{}` is in the catalog but nothing in core/src raises it",
                c.code
            )),
            Some(sevs) => {
                for sev in std::iter::once(&c.severity).chain(c.also) {
                    if !sevs.contains_key(severity_name(*sev)) {
                        problems.push(format!(
                            "`{}` is catalogued as {sev:?}, but no site raises it so",
                            c.code
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The scan itself: it must find codes in every form a raising site takes,
/// skip what is not one, and refuse codes it cannot read.
#[test]
fn the_scan_finds_new_codes_and_refuses_computed_ones() {
    let text = r####"
impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, message: String) -> Self { todo!() }
    pub fn error(code: &'static str, message: String) -> Self { Self::new(code, Severity::Error, message) }
}
impl Cx<'_> {
    fn warning(&mut self, code: &'static str, path: &str) {
        self.diags.push(Diagnostic::new(code, Severity::Warning, String::new()));
    }
}
fn twice(lw: &mut Lower<'_>, what: &str, code: &'static str) {
    lw.diags.push(Diagnostic::error(code, what.into()));
}
fn f(cx: &mut Cx<'_>, e: &ScanError) {
    // Diagnostic::error("commented-out", …)
    let s = "Diagnostic::error(\"in-a-string\", x)";
    let c = '"';
    let _ = e.info();
    let _ = SourceMap::new(vec![]);
    Diagnostic::error(
        "first-code",
        format!("{}", c),
    );
    cx.warning("second-code", "spec");
    twice(lw, "x", "third-code");
    Diagnostic::new("fourth-code", crate::diag::Severity::Info, s);
    let code = if s.is_empty() { "a" } else { "b" };
    Diagnostic::error(code, String::new());
}
"####;
    let s = scan(&[("x.rs".into(), text.into())]);
    let found: Vec<(&str, Vec<&str>)> = s
        .codes
        .iter()
        .map(|(c, sev)| (c.as_str(), sev.keys().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        found,
        [
            ("first-code", vec!["error"]),
            ("fourth-code", vec!["info"]),
            ("second-code", vec!["warning"]),
            ("third-code", vec!["error"]),
        ]
    );
    assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
    assert!(s.problems[0].starts_with("x.rs:28:"), "{:?}", s.problems);
}

// ---------------------------------------------------------------------------
// (b), (c) The golden corpus.
// ---------------------------------------------------------------------------

/// code → severity → golden cases, from every `diagnostics.txt`.
fn golden_codes() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let root = repo_root().join("tests/golden");
    let cases = emissary_tests::golden_cases();
    assert!(cases.len() > 50, "found only {} golden cases", cases.len());
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for dir in cases {
        let name = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .display()
            .to_string();
        let text = std::fs::read_to_string(dir.join("diagnostics.txt")).unwrap_or_default();
        for line in text.lines() {
            // `severity[code]: message`, the renderer's first line.
            let Some((head, _)) = line.split_once("]: ") else {
                continue;
            };
            let Some((sev, code)) = head.split_once('[') else {
                continue;
            };
            if !matches!(sev, "error" | "warning" | "info") {
                continue;
            }
            let cases = out
                .entry(code.to_string())
                .or_default()
                .entry(sev.to_string())
                .or_default();
            if cases.last() != Some(&name) {
                cases.push(name.clone());
            }
        }
    }
    out
}

#[test]
fn every_golden_code_is_catalogued() {
    let mut problems = Vec::new();
    for (code, sevs) in golden_codes() {
        for (sev, cases) in sevs {
            match lookup(&code) {
                None => problems.push(format!(
                    "`{code}` ({}) is not in core/src/diag/codes.rs",
                    cases.join(", ")
                )),
                Some(c) if !allowed(c, &sev) => problems.push(format!(
                    "`{code}` is {sev} in {}, but the catalog says {:?} (also {:?})",
                    cases.join(", "),
                    c.severity,
                    c.also
                )),
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_code_is_raised_by_a_golden_case() {
    let golden = golden_codes();
    let mut missing = Vec::new();
    for c in CATALOG {
        let exempt = NOT_IN_GOLDEN.iter().any(|(e, _)| *e == c.code);
        let raised = golden.get(c.code);
        if exempt {
            if raised.is_some() {
                missing.push(format!("{} (exempt, but raised after all)", c.code));
            }
            continue;
        }
        // Every severity the catalog gives the code, not only the usual one.
        for sev in std::iter::once(c.severity).chain(c.also.iter().copied()) {
            if !raised.is_some_and(|r| r.contains_key(severity_name(sev))) {
                missing.push(format!("{} as {}", c.code, severity_name(sev)));
            }
        }
    }
    for (e, why) in NOT_IN_GOLDEN {
        assert!(lookup(e).is_some(), "exempt `{e}` is not catalogued");
        assert!(!why.is_empty());
    }
    assert!(
        missing.is_empty(),
        "no golden case raises {missing:?}; add a case under tests/golden/<feature>[-invalid]/"
    );
}

// ---------------------------------------------------------------------------
// (d) The examples.
// ---------------------------------------------------------------------------

fn example_text(c: &Code) -> String {
    let n = REPEATED_EXAMPLES
        .iter()
        .find(|(code, _)| *code == c.code)
        .map_or(1, |(_, n)| *n);
    c.example.repeat(n)
}

fn translate_example(c: &Code) -> emissary_core::Translation {
    let text = example_text(c);
    emissary_core::translate(&Inputs {
        options: case_options(&text),
        files: vec![SourceFile {
            name: "example.yaml".into(),
            text,
        }],
    })
}

#[test]
fn examples_raise_their_codes() {
    let mut problems = Vec::new();
    for c in CATALOG {
        let t = translate_example(c);
        if !t
            .diagnostics
            .iter()
            .any(|d| d.code == c.code && d.severity == c.severity)
        {
            problems.push(format!(
                "the example of `{}` does not raise it as {:?}; it gives:\n{}",
                c.code,
                c.severity,
                t.render_diagnostics()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------
// (e) The reference page.
// ---------------------------------------------------------------------------

fn reference_page() -> String {
    let mut out = String::from(
        "# Diagnostic codes\n\n\
         <!-- Generated from core/src/diag/codes.rs by\n\
         `UPDATE_DIAGNOSTICS_DOC=1 cargo test -p emissary-tests --test diagnostics`.\n\
         Do not edit by hand. -->\n\n\
         Every diagnostic the translator reports has a stable kebab-case code, a\n\
         severity, the object it is about, a field path and, when the object came\n\
         from text, a position. `error` means part of the input was left out (or\n\
         served in a restricted, fail-closed form); `warning` means the input was\n\
         used but probably does not do what was meant; `info` is a note. Codes are\n\
         stable: renaming one is a breaking change.\n\n\
         Each section below gives a minimal input that raises the code and the\n\
         diagnostic it renders (other diagnostics of the same input are left out).\n\
         A first line `# options: placeholder_secrets` translates the example as\n\
         the CLI's `--placeholder-secrets` does.\n\n",
    );
    out.push_str("| Code | Severity | Meaning |\n|---|---|---|\n");
    for c in CATALOG {
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} |\n",
            c.code,
            c.code,
            severities(c),
            c.summary.replace('|', "\\|")
        ));
    }
    for c in CATALOG {
        let t = translate_example(c);
        let mine: Vec<_> = t
            .diagnostics
            .iter()
            .filter(|d| d.code == c.code)
            .cloned()
            .collect();
        out.push_str(&format!(
            "\n## {}\n\nSeverity: {}.\n\n{}\n\n",
            c.code,
            severities(c),
            c.summary
        ));
        if let Some((_, n)) = REPEATED_EXAMPLES.iter().find(|(code, _)| *code == c.code) {
            out.push_str(&format!(
                "Example (this document, {n} times in one file):\n\n"
            ));
        } else {
            out.push_str("Example:\n\n");
        }
        out.push_str(&format!("```yaml\n{}```\n\n", c.example));
        out.push_str(&format!(
            "Reported as:\n\n```text\n{}```\n",
            render(&mine, &t.sources).trim_end().to_string() + "\n"
        ));
    }
    out
}

fn severities(c: &Code) -> String {
    std::iter::once(c.severity)
        .chain(c.also.iter().copied())
        .map(severity_name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn reference_page_is_current() {
    let path = repo_root().join("docs/diagnostics.md");
    let page = reference_page();
    if std::env::var_os("UPDATE_DIAGNOSTICS_DOC").is_some() {
        std::fs::create_dir_all(repo_root().join("docs")).expect("creating docs/");
        std::fs::write(&path, &page).expect("writing docs/diagnostics.md");
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        old == page,
        "docs/diagnostics.md is not current; run \
         `UPDATE_DIAGNOSTICS_DOC=1 cargo test -p emissary-tests --test diagnostics`"
    );
}
