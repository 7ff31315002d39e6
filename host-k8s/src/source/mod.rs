//! Where manifests come from, behind one small interface that speaks
//! objects and changes rather than files: a [`Source`] reports *that*
//! something changed (a [`Signal`] for the debounce) and, when asked,
//! *what* changed, as [`Change`]s; the reader applies them to a [`Store`]
//! keyed by a stable [`Key`], from which the pipeline takes a consistent,
//! sorted list of [`SourceFile`]s.
//!
//! Three sources: [`dir::DirSource`] (a directory watched with `notify`),
//! [`kubernetes::KubeSource`] (the Kubernetes API, watched with kube-rs)
//! and [`embedded::EmbeddedSource`] (the quickstart compiled into the
//! binary). The debounce is [`debounce::settle`].
//!
//! Decision: a source hands out its changes when the reader asks
//! ([`Source::changes`]), not when they happen. The directory source only
//! notes which paths an event touched and reads them when asked, so the
//! reader sees the files as they are at that moment, exactly as a full
//! read then would (a half-written file that is finished later is read
//! again after its last event). The Kubernetes source queues the objects
//! its watchers deliver, keyed `Kind/namespace/name` (a list replaces its
//! kind; `Apply` is a [`Change::Upsert`], `Delete` a [`Change::Delete`]).

pub mod debounce;
pub mod dir;
pub mod embedded;
pub mod kubernetes;

use emissary_core::SourceFile;
use std::collections::BTreeMap;
use std::sync::Arc;

pub use debounce::Signal;

/// A stable name of one input within its source: a path relative to the
/// source's root for files (`sub/mappings.yaml`, with `/`), and
/// `Kind/namespace/name` for Kubernetes objects. Keys order by their
/// `/`-separated parts, as paths do, so a directory's files are translated
/// in the order a sorted walk gives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(pub String);

impl Ord for Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.split('/').cmp(other.0.split('/'))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key(s.to_string())
    }
}

/// What one input holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// Its text (YAML or JSON documents).
    Text(String),
    /// It exists but could not be read (IO error, not UTF-8): why.
    Unreadable(String),
}

/// One change of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An input appeared or changed.
    Upsert { key: Key, text: String },
    /// An input exists but cannot be read.
    Unreadable { key: Key, error: String },
    /// An input is gone (and everything below it, for a directory).
    Delete { key: Key },
    /// Everything the source holds, replacing all that was known: the first
    /// read, and a resync after events were lost.
    Reset(Vec<(Key, Entry)>),
}

/// What a source holds right now: a consistent read of a [`Store`].
#[derive(Debug, Default, Clone)]
pub struct Content {
    /// Every readable input, sorted by key.
    pub files: Vec<SourceFile>,
    /// Inputs that exist but could not be read, with why.
    pub unreadable: Vec<String>,
}

/// A feed of manifests.
///
/// The contract:
/// - [`Source::watch`] starts watching and signals once its content can be
///   read (at once for files; once every initial list is complete for
///   Kubernetes: nothing is read before); from then on the source calls
///   `signal.signal(complete)` after every change it sees (`complete` when
///   the change is known to finish an input: a file closed after writing
///   or renamed into place; see [`debounce`]). Signals may be spurious.
/// - [`Source::changes`] returns what changed since the last call; the
///   first call returns a [`Change::Reset`] with everything. Applied in
///   order to a [`Store`], they give the source's content as of the call.
///   A change that happens during or after the call is signalled after
///   it, so the reader, who reads once a signal comes, never misses one.
/// - A source never fails as a whole once started: an input it cannot
///   read is a [`Change::Unreadable`], and losing track of its inputs
///   (a watch error) is followed by a [`Change::Reset`].
/// - Inputs that are not manifests (hidden files such as editor swap
///   files, files that are not `*.yaml`, `*.yml` or `*.json`) are not
///   inputs: they cause neither signals nor changes.
pub trait Source: Send {
    /// A short name for logs (`dir:/etc/emissary`).
    fn name(&self) -> String;
    /// Starts watching (see the trait's contract).
    fn watch(&mut self, signal: Arc<Signal>) -> anyhow::Result<()>;
    /// The changes since the last call (see the trait's contract).
    fn changes(&mut self) -> Vec<Change>;
    /// Reads the inputs `keys` again, in full, and hands them out as
    /// changes (then signals), because the store withheld their data (see
    /// [`Store::withhold`]). The Kubernetes source lists its Secrets again;
    /// a source whose inputs are never withheld does nothing.
    fn refetch(&mut self, keys: &[Key]) {
        let _ = keys;
    }
}

