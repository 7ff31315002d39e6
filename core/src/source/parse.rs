//! The YAML/JSON parser: saphyr-parser events → [`Document`]s of spanned [`Node`]s.
//!
//! The tree is built with an explicit stack (no recursion), so nesting is bounded
//! only by [`Limits::max_depth`]; anchors are expanded by cloning, and every
//! expanded node counts against [`Limits::max_nodes`] (billion-laughs defence).
//! Plain scalars are resolved like PyYAML's YAML 1.1 resolver. saphyr's markers
//! count characters; [`CharToByte`] turns them into byte offsets. Each document
//! is parsed on its own, up to the next `---` line, so a syntax error ends only
//! the document it occurs in.
//!
//! Choices worth knowing:
//! - Duplicate mapping keys: the last one wins like PyYAML; the earlier entry is
//!   dropped and a `yaml-duplicate-key` warning points at the later key.
//! - Merge keys (`<<: *base`, `<<: [*a, *b]`) are applied like PyYAML: explicit
//!   keys win over merged ones, earlier merged mappings over later ones.
//! - Documents whose root is null (empty, comment-only, `--- ~`) are skipped, but
//!   still count for [`Document::index`], which is the document's position in
//!   the file's stream (a document lost to a syntax error counts too).

use super::{Document, Node, Value};
use crate::diag::{Diagnostic, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use std::borrow::Cow;
use std::collections::BTreeMap;
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

/// Documents already parsed, by the text of the segment (a document and the
/// `---` line that opens it) they came from, so that a file where one
/// document changed is parsed again only there. What [`parse_with`] returns
/// with a cache is exactly what [`parse`] returns without one: segments that
/// gave diagnostics are never kept, and the limits still count every node
/// and document of the file.
///
/// Use: [`SegmentCache::rotate`] before parsing a new generation of the
/// input, [`SegmentCache::forget_unseen`] after it, so that only the
/// segments of the last input are kept.
#[derive(Debug, Default)]
pub struct SegmentCache {
    /// By text, with the generation each was last seen in (never iterated
    /// in an order that matters).
    segments: crate::hash::FixedHashMap<String, (Arc<Segment>, u64)>,
    /// The generation being parsed.
    generation: u64,
    /// Segments taken from the cache since the last rotation.
    reused: usize,
    /// Numbers the units of the segments parsed so far.
    next_unit: u32,
}

impl SegmentCache {
    /// Starts a new generation: segments not seen since the last rotation
    /// are forgotten.
    pub fn rotate(&mut self) {
        self.generation += 1;
        self.reused = 0;
    }

    /// Segments taken from the cache since the last rotation.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Forgets the segments not seen since the last rotation.
    pub fn forget_unseen(&mut self) {
        let now = self.generation;
        self.segments.retain(|_, (_, seen)| *seen == now);
    }

    /// The parse of `seg`, moved into the current generation. With
    /// `exclusive`, a segment already taken in this generation (the same
    /// text twice) is not given again: each unit stands for one place.
    fn get(&mut self, seg: &str, exclusive: bool) -> Option<Arc<Segment>> {
        let now = self.generation;
        let (s, seen) = self.segments.get_mut(seg)?;
        if *seen == now {
            return (!exclusive).then(|| s.clone());
        }
        *seen = now;
        // Without its documents, a segment serves only callers that remember
        // what its unit gave.
        (exclusive || !s.let_go).then(|| s.clone())
    }

    /// Whether `seg` was seen in this generation.
    fn seen_now(&self, seg: &str) -> bool {
        self.segments
            .get(seg)
            .is_some_and(|(_, seen)| *seen == self.generation)
    }

    /// Lets go of the documents of the current segments whose unit
    /// `remembered` says the caller keeps the outcome of (they are the
    /// biggest thing the cache holds). Such a segment is still given to
    /// exclusive callers, who must parse again if they find they need its
    /// documents after all.
    pub(crate) fn let_go(&mut self, remembered: impl Fn(u32) -> bool) {
        // Each segment on its own: the order does not matter.
        let now = self.generation;
        #[allow(clippy::iter_over_hash_type)]
        for (seg, _) in self.segments.values_mut().filter(|(_, seen)| *seen == now) {
            if !seg.let_go
                && remembered(seg.unit)
                && let Some(s) = Arc::get_mut(seg)
            {
                s.docs = Vec::new();
                s.let_go = true;
            }
        }
    }

    fn unit(&mut self) -> u32 {
        let u = UNIT | (self.next_unit & !UNIT);
        self.next_unit = self.next_unit.wrapping_add(1);
        u
    }
}

/// Marks a [`Span::file`] that names a unit (one clean segment of a file,
/// offsets from its start) rather than a file: see [`Unit`].
pub(crate) const UNIT: u32 = 1 << 31;

/// The outcome of parsing one segment on its own, positions relative to its
/// start.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Its documents, with spans from the segment's start in `unit` and
    /// indices from the segment's first document.
    pub(crate) docs: Vec<Document>,
    /// Documents it starts (null ones included).
    started: u32,
    /// Nodes it builds, aliases expanded.
    nodes: usize,
    /// `last_end` after it, from the segment's start.
    last_end: usize,
    /// What its spans name as their file: [`UNIT`] and a number unique among
    /// the segments the cache holds.
    pub(crate) unit: u32,
    /// Its documents were let go ([`SegmentCache::let_go`]); `docs` is empty.
    pub(crate) let_go: bool,
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
    let mut b = Builder {
        text,
        file,
        limits,
        docs: Vec::new(),
        diags: Vec::new(),
        doc_index: 0,
        nodes: 0,
        stopped: false,
        stack: Vec::new(),
        root: None,
        anchors: BTreeMap::new(),
        skipping: false,
        in_doc: false,
        last_end: 0,
        held: 0,
    };
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
        let nl = bytes[at..].iter().position(|&b| b == b'\n')? + at + 1;
        let line = &bytes[nl..];
        if line.starts_with(b"---")
            && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Some(nl);
        }
        at = nl;
    }
}

