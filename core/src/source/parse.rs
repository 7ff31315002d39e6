//! The YAML/JSON parser's entry points: [`parse`], [`parse_with`] and
//! [`parse_units`] cut a file into segments and parse each on its own, taking
//! unchanged ones from a [`SegmentCache`].
//!
//! Each document is parsed on its own, up to the next `---` line, so a syntax
//! error ends only the document it occurs in. The tree of each document is
//! built from saphyr-parser's events by the `tree` module; plain scalars are
//! typed by the `scalar` module.
//!
//! Choices worth knowing:
//! - Duplicate mapping keys: the last one wins like PyYAML; the earlier entry is
//!   dropped and a `yaml-duplicate-key` warning points at the later key.
//! - Merge keys (`<<: *base`, `<<: [*a, *b]`) are applied like PyYAML: explicit
//!   keys win over merged ones, earlier merged mappings over later ones.
//! - Documents whose root is null (empty, comment-only, `--- ~`) are skipped, but
//!   still count for [`Document::index`], which is the document's position in
//!   the file's stream (a document lost to a syntax error counts too).

use super::cache::{Segment, SegmentCache};
use super::tree::Builder;
use super::{Document, Node, Value};
use crate::diag::{Diagnostic, Span};
use std::sync::Arc;

/// Defences against hostile input.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_depth: usize,
    pub max_nodes: usize,
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_nodes: 2_000_000,
            max_documents: 100_000,
        }
    }
}

/// Parses every document of one file.
///
/// Emits `yaml-syntax` (error), `yaml-too-deep` (error, document skipped),
/// `yaml-too-large` and `yaml-too-many-documents` (errors, parsing stops),
/// `yaml-duplicate-key` (warning) and `yaml-recursive-alias` (error).
pub fn parse(file: u32, text: &str, limits: &Limits) -> (Vec<Document>, Vec<Diagnostic>) {
    parse_with(file, text, limits, None)
}

/// One stretch of a parsed file, in file order.
#[derive(Debug)]
pub(crate) enum Unit {
    /// Documents parsed on their own, spans in the file.
    Docs(Vec<Document>),
    /// A segment that parsed cleanly, shared with the cache: its spans name
    /// its unit and count from `base`, the segment's offset in the file.
    Segment {
        seg: Arc<Segment>,
        base: u32,
        /// Index in the file of the segment's first document.
        first_doc: u32,
    },
}

/// [`parse`], taking unchanged segments from `cache` (and remembering the
/// new ones there).
pub fn parse_with(
    file: u32,
    text: &str,
    limits: &Limits,
    cache: Option<&mut SegmentCache>,
) -> (Vec<Document>, Vec<Diagnostic>) {
    let (units, diags) = parse_units(file, text, limits, cache, false);
    let mut docs = Vec::new();
    for u in units {
        match u {
            Unit::Docs(mut d) => docs.append(&mut d),
            Unit::Segment {
                seg,
                base,
                first_doc,
            } => docs.extend(seg.docs.iter().map(|d| Document {
                index: first_doc.saturating_add(d.index),
                root: shifted(&d.root, file, |x| x.saturating_add(base)),
            })),
        }
    }
    (docs, diags)
}

