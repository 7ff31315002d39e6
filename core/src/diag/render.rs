//! The one renderer of diagnostics: rustc-style code frames (CLI, golden
//! files, the playground's problems panel) and a one-line-per-finding form.

use std::fmt::Write as _;

use super::{Diagnostic, PositionEncoding, SourceMap};

/// Renders diagnostics rustc-style (but for findings about a Secret, whose
/// lines are never quoted: they may hold its values):
///
/// ```text
/// error[mapping-missing-prefix]: Mapping default/quote has no `prefix`
///   --> manifests.yaml:4:3
///    |
///  4 |   service: quote
///    |   ^^^^^^^ required field
///    = object: Mapping default/quote, field: spec.prefix
///    = help: add `prefix: /quote/`
/// ```
pub fn render(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        render_one(&mut out, d, sources);
        out.push('\n');
    }
    out
}

fn render_one(out: &mut String, d: &Diagnostic, sources: &SourceMap) {
    let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
    let mut gutter = 2;
    if let Some(span) = d.span
        && let Some(pos) = sources.position(span, PositionEncoding::Utf8Chars)
    {
        let num = pos.line.to_string();
        gutter = num.len() + 1;
        let pad = " ".repeat(gutter);
        let _ = writeln!(
            out,
            "{pad}--> {}:{}:{}",
            sources.name(span.file),
            pos.line,
            pos.col
        );
        // A Secret's lines may hold its values: its findings are placed,
        // never quoted.
        let secret = d.object.as_ref().is_some_and(|o| o.kind == "Secret");
        if !secret && let Some(text) = sources.line_text(span.file, pos.line) {
            let text = text.trim_end_matches(['\r', '\n']);
            let _ = writeln!(out, "{pad}|");
            let _ = writeln!(out, "{num} | {text}");
            let width = if pos.end_line == pos.line {
                pos.end_col.saturating_sub(pos.col).max(1)
            } else {
                text.chars().count().saturating_sub(pos.col - 1).max(1)
            };
            let _ = writeln!(
                out,
                "{pad}| {}{}",
                " ".repeat(pos.col - 1),
                "^".repeat(width)
            );
        }
    }
    let pad = " ".repeat(gutter);
    if let Some(obj) = &d.object {
        if d.path.is_empty() {
            let _ = writeln!(out, "{pad}= object: {obj}");
        } else {
            let _ = writeln!(out, "{pad}= object: {obj}, field: {}", d.path);
        }
    } else if !d.path.is_empty() {
        let _ = writeln!(out, "{pad}= field: {}", d.path);
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad}= help: {help}");
    }
}

/// Renders one line per diagnostic: `file:line:col: severity[code]: message`.
pub fn render_short(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        if let Some((s, p)) = d.span.and_then(|s| {
            sources
                .position(s, PositionEncoding::Utf8Chars)
                .map(|p| (s, p))
        }) {
            let _ = write!(out, "{}:{}:{}: ", sources.name(s.file), p.line, p.col);
        }
        let _ = write!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
        if let Some(obj) = &d.object {
            let _ = write!(out, " ({obj}");
            if !d.path.is_empty() {
                let _ = write!(out, ", {}", d.path);
            }
            out.push(')');
        }
        out.push('\n');
    }
    out
}