/// Converts saphyr's character indices into byte offsets of one segment, with
/// a cursor that moves forward (and a little backward) as events arrive.
struct CharToByte<'a> {
    text: &'a str,
    chars: usize,
    bytes: usize,
}

impl CharToByte<'_> {
    fn byte(&mut self, char_idx: usize) -> usize {
        let b = self.text.as_bytes();
        while self.chars < char_idx && self.bytes < b.len() {
            let want = char_idx - self.chars;
            let end = (self.bytes + want).min(b.len());
            if b[self.bytes..end].is_ascii() {
                self.chars += end - self.bytes;
                self.bytes = end;
            } else {
                let c = self.text[self.bytes..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                self.bytes += c;
                self.chars += 1;
            }
        }
        while self.chars > char_idx && self.bytes > 0 {
            self.bytes -= 1;
            while self.bytes > 0 && !self.text.is_char_boundary(self.bytes) {
                self.bytes -= 1;
            }
            self.chars -= 1;
        }
        self.bytes
    }
}

enum Kind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        key_is_merge: bool,
        merges: Vec<usize>,
    },
}

struct Frame {
    kind: Kind,
    start: usize,
    /// Flow collections end at their closing bracket; block ones at their last child.
    flow: bool,
    end: usize,
    anchor: usize,
    /// Nodes in this subtree (for alias accounting) and its height.
    count: usize,
    height: usize,
}

struct Anchored {
    node: Node,
    count: usize,
    height: usize,
}

struct Builder<'l> {
    /// The whole file; event positions are byte offsets into it.
    text: &'l str,
    file: u32,
    limits: &'l Limits,
    docs: Vec<Document>,
    diags: Vec<Diagnostic>,
    /// Documents started so far in the file (the next one's index).
    doc_index: u32,
    /// Nodes built so far in the file, aliases expanded.
    nodes: usize,
    stopped: bool,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: BTreeMap<usize, Anchored>,
    /// The current document is being skipped (too deep).
    skipping: bool,
    in_doc: bool,
    /// End of the last event with content, for the position of empty scalars.
    last_end: usize,
    /// Documents of the file already handed out in units.
    held: usize,
}