/// Parses one file into units: each segment that parses cleanly (and is not
/// cut by the limits) is a [`Unit::Segment`] shared with `cache`, taken from
/// it when its text is unchanged; the rest are [`Unit::Docs`]. With
/// `exclusive`, a segment text that occurs twice is parsed again the second
/// time, so that every unit stands for one place in the input. Flattened
/// (as [`parse_with`] does), the units are exactly what [`parse`] returns.
pub(crate) fn parse_units(
    file: u32,
    text: &str,
    limits: &Limits,
    mut cache: Option<&mut SegmentCache>,
    exclusive: bool,
) -> (Vec<Unit>, Vec<Diagnostic>) {
    let mut b = Builder::new(text, file, limits);
    let mut units = Vec::new();
    // Each document is parsed on its own, bounded by the next `---` line: a
    // broken document (an unclosed `[` say) can neither swallow the documents
    // after it nor make recovery rescan the rest of the file.
    let mut base = 0usize;
    while base < text.len() && !b.stopped {
        let end = next_marker(text, base).unwrap_or(text.len());
        let seg = &text[base..end];
        if let Some(cache) = cache.as_deref_mut()
            && let Some(hit) = cache.get(seg, exclusive)
            && b.fits(&hit)
        {
            cache.reused += 1;
            b.flush(&mut units);
            b.held += hit.docs.len();
            units.push(Unit::Segment {
                first_doc: b.doc_index,
                base: base as u32,
                seg: hit.clone(),
            });
            b.skip(&hit, base);
            base = end;
            continue;
        }
        let before = (b.docs.len(), b.diags.len(), b.doc_index, b.nodes);
        let err = b.run(seg, base);
        if let Some(err) = err {
            let pos = base + err.0;
            let end_c = text[pos..]
                .chars()
                .next()
                .map_or(pos, |c| pos + c.len_utf8());
            let diag = if err.1.contains("recursion limit") {
                // saphyr's own nesting limit: 255 levels of flow collections.
                Diagnostic::error(
                    "yaml-too-deep",
                    "flow collections nest more than 255 levels deep; the document is skipped",
                )
            } else {
                Diagnostic::error(
                    "yaml-syntax",
                    format!("invalid YAML: {}", clean_message(&err.1)),
                )
            };
            b.diags.push(diag.with_span(Some(b.span(pos, end_c))));
        } else if let Some(cache) = cache.as_deref_mut()
            && b.diags.len() == before.1
            && !b.stopped
            && !(exclusive && cache.seen_now(seg))
        {
            let unit = cache.unit();
            let docs = b.docs[before.0..]
                .iter()
                .map(|d| Document {
                    index: d.index.saturating_sub(before.2),
                    root: shifted(&d.root, unit, |x| x.saturating_sub(base as u32)),
                })
                .collect::<Vec<_>>();
            let segment = Arc::new(Segment {
                docs,
                started: b.doc_index.saturating_sub(before.2),
                nodes: b.nodes.saturating_sub(before.3),
                last_end: b.last_end.saturating_sub(base),
                unit,
                let_go: false,
            });
            let generation = cache.generation;
            cache
                .segments
                .insert(seg.to_string(), (segment.clone(), generation));
            b.docs.truncate(before.0);
            b.flush(&mut units);
            b.held += segment.docs.len();
            units.push(Unit::Segment {
                first_doc: before.2,
                base: base as u32,
                seg: segment,
            });
        }
        base = end;
    }
    b.flush(&mut units);
    (units, b.diags)
}

/// A copy of `n` with every span in `file` and its offsets mapped by `f`.
fn shifted(n: &Node, file: u32, f: impl Fn(u32) -> u32 + Copy) -> Node {
    let value = match &n.value {
        Value::Seq(items) => Value::Seq(items.iter().map(|i| shifted(i, file, f)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (shifted(k, file, f), shifted(v, file, f)))
                .collect(),
        ),
        other => other.clone(),
    };
    Node {
        value,
        span: Span {
            file,
            start: f(n.span.start),
            end: f(n.span.end),
        },
    }
}

/// Tidies a saphyr error message: no trailing position, no doubled spaces.
fn clean_message(info: &str) -> String {
    let mut s = info.trim().trim_end_matches('.').to_string();
    if let Some(i) = s.find(" at byte ") {
        s.truncate(i);
    }
    s
}

/// The start of the first line after the one holding `from` that is a
/// document marker (`---` followed by a blank or the line's end).
fn next_marker(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        // `str::find` of a char searches word by word, not byte by byte.
        let nl = match text.get(at..) {
            Some(rest) => rest.find('\n'),
            None => bytes[at..].iter().position(|&b| b == b'\n'),
        }? + at
            + 1;
        let line = &bytes[nl..];
        if line.starts_with(b"---")
            && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Some(nl);
        }
        at = nl;
    }
}
