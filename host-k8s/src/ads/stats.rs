//! What the ADS server knows about its Envoys, for readiness, a debug
//! endpoint and metrics (rendered by the admin endpoint).
//!
//! One entry per ADS stream (an Envoy's node id can appear on several streams,
//! e.g. across reconnects or when several Envoys share an id). Entries of
//! closed streams are kept, marked disconnected, up to
//! [`MAX_CLOSED_STREAMS`], so the last NACK of an Envoy that went away can
//! still be read.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::snapshot::TYPE_ORDER;

/// How many closed streams' entries are kept.
pub const MAX_CLOSED_STREAMS: usize = 64;

/// The last rejection of one type by one Envoy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    /// The snapshot version of the rejected response.
    pub version: String,
    /// The rejected response's nonce.
    pub nonce: String,
    /// Envoy's error message (`error_detail.message`).
    pub message: String,
    /// Names of the resources the rejection is about: those of the rejected
    /// response that the message mentions, else all of them (capped).
    pub resources: Vec<String>,
    /// The source objects of those resources (`Kind/namespace/name`).
    pub sources: Vec<String>,
}

/// The xDS protocol variant of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Sotw,
    Delta,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Sotw => "sotw",
            Protocol::Delta => "delta",
        }
    }

    /// The name in logs.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Protocol::Sotw => "SotW",
            Protocol::Delta => "delta",
        }
    }
}

#[derive(Debug, Default, Clone)]
struct TypeState {
    acked_version: Option<String>,
    pending_nonce: Option<String>,
    last_nack: Option<Nack>,
    /// The last answer was that NACK (no ACK since).
    rejecting: bool,
    /// Resources sent on this stream (for delta: added or updated ones;
    /// removals are not counted).
    resources_sent: u64,
}

#[derive(Debug)]
struct StreamEntry {
    node: String,
    protocol: Protocol,
    connected: bool,
    types: BTreeMap<String, TypeState>,
}

/// What was sent and answered for one type URL, over all streams.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TypeCounters {
    /// Responses sent.
    pub pushes: u64,
    /// Responses accepted.
    pub acks: u64,
    /// Responses rejected.
    pub nacks: u64,
    /// Resources sent in responses (for delta: added or updated ones).
    pub resources_sent: u64,
}

#[derive(Debug, Default)]
struct Inner {
    /// By stream id (increasing: the oldest closed ones are dropped first).
    streams: BTreeMap<u64, StreamEntry>,
    /// By type URL (only the known types).
    counters: BTreeMap<&'static str, TypeCounters>,
    next_stream: u64,
    /// By (node, type URL): the message of the rejection last logged, until
    /// that node ACKs the type (so a NACK repeated, after a reconnect or
    /// another snapshot still holding the bad resource, is logged once).
    logged: BTreeMap<(String, String), String>,
}

/// Most (node, type) rejections remembered for logging once.
const MAX_LOGGED: usize = 1024;

/// Shared ADS statistics: per stream state and counters per type URL.
/// `Send + Sync`; share it in an `Arc` between the ADS server and whatever
/// reports on it.
#[derive(Debug, Default)]
pub struct AdsStats {
    inner: Mutex<Inner>,
    ready: AtomicBool,
    /// Streams ended because their Envoy stopped reading.
    cut: AtomicU64,
    /// Bumped whenever [`AdsStats::rejections`] may have changed.
    rejections_changed: tokio::sync::watch::Sender<u64>,
}