impl Builder<'_> {
    /// True unless the file's limits would stop inside the cached segment
    /// (then it is parsed, so that the limit is reported where it is reached).
    fn fits(&self, seg: &Segment) -> bool {
        self.nodes + seg.nodes <= self.limits.max_nodes
            && self.documents() + seg.docs.len() <= self.limits.max_documents
    }

    /// Moves past a cached segment as if it had been parsed at `base`.
    fn skip(&mut self, seg: &Segment, base: usize) {
        self.reset_doc();
        self.doc_index = self.doc_index.saturating_add(seg.started);
        self.nodes += seg.nodes;
        self.last_end = base + seg.last_end;
    }

    /// Hands the documents parsed since the last unit out as one.
    fn flush(&mut self, units: &mut Vec<Unit>) {
        if !self.docs.is_empty() {
            self.held += self.docs.len();
            units.push(Unit::Docs(std::mem::take(&mut self.docs)));
        }
    }

    /// Documents of the file so far.
    fn documents(&self) -> usize {
        self.held + self.docs.len()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span {
            file: self.file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// Parses one segment (starting at byte `base` of the file). Returns the
    /// error position (bytes, relative to the segment) and message, if any.
    fn run(&mut self, seg: &str, base: usize) -> Option<(usize, String)> {
        let mut conv = CharToByte {
            text: seg,
            chars: 0,
            bytes: 0,
        };
        self.reset_doc();
        for ev in Parser::new_from_str(seg) {
            let (event, sp) = match ev {
                Ok(x) => x,
                Err(e) => return Some(error_pos(&e, &mut conv)),
            };
            let start = base + conv.byte(sp.start.index());
            let end = base + conv.byte(sp.end.index());
            self.event(event, start, end);
            if self.stopped {
                return None;
            }
        }
        None
    }

    fn reset_doc(&mut self) {
        self.stack.clear();
        self.root = None;
        self.anchors.clear();
        self.skipping = false;
        self.in_doc = false;
    }

    fn event(&mut self, event: Event<'_>, start: usize, end: usize) {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.reset_doc();
                self.in_doc = true;
                self.doc_index = self.doc_index.saturating_add(1);
                self.last_end = end;
            }
            Event::DocumentEnd => self.end_document(),
            _ if self.skipping => {}
            Event::Scalar(text, style, anchor, tag) => {
                let (s, e) = match style {
                    ScalarStyle::Plain if text.is_empty() && tag.is_none() => {
                        (self.last_end, self.last_end)
                    }
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        (start, quoted_end(self.text, start, end))
                    }
                    _ => (start, end),
                };
                let is_merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
                let value = resolve(text, style, tag.as_deref());
                self.last_end = self.last_end.max(e);
                let node = Node {
                    value,
                    span: self.span(s, e),
                };
                self.attach(node, anchor, 1, 0, is_merge);
            }
            Event::Alias(id) => {
                self.last_end = self.last_end.max(end);
                let Some(a) = self.anchors.get(&id) else {
                    self.diags.push(
                        Diagnostic::error(
                            "yaml-recursive-alias",
                            "this alias refers to a node that contains it; it is read as null",
                        )
                        .with_span(Some(self.span(start, end))),
                    );
                    let node = Node {
                        value: Value::Null,
                        span: self.span(start, end),
                    };
                    self.attach(node, 0, 1, 0, false);
                    return;
                };
                let (count, height) = (a.count, a.height);
                if self.stack.len() + height > self.limits.max_depth {
                    self.too_deep(start, end);
                    return;
                }
                if self.nodes.saturating_add(count) > self.limits.max_nodes {
                    self.too_large(start, end);
                    return;
                }
                let mut node = a.node.clone();
                node.span = self.span(start, end);
                // `attach` counts the one node; the rest of the subtree here.
                self.nodes += count - 1;
                self.attach(node, 0, count, height, false);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() + 1 > self.limits.max_depth {
                    self.too_deep(start, end);
                    return;
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    Kind::Seq(Vec::new())
                } else {
                    Kind::Map {
                        entries: Vec::new(),
                        key: None,
                        key_is_merge: false,
                        merges: Vec::new(),
                    }
                };
                self.last_end = self.last_end.max(end);
                self.stack.push(Frame {
                    kind,
                    start,
                    flow: end > start,
                    end,
                    anchor,
                    count: 1,
                    height: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return;
                };
                let end = if !frame.flow {
                    frame.end
                } else if matches!(self.text.as_bytes().get(start), Some(b']' | b'}')) {
                    // saphyr's span runs on over a trailing comment; stop at the bracket.
                    start + 1
                } else {
                    end.max(frame.end)
                };
                if frame.flow {
                    self.last_end = self.last_end.max(end);
                }
                let span = self.span(frame.start, end);
                let value = match frame.kind {
                    Kind::Seq(items) => Value::Seq(items),
                    Kind::Map {
                        entries,
                        key,
                        merges,
                        ..
                    } => {
                        let mut entries = entries;
                        if let Some(k) = key {
                            // Cannot happen with a well-formed event stream; keep the key.
                            let v = Node {
                                value: Value::Null,
                                span: Span {
                                    start: k.span.end,
                                    ..k.span
                                },
                            };
                            entries.push((k, v));
                        }
                        let merged = apply_merges(&mut entries, &merges);
                        dedup_keys(&mut entries, merged, &mut self.diags);
                        Value::Map(entries)
                    }
                };
                let node = Node { value, span };
                self.attach(node, frame.anchor, frame.count, frame.height, false);
            }
        }
    }

    fn too_deep(&mut self, start: usize, end: usize) {
        self.diags.push(
            Diagnostic::error(
                "yaml-too-deep",
                format!(
                    "document {} nests deeper than {} levels; it is skipped",
                    self.doc_index.saturating_sub(1),
                    self.limits.max_depth
                ),
            )
            .with_span(Some(self.span(start, end))),
        );
        self.skipping = true;
        self.stack.clear();
        self.root = None;
    }

    fn too_large(&mut self, start: usize, end: usize) {
        self.diags.push(
            Diagnostic::error(
                "yaml-too-large",
                format!(
                    "the file has more than {} YAML nodes (aliases expanded); parsing stopped",
                    self.limits.max_nodes
                ),
            )
            .with_span(Some(self.span(start, end))),
        );
        self.stopped = true;
        self.stack.clear();
        self.root = None;
    }

    /// Adds a finished node (a subtree of `count` nodes and `height` levels) to
    /// its parent, or makes it the document root.
    fn attach(&mut self, node: Node, anchor: usize, count: usize, height: usize, is_merge: bool) {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            let (s, e) = (node.span.start as usize, node.span.end as usize);
            self.too_large(s, e);
            return;
        }
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    count,
                    height,
                },
            );
        }
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        top.count += count;
        top.height = top.height.max(height + 1);
        if !top.flow {
            top.end = top.end.max(node.span.end as usize);
        }
        match &mut top.kind {
            Kind::Seq(items) => items.push(node),
            Kind::Map {
                entries,
                key,
                key_is_merge,
                merges,
            } => match key.take() {
                None => {
                    *key = Some(node);
                    *key_is_merge = is_merge;
                }
                Some(k) => {
                    if *key_is_merge {
                        merges.push(entries.len());
                    }
                    entries.push((k, node));
                }
            },
        }
    }

    fn end_document(&mut self) {
        let root = self.root.take();
        let index = self.doc_index.saturating_sub(1);
        let skipped = self.skipping;
        self.reset_doc();
        let Some(root) = root else { return };
        if skipped || root.is_null() {
            return;
        }
        if self.documents() >= self.limits.max_documents {
            self.diags.push(
                Diagnostic::error(
                    "yaml-too-many-documents",
                    format!(
                        "the file has more than {} documents; the rest are ignored",
                        self.limits.max_documents
                    ),
                )
                .with_span(Some(root.span)),
            );
            self.stopped = true;
            return;
        }
        self.docs.push(Document { index, root });
    }
}

