//! The tree builder: saphyr-parser events → [`Document`]s of spanned
//! [`Node`]s, for one segment at a time.
//!
//! The tree is built with an explicit stack (no recursion), so nesting is bounded
//! only by [`Limits::max_depth`]; anchors are expanded by cloning, and every
//! expanded node counts against [`Limits::max_nodes`] (billion-laughs defence).
//! saphyr's markers count characters; [`CharToByte`] turns them into byte
//! offsets. Merge keys are applied and duplicate keys dropped (last wins) as
//! each mapping ends.

use super::cache::Segment;
use super::parse::{Limits, Unit};
use super::scalar::resolve;
use super::{Document, Node, Value};
use crate::diag::{Diagnostic, Span};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use std::collections::BTreeMap;

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

pub(super) struct Builder<'l> {
    /// The whole file; event positions are byte offsets into it.
    text: &'l str,
    file: u32,
    limits: &'l Limits,
    pub(super) docs: Vec<Document>,
    pub(super) diags: Vec<Diagnostic>,
    /// Documents started so far in the file (the next one's index).
    pub(super) doc_index: u32,
    /// Nodes built so far in the file, aliases expanded.
    pub(super) nodes: usize,
    pub(super) stopped: bool,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: BTreeMap<usize, Anchored>,
    /// The current document is being skipped (too deep).
    skipping: bool,
    in_doc: bool,
    /// End of the last event with content, for the position of empty scalars.
    pub(super) last_end: usize,
    /// Documents of the file already handed out in units.
    pub(super) held: usize,
}

impl<'l> Builder<'l> {
    /// A builder for the file `file` whose text is `text`.
    pub(super) fn new(text: &'l str, file: u32, limits: &'l Limits) -> Self {
        Builder {
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
        }
    }

    /// True unless the file's limits would stop inside the cached segment
    /// (then it is parsed, so that the limit is reported where it is reached).
    pub(super) fn fits(&self, seg: &Segment) -> bool {
        self.nodes + seg.nodes <= self.limits.max_nodes
            && self.documents() + seg.docs.len() <= self.limits.max_documents
    }

    /// Moves past a cached segment as if it had been parsed at `base`.
    pub(super) fn skip(&mut self, seg: &Segment, base: usize) {
        self.reset_doc();
        self.doc_index = self.doc_index.saturating_add(seg.started);
        self.nodes += seg.nodes;
        self.last_end = base + seg.last_end;
    }

    /// Hands the documents parsed since the last unit out as one.
    pub(super) fn flush(&mut self, units: &mut Vec<Unit>) {
        if !self.docs.is_empty() {
            self.held += self.docs.len();
            units.push(Unit::Docs(std::mem::take(&mut self.docs)));
        }
    }

    /// Documents of the file so far.
    fn documents(&self) -> usize {
        self.held + self.docs.len()
    }

    pub(super) fn span(&self, start: usize, end: usize) -> Span {
        Span {
            file: self.file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// Parses one segment (starting at byte `base` of the file). Returns the
    /// error position (bytes, relative to the segment) and message, if any.
    pub(super) fn run(&mut self, seg: &str, base: usize) -> Option<(usize, String)> {
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