impl AdsStats {
    /// Empty statistics, not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once some Envoy has ACKed a snapshot: on one stream, clusters,
    /// listeners and every other type it subscribed to were ACKed with
    /// nothing pending. Stays true.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Per stream: node id, protocol (`sotw` or `delta`), whether connected,
    /// and per type URL the ACKed version, the nonce awaiting an answer and
    /// the last NACK; plus the counters per type URL and the number of
    /// connected Envoys:
    ///
    /// ```json
    /// {"ready": true, "connected": 1,
    ///  "nodes": [{"id": "envoy-1", "stream": 3, "protocol": "sotw", "connected": true,
    ///             "types": {"type.googleapis.com/…Cluster": {"acked_version": "4",
    ///                       "pending_nonce": null, "last_nack": null,
    ///                       "resources_sent": 3}}}],
    ///  "counters": {"type.googleapis.com/…Cluster": {"pushes": 2, "acks": 2,
    ///               "nacks": 0, "resources_sent": 6}}}
    /// ```
    pub fn to_json(&self) -> Value {
        let inner = self.lock();
        let nodes: Vec<Value> = inner
            .streams
            .iter()
            .map(|(id, s)| {
                let types: serde_json::Map<String, Value> = s
                    .types
                    .iter()
                    .map(|(t, st)| {
                        let nack = st.last_nack.as_ref().map(|n| {
                            json!({
                                "version": n.version,
                                "nonce": n.nonce,
                                "message": n.message,
                                "resources": n.resources,
                                "sources": n.sources,
                            })
                        });
                        (
                            t.clone(),
                            json!({
                                "acked_version": st.acked_version,
                                "pending_nonce": st.pending_nonce,
                                "rejecting": st.rejecting,
                                "last_nack": nack,
                                "resources_sent": st.resources_sent,
                            }),
                        )
                    })
                    .collect();
                json!({
                    "id": s.node,
                    "stream": id,
                    "protocol": s.protocol.as_str(),
                    "connected": s.connected,
                    "types": types,
                })
            })
            .collect();
        let counters: serde_json::Map<String, Value> = TYPE_ORDER
            .iter()
            .map(|t| {
                let c = inner.counters.get(t).copied().unwrap_or_default();
                (
                    (*t).to_string(),
                    json!({
                        "pushes": c.pushes,
                        "acks": c.acks,
                        "nacks": c.nacks,
                        "resources_sent": c.resources_sent,
                    }),
                )
            })
            .collect();
        json!({
            "ready": self.ready(),
            "connected": inner.streams.values().filter(|s| s.connected).count(),
            "streams_cut": self.streams_cut(),
            "rejections": rejections(&inner),
            "nodes": nodes,
            "counters": counters,
        })
    }

    /// The counters per type URL, in [`TYPE_ORDER`].
    pub fn counters(&self) -> Vec<TypeCounters> {
        let inner = self.lock();
        TYPE_ORDER
            .iter()
            .map(|t| inner.counters.get(t).copied().unwrap_or_default())
            .collect()
    }

    /// ADS streams open now.
    pub fn connected(&self) -> usize {
        self.lock().streams.values().filter(|s| s.connected).count()
    }

    /// Streams cut off so far because their Envoy stopped reading.
    pub fn streams_cut(&self) -> u64 {
        self.cut.load(Ordering::Relaxed)
    }

    /// Entries kept (open streams plus at most [`MAX_CLOSED_STREAMS`] closed ones).
    pub fn stream_records(&self) -> usize {
        self.lock().streams.len()
    }