/// The inputs of one source by key, as its changes left them.
#[derive(Debug, Default, Clone)]
pub struct Store {
    /// What [`SourceFile::name`]s start with: the directory for files
    /// (`/etc/emissary/` + key), empty to use the key alone.
    root: String,
    entries: BTreeMap<Key, Entry>,
    /// A hash of each entry, kept as entries change, so that a fingerprint
    /// of the whole store costs one small hash per input.
    digests: BTreeMap<Key, u64>,
    /// Inputs whose data was withheld ([`Store::withhold`]), with the data
    /// keys they had.
    withheld: BTreeMap<Key, Vec<String>>,
}

fn digest(e: &Entry) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::hash::DefaultHasher::new();
    e.hash(&mut h);
    h.finish()
}

impl Store {
    /// An empty store whose inputs are named `root/key` (or `key` when
    /// `root` is empty).
    pub fn new(root: impl Into<String>) -> Store {
        Store {
            root: root.into(),
            entries: BTreeMap::new(),
            digests: BTreeMap::new(),
            withheld: BTreeMap::new(),
        }
    }

    /// Applies one change.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Upsert { key, text } => {
                self.withheld.remove(&key);
                let e = Entry::Text(text);
                self.digests.insert(key.clone(), digest(&e));
                self.entries.insert(key, e);
            }
            Change::Unreadable { key, error } => {
                self.withheld.remove(&key);
                let e = Entry::Unreadable(error);
                self.digests.insert(key.clone(), digest(&e));
                self.entries.insert(key, e);
            }
            Change::Delete { key } => {
                let below = format!("{}/", key.0);
                let gone = |k: &Key| *k == key || key.0.is_empty() || k.0.starts_with(&below);
                self.entries.retain(|k, _| !gone(k));
                self.digests.retain(|k, _| !gone(k));
                self.withheld.retain(|k, _| !gone(k));
            }
            Change::Reset(entries) => {
                self.withheld.clear();
                self.entries = entries.into_iter().collect();
                self.digests = self
                    .entries
                    .iter()
                    .map(|(k, e)| (k.clone(), digest(e)))
                    .collect();
            }
        }
    }

    /// The name of an input in diagnostics.
    pub fn name(&self, key: &Key) -> String {
        match (self.root.as_str(), key.0.as_str()) {
            ("", k) => k.to_string(),
            (r, "") => r.to_string(),
            (r, k) if r.ends_with('/') => format!("{r}{k}"),
            (r, k) => format!("{r}/{k}"),
        }
    }

    /// Withholds the data of the input `key`, one object as JSON (a
    /// Kubernetes Secret as the Kubernetes source keeps it): its `data`
    /// becomes `{}` and `stringData` goes; its identity, type and the names
    /// of its data keys stay. Returns whether anything was withheld (not
    /// for an input that is not such an object, or has no data, or whose
    /// data is withheld already). An [`Change::Upsert`] of the input
    /// brings data back.
    pub fn withhold(&mut self, key: &Key) -> bool {
        if self.withheld.contains_key(key) {
            return false;
        }
        let Some(Entry::Text(text)) = self.entries.get(key) else {
            return false;
        };
        let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str(text) else {
            return false;
        };
        let mut names: Vec<String> = match obj.get("data") {
            Some(serde_json::Value::Object(d)) => d.keys().cloned().collect(),
            _ => Vec::new(),
        };
        if let Some(serde_json::Value::Object(d)) = obj.remove("stringData") {
            names.extend(d.keys().cloned());
        }
        if names.is_empty() {
            return false;
        }
        obj.insert("data".into(), serde_json::Value::Object(Default::default()));
        let e = Entry::Text(
            serde_json::to_string_pretty(&serde_json::Value::Object(obj)).unwrap_or_default(),
        );
        self.digests.insert(key.clone(), digest(&e));
        self.entries.insert(key.clone(), e);
        self.withheld.insert(key.clone(), names);
        true
    }

    /// Whether the data of `key` is withheld.
    pub fn is_withheld(&self, key: &Key) -> bool {
        self.withheld.contains_key(key)
    }

    /// The data keys the input `key` had before its data was withheld.
    pub fn withheld_keys(&self, key: &Key) -> Option<&[String]> {
        self.withheld.get(key).map(Vec::as_slice)
    }

    /// Every input, sorted by key.
    pub fn into_entries(self) -> Vec<(Key, Entry)> {
        self.entries.into_iter().collect()
    }

    /// A fingerprint of everything the store holds (names and contents):
    /// equal for equal contents, from the kept per-entry hashes.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::hash::DefaultHasher::new();
        self.root.hash(&mut h);
        for (k, d) in &self.digests {
            k.0.hash(&mut h);
            d.hash(&mut h);
        }
        h.finish()
    }

    /// Every input's key, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.entries.keys()
    }

    /// Number of inputs, readable or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the store holds no input.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A consistent read: every readable input sorted by key, and why the
    /// others could not be read.
    pub fn content(&self) -> Content {
        let mut c = Content::default();
        for (k, e) in &self.entries {
            match e {
                Entry::Text(text) => c.files.push(SourceFile {
                    name: self.name(k),
                    text: text.clone(),
                }),
                Entry::Unreadable(why) => c.unreadable.push(why.clone()),
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(k: &str, t: &str) -> Change {
        Change::Upsert {
            key: k.into(),
            text: t.into(),
        }
    }

    #[test]
    fn the_fingerprint_follows_the_content_whatever_the_path_to_it() {
        let mut a = Store::new("r");
        a.apply(up("x", "1"));
        a.apply(up("y", "2"));
        let mut b = Store::new("r");
        b.apply(Change::Reset(vec![
            (Key("y".into()), Entry::Text("2".into())),
            (Key("x".into()), Entry::Text("1".into())),
        ]));
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.apply(up("y", "3"));
        assert_ne!(a.fingerprint(), b.fingerprint(), "a text changed");
        b.apply(up("y", "2"));
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.apply(Change::Delete { key: "y".into() });
        assert_ne!(a.fingerprint(), b.fingerprint(), "an input went");
        b.apply(up("y", "2"));
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), Store::new("other").fingerprint());
    }

    #[test]
    fn store_sorts_by_path_parts_and_names_by_root() {
        let mut s = Store::new("/c");
        s.apply(up("a.yaml", "1"));
        s.apply(up("a/b.yaml", "2"));
        s.apply(up("b.yaml", "3"));
        let names: Vec<_> = s.content().files.into_iter().map(|f| f.name).collect();
        // As a sorted walk gives: the directory `a` before `a.yaml`.
        assert_eq!(names, ["/c/a/b.yaml", "/c/a.yaml", "/c/b.yaml"]);
    }

    #[test]
    fn store_applies_changes_in_order() {
        let mut s = Store::new("");
        s.apply(Change::Reset(vec![
            ("d/x.yaml".into(), Entry::Text("x".into())),
            ("y.yaml".into(), Entry::Text("y".into())),
        ]));
        s.apply(Change::Unreadable {
            key: "z.yaml".into(),
            error: "z.yaml is not UTF-8 text".into(),
        });
        s.apply(up("y.yaml", "y2"));
        let c = s.content();
        assert_eq!(c.files.len(), 2);
        assert_eq!(c.files[1].text, "y2");
        assert_eq!(c.unreadable, ["z.yaml is not UTF-8 text"]);
        // A deleted directory takes its files along.
        s.apply(Change::Delete { key: "d".into() });
        s.apply(Change::Delete {
            key: "z.yaml".into(),
        });
        let c = s.content();
        assert_eq!(c.files.len(), 1);
        assert!(c.unreadable.is_empty());
        s.apply(Change::Reset(Vec::new()));
        assert!(s.is_empty());
    }
}