/// The end of a quoted scalar whose event spans `start..end` (saphyr's end may
/// run on over a trailing comment): just past its closing quote.
fn quoted_end(text: &str, start: usize, end: usize) -> usize {
    let b = text.as_bytes();
    let end = end.min(b.len());
    let Some(open) = b
        .get(start..end)
        .and_then(|s| s.iter().position(|&c| c == b'"' || c == b'\''))
    else {
        return end;
    };
    let q = b[start + open];
    let mut i = start + open + 1;
    while i < end {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            b'\'' if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    end
}

fn error_pos(e: &ScanError, conv: &mut CharToByte<'_>) -> (usize, String) {
    (conv.byte(e.marker().index()), e.info().to_string())
}

/// Applies the merge keys (`<<`) found at entry indices `merges`: their values
/// (mappings, or lists of mappings) are spliced in front of the explicit
/// entries. Returns how many leading entries came from merges.
fn apply_merges(entries: &mut Vec<(Node, Node)>, merges: &[usize]) -> usize {
    if merges.is_empty() {
        return 0;
    }
    let mut merged: Vec<(Node, Node)> = Vec::new();
    let mut explicit: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut sources: Vec<Node> = Vec::new();
    for (i, (k, v)) in std::mem::take(entries).into_iter().enumerate() {
        if merges.contains(&i) {
            match v.value {
                Value::Map(_) => sources.push(v),
                Value::Seq(items) if items.iter().all(|n| matches!(n.value, Value::Map(_))) => {
                    // Earlier mappings win: merge later ones first.
                    sources.extend(items.into_iter().rev());
                }
                value => explicit.push((
                    k,
                    Node {
                        value,
                        span: v.span,
                    },
                )),
            }
        } else {
            explicit.push((k, v));
        }
    }
    for src in sources {
        if let Value::Map(m) = src.value {
            merged.extend(m);
        }
    }
    let n = merged.len();
    merged.extend(explicit);
    *entries = merged;
    n
}

/// A comparable view of a scalar key; collections never compare equal.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum KeyRef<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(&'a str),
    Other(usize),
}

