//! The segment cache: documents already parsed, by the text of the segment
//! (a document and the `---` line that opens it) they came from, each
//! numbered as a unit whose spans count from the segment's start.

use super::Document;
use std::sync::Arc;

/// Documents already parsed, by the text of the segment (a document and the
/// `---` line that opens it) they came from, so that a file where one
/// document changed is parsed again only there. What
/// [`parse_with`](super::parse_with) returns with a cache is exactly what
/// [`parse`](fn@super::parse) returns without one: segments that gave
/// diagnostics are never kept, and the limits still count every node and
/// document of the file.
///
/// Use: [`SegmentCache::rotate`] before parsing a new generation of the
/// input, [`SegmentCache::forget_unseen`] after it, so that only the
/// segments of the last input are kept.
#[derive(Debug, Default)]
pub struct SegmentCache {
    /// By text, with the generation each was last seen in (never iterated
    /// in an order that matters).
    pub(super) segments: crate::hash::FixedHashMap<String, (Arc<Segment>, u64)>,
    /// The generation being parsed.
    pub(super) generation: u64,
    /// Segments taken from the cache since the last rotation.
    pub(super) reused: usize,
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
    pub(super) fn get(&mut self, seg: &str, exclusive: bool) -> Option<Arc<Segment>> {
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
    pub(super) fn seen_now(&self, seg: &str) -> bool {
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

    pub(super) fn unit(&mut self) -> u32 {
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
    pub(super) started: u32,
    /// Nodes it builds, aliases expanded.
    pub(super) nodes: usize,
    /// `last_end` after it, from the segment's start.
    pub(super) last_end: usize,
    /// What its spans name as their file: [`UNIT`] and a number unique among
    /// the segments the cache holds.
    pub(crate) unit: u32,
    /// Its documents were let go ([`SegmentCache::let_go`]); `docs` is empty.
    pub(crate) let_go: bool,
}