    /// A stream is cut off because its Envoy stopped reading (it is closed
    /// separately).
    pub(crate) fn cut(&self) {
        self.cut.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Nothing here can leave the data half-updated; a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new stream; returns its id.
    pub(crate) fn open(&self, node: &str, protocol: Protocol) -> u64 {
        let mut inner = self.lock();
        inner.next_stream += 1;
        let id = inner.next_stream;
        inner.streams.insert(
            id,
            StreamEntry {
                node: node.to_string(),
                protocol,
                connected: true,
                types: BTreeMap::new(),
            },
        );
        id
    }

    /// Marks a stream closed and forgets the oldest closed streams.
    pub(crate) fn close(&self, stream: u64) {
        let mut inner = self.lock();
        if let Some(s) = inner.streams.get_mut(&stream) {
            s.connected = false;
            if s.types.values().any(|t| t.rejecting) {
                self.rejections_changed.send_modify(|n| *n += 1);
            }
        }
        let closed: Vec<u64> = inner
            .streams
            .iter()
            .filter(|(_, s)| !s.connected)
            .map(|(id, _)| *id)
            .collect();
        if closed.len() > MAX_CLOSED_STREAMS {
            for id in &closed[..closed.len() - MAX_CLOSED_STREAMS] {
                inner.streams.remove(id);
            }
        }
    }

    fn with_type(&self, stream: u64, type_url: &str, f: impl FnOnce(&mut TypeState)) {
        let mut inner = self.lock();
        if let Some(s) = inner.streams.get_mut(&stream) {
            f(s.types.entry(type_url.to_string()).or_default());
        }
    }

    fn count(&self, type_url: &str, f: impl FnOnce(&mut TypeCounters)) {
        if let Some(t) = TYPE_ORDER.iter().find(|t| **t == type_url) {
            f(self.lock().counters.entry(t).or_default());
        }
    }

    /// A response was sent.
    pub(crate) fn pushed(&self, stream: u64, type_url: &str, nonce: &str, resources: usize) {
        self.count(type_url, |c| {
            c.pushes += 1;
            c.resources_sent += resources as u64;
        });
        self.with_type(stream, type_url, |t| {
            t.pending_nonce = Some(nonce.to_string());
            t.resources_sent += resources as u64;
        });
    }

    /// A response sent earlier still awaits its answer.
    pub(crate) fn set_pending(&self, stream: u64, type_url: &str, nonce: &str) {
        self.with_type(stream, type_url, |t| {
            t.pending_nonce = Some(nonce.to_string());
        });
    }

    /// The response with the pending nonce was accepted. `clears`: the
    /// Envoy now runs what it rejected before, fixed or removed (always in
    /// SotW; in delta only once the rejected resources were sent again or
    /// removed, since a delta ACK is about the resources of one response).
    pub(crate) fn acked(&self, stream: u64, type_url: &str, version: &str, clears: bool) {
        self.count(type_url, |c| c.acks += 1);
        let mut was_rejecting = false;
        {
            let mut inner = self.lock();
            if let Some(s) = inner.streams.get_mut(&stream) {
                let t = s.types.entry(type_url.to_string()).or_default();
                t.pending_nonce = None;
                t.acked_version = Some(version.to_string());
                if clears {
                    was_rejecting = std::mem::take(&mut t.rejecting);
                }
                if clears {
                    let key = (s.node.clone(), type_url.to_string());
                    inner.logged.remove(&key);
                }
            }
        }
        if was_rejecting {
            self.rejections_changed.send_modify(|n| *n += 1);
        }
    }

    /// The response with the pending nonce was rejected. True when this
    /// rejection is news: the node did not report the same message for this
    /// type since it last accepted it (so it is logged once).
    pub(crate) fn nacked(&self, stream: u64, type_url: &str, nack: Nack) -> bool {
        self.count(type_url, |c| c.nacks += 1);
        let mut news = true;
        {
            let mut inner = self.lock();
            if let Some(s) = inner.streams.get_mut(&stream) {
                let key = (s.node.clone(), type_url.to_string());
                let t = s.types.entry(type_url.to_string()).or_default();
                t.pending_nonce = None;
                let message = nack.message.clone();
                t.last_nack = Some(nack);
                t.rejecting = true;
                news = inner.logged.get(&key) != Some(&message);
                if news {
                    if inner.logged.len() >= MAX_LOGGED {
                        inner.logged.pop_first();
                    }
                    inner.logged.insert(key, message);
                }
            }
        }
        self.rejections_changed.send_modify(|n| *n += 1);
        news
    }

    /// What the connected Envoys reject now (their last answer for a type
    /// was a NACK): by source object (`Kind/namespace/name`), Envoy's
    /// message.
    pub fn rejections(&self) -> BTreeMap<String, String> {
        rejections(&self.lock())
    }

    /// Changes when [`AdsStats::rejections`] may have changed.
    pub fn rejections_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rejections_changed.subscribe()
    }

    /// Some stream has every subscribed type ACKed.
    pub(crate) fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

/// What the connected Envoys reject now, by source object: see
/// [`AdsStats::rejections`].
fn rejections(inner: &Inner) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for s in inner.streams.values().filter(|s| s.connected) {
        for t in s.types.values().filter(|t| t.rejecting) {
            if let Some(n) = &t.last_nack {
                for src in &n.sources {
                    out.entry(src.clone()).or_insert_with(|| n.message.clone());
                }
            }
        }
    }
    out
}