fn key_ref(n: &Node, i: usize) -> KeyRef<'_> {
    match &n.value {
        Value::Null => KeyRef::Null,
        Value::Bool(b) => KeyRef::Bool(*b),
        Value::Int(v) => KeyRef::Int(*v),
        Value::Float(f) => KeyRef::Float(f.to_bits()),
        Value::Str(s) => KeyRef::Str(s),
        _ => KeyRef::Other(i),
    }
}

/// Drops every entry whose key appears again later (last wins); warns about
/// explicit duplicates (entries at index `merged` and beyond).
fn dedup_keys(entries: &mut Vec<(Node, Node)>, merged: usize, diags: &mut Vec<Diagnostic>) {
    let n = entries.len();
    if n < 2 {
        return;
    }
    // (dropped index, the later index that replaces it)
    let mut dups: Vec<(usize, usize)> = Vec::new();
    if n <= 16 {
        for i in 0..n {
            let ki = key_ref(&entries[i].0, i);
            if let Some(j) = (i + 1..n).find(|&j| key_ref(&entries[j].0, j) == ki) {
                dups.push((i, j));
            }
        }
    } else {
        let mut keys: Vec<(KeyRef<'_>, usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (key_ref(k, i), i))
            .collect();
        keys.sort_unstable();
        for w in keys.windows(2) {
            if w[0].0 == w[1].0 {
                dups.push((w[0].1, w[1].1));
            }
        }
        dups.sort_unstable();
    }
    if dups.is_empty() {
        return;
    }
    for &(i, j) in &dups {
        if i >= merged {
            let key = &entries[j].0;
            diags.push(
                Diagnostic::warning(
                    "yaml-duplicate-key",
                    format!(
                        "duplicate key `{}`: this value replaces the earlier one",
                        key.scalar_text()
                    ),
                )
                .with_span(Some(key.span)),
            );
        }
    }
    let mut idx = 0;
    let mut d = dups.iter().peekable();
    entries.retain(|_| {
        let drop = d.peek().is_some_and(|&&(i, _)| i == idx);
        if drop {
            d.next();
        }
        idx += 1;
        !drop
    });
}

/// Resolves a scalar's value from its text, style and tag, like PyYAML.
fn resolve(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag.filter(|t| t.is_yaml_core_schema()) {
        let s: &str = &text;
        let v = match tag.suffix.as_str() {
            "str" => return Value::Str(text.into_owned()),
            "null" => Some(Value::Null),
            "bool" => resolve_bool(s).map(Value::Bool),
            "int" => resolve_int(s).map(Value::Int),
            "float" => resolve_float(s)
                .or_else(|| resolve_int(s).map(|i| i as f64))
                .map(Value::Float),
            _ => None,
        };
        if let Some(v) = v {
            return v;
        }
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.into_owned());
    }
    resolve_plain(&text).unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// YAML 1.1 implicit resolution of a plain scalar (PyYAML's resolver);
/// `None` means it is a string.
pub(crate) fn resolve_plain(s: &str) -> Option<Value> {
    let Some(&first) = s.as_bytes().first() else {
        return Some(Value::Null);
    };
    match first {
        b'~' | b'n' | b'N' if matches!(s, "~" | "null" | "Null" | "NULL") => Some(Value::Null),
        b'0'..=b'9' | b'+' | b'-' | b'.' => resolve_int(s)
            .map(Value::Int)
            .or_else(|| resolve_float(s).map(Value::Float)),
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' => {
            resolve_bool(s).map(Value::Bool)
        }
        _ => None,
    }
}

fn resolve_bool(s: &str) -> Option<bool> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// PyYAML's int: `[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*)
/// | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+`. Out of i64 → None.
fn resolve_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let b = body.as_bytes();
    let mag: u64 = if let Some(d) = body.strip_prefix("0b") {
        digits(d, 2)?
    } else if let Some(d) = body.strip_prefix("0x") {
        digits(d, 16)?
    } else if body == "0" {
        0
    } else if b.first() == Some(&b'0') {
        // `0[0-7_]+`; PyYAML reads `0_` as 0.
        let d = &body[1..];
        if !d.is_empty() && d.bytes().all(|c| c == b'_') {
            0
        } else {
            digits(d, 8)?
        }
    } else if b.first().is_some_and(u8::is_ascii_digit) {
        if body.contains(':') {
            sexagesimal(body)?
        } else {
            digits(body, 10)?
        }
    } else {
        return None;
    };
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// Digits of `radix` with `_` allowed; at least one character.
fn digits(d: &str, radix: u32) -> Option<u64> {
    if !d.bytes().any(|c| c != b'_') {
        return None;
    }
    let mut v: u64 = 0;
    for c in d.chars() {
        if c == '_' {
            continue;
        }
        let x = c.to_digit(radix)?;
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(x))?;
    }
    Some(v)
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+` → base-60 value.
fn sexagesimal(body: &str) -> Option<u64> {
    let mut parts = body.split(':');
    let head = parts.next()?;
    if head.starts_with('0') {
        return None;
    }
    let mut v = digits(head, 10)?;
    for p in parts {
        v = v.checked_mul(60)?.checked_add(base60_digit(p)?)?;
    }
    Some(v)
}

/// PyYAML's float: `[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?`,
/// `\.[0-9][0-9_]*([eE][-+][0-9]+)?`, `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*`,
/// `[-+]?\.(inf|Inf|INF)` and `\.(nan|NaN|NAN)`.
fn resolve_float(s: &str) -> Option<f64> {
    match s {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let signed = body.len() != s.len();
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let dot = mant.find('.')?;
    let (int, frac) = (&mant[..dot], &mant[dot + 1..]);
    let digits_ = |t: &str| t.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    if !digits_(frac) {
        return None;
    }
    let exp_ok = exp.is_none_or(|e| {
        e.strip_prefix(['+', '-'])
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
    });
    if !exp_ok {
        return None;
    }
    if int.is_empty() {
        // `.5`: no sign, a digit right after the dot.
        if signed || !frac.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
    } else if !int.as_bytes()[0].is_ascii_digit() {
        return None;
    } else if int.contains(':') {
        if exp.is_some() {
            return None;
        }
        let mut parts = int.split(':');
        let mut v = digits(parts.next()?, 10)? as f64;
        for p in parts {
            v = v * 60.0 + base60_digit(p)? as f64;
        }
        let f: String = frac.chars().filter(|&c| c != '_').collect();
        let v = v + format!("0.{f}").parse::<f64>().unwrap_or(0.0);
        return Some(if neg { -v } else { v });
    } else if !digits_(int) {
        return None;
    }
    let mut clean: String = s.chars().filter(|&c| c != '_').collect();
    if let Some(i) = clean.find('.') {
        // Rust wants a digit after the dot (`1.` / `1.e+3`).
        if !clean.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit) {
            clean.insert(i + 1, '0');
        }
    }
    clean.parse::<f64>().ok()
}

/// `[0-5]?[0-9]`.
fn base60_digit(p: &str) -> Option<u64> {
    let b = p.as_bytes();
    let ok = match b {
        [d] => d.is_ascii_digit(),
        [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
        _ => false,
    };
    if ok { p.parse().ok() } else { None }
}
