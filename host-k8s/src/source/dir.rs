//! A directory of manifests (`*.yaml`, `*.yml`, `*.json`, recursively),
//! watched with `notify`. Hidden entries (editor swap files, a ConfigMap
//! volume's `..2024_…` directories) and other files are not inputs; a
//! ConfigMap's files are read through their visible links.
//!
//! The watcher only notes which paths an event touched (or that the whole
//! directory must be read again: an event about a directory, the
//! ConfigMap's `..data` link, an event without paths, a watch error) and
//! signals the debounce; [`DirSource::changes`] reads those paths when the
//! pipeline asks, so what it hands out is the directory as it is then.

use anyhow::{Context as _, Result};
use emissary_core::SourceFile;
use notify::Watcher as _;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Change, Entry, Key, Signal, Source};

/// A directory of manifests, watched for changes.
pub struct DirSource {
    dir: PathBuf,
    watcher: Option<notify::RecommendedWatcher>,
    pending: Arc<Mutex<Pending>>,
    /// The first [`Source::changes`] (a full read) happened.
    started: bool,
}

/// What the watcher saw since the last [`Source::changes`].
#[derive(Debug, Default)]
struct Pending {
    /// Read the whole directory again.
    rescan: bool,
    /// Manifest files to read again (or that are gone).
    paths: BTreeSet<PathBuf>,
}

impl DirSource {
    /// A source for `dir`, which must exist.
    pub fn new(dir: PathBuf) -> Result<Self> {
        anyhow::ensure!(
            dir.is_dir(),
            "config directory {} does not exist",
            dir.display()
        );
        Ok(DirSource {
            dir,
            watcher: None,
            pending: Arc::default(),
            started: false,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything in the directory, as a [`Change::Reset`].
    fn read_all(&self) -> Change {
        let mut paths = Vec::new();
        let mut entries = Vec::new();
        if let Err(e) = walk(&self.dir, &mut paths) {
            entries.push((Key(String::new()), Entry::Unreadable(format!("{e:#}"))));
        }
        for p in paths {
            let Some(key) = key_of(&self.dir, &p) else {
                continue;
            };
            entries.push((key, read_entry(&p)));
        }
        Change::Reset(entries)
    }
}

/// The key of a path below `dir`: its relative path with `/`; `None` when
/// it is not below `dir` or any part of it is hidden.
fn key_of(dir: &Path, p: &Path) -> Option<Key> {
    let rel = p.strip_prefix(dir).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        let s = c.as_os_str().to_str()?;
        if s.starts_with('.') {
            return None;
        }
        parts.push(s);
    }
    (!parts.is_empty()).then(|| Key(parts.join("/")))
}

/// A file's content as a store entry.
fn read_entry(p: &Path) -> Entry {
    match read_file(p) {
        Ok(f) => Entry::Text(f.text),
        Err(e) => Entry::Unreadable(format!("{e:#}")),
    }
}

impl Source for DirSource {
    fn name(&self) -> String {
        format!("dir:{}", self.dir.display())
    }

    fn watch(&mut self, signal: Arc<Signal>) -> Result<()> {
        let pending = self.pending.clone();
        let first = signal.clone();
        // Watchers may report absolute paths; the directory may be relative.
        let mut dirs = vec![self.dir.clone()];
        dirs.extend(std::fs::canonicalize(&self.dir));
        let mut w =
            notify::recommended_watcher(move |ev: notify::Result<notify::Event>| match ev {
                Ok(e) => {
                    if let Some(complete) = classify(&e) {
                        note(&mut pending.lock().expect("pending lock"), &e, &dirs);
                        signal.signal(complete);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "file watch error; re-reading");
                    pending.lock().expect("pending lock").rescan = true;
                    signal.signal(false)
                }
            })
            .context("starting the file watcher")?;
        w.watch(&self.dir, notify::RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", self.dir.display()))?;
        self.watcher = Some(w);
        // The directory can be read at once.
        first.signal(true);
        Ok(())
    }

    fn changes(&mut self) -> Vec<Change> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("pending lock"));
        if !self.started || pending.rescan {
            self.started = true;
            return vec![self.read_all()];
        }
        let abs = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        let mut out = Vec::new();
        for p in pending.paths {
            let Some(key) = key_of(&self.dir, &p).or_else(|| key_of(&abs, &p)) else {
                return vec![self.read_all()];
            };
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => return vec![self.read_all()],
                Ok(_) => match read_entry(&p) {
                    Entry::Text(text) => out.push(Change::Upsert { key, text }),
                    Entry::Unreadable(error) => out.push(Change::Unreadable { key, error }),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    out.push(Change::Delete { key })
                }
                Err(e) => out.push(Change::Unreadable {
                    key,
                    error: format!("reading {}: {e}", p.display()),
                }),
            }
        }
        out
    }
}

/// Notes what an event (one that [`classify`] counts) asks to read again:
/// a manifest below the directory by its path, anything else that is read
/// (a directory, the `..data` link, a file in a hidden directory) as a
/// read of the whole directory.
fn note(pending: &mut Pending, e: &notify::Event, dirs: &[PathBuf]) {
    if e.paths.is_empty() || e.need_rescan() {
        pending.rescan = true;
        return;
    }
    for p in &e.paths {
        let below = dirs.iter().any(|d| key_of(d, p).is_some());
        if manifest(p) && below {
            pending.paths.insert(p.clone());
        } else if relevant(p) {
            pending.rescan = true;
        }
    }
}

/// What a file event means for the debounce: `None` when it changes no
/// input (reads; hidden files, such as editor swap files, and files that
/// are not manifests), else whether it completes a manifest (see the
/// module docs). An event that names no path changes something unknown.
pub fn classify(e: &notify::Event) -> Option<bool> {
    use notify::EventKind as K;
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    let completes = match e.kind {
        K::Access(AccessKind::Close(AccessMode::Write)) => true,
        K::Access(_) => return None,
        K::Modify(ModifyKind::Name(RenameMode::To)) => true,
        // The new path of a rename is last.
        K::Modify(ModifyKind::Name(RenameMode::Both)) => {
            return match e.paths.last() {
                Some(p) if manifest(p) => Some(true),
                Some(p) if relevant(p) => Some(false),
                // Renamed away to a name that is not read: the old one is gone.
                Some(_) => e.paths.first().filter(|p| relevant(p)).map(|_| false),
                None => Some(false),
            };
        }
        _ => false,
    };
    if e.paths.is_empty() {
        return Some(false);
    }
    if !e.paths.iter().any(|p| relevant(p)) {
        return None;
    }
    Some(completes && e.paths.iter().all(|p| manifest(p)))
}

/// A path that is read: a manifest, a directory (a name without an
/// extension may be one) or a ConfigMap's `..data` link.
fn relevant(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name == "..data" {
        return true;
    }
    !name.starts_with('.') && (p.extension().is_none() || manifest(p))
}

/// A manifest file by its name (or the `..data` link, whose swap completes
/// a ConfigMap update).
fn manifest(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name == "..data"
        || (!name.starts_with('.')
            && matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ))
}

/// Reads one file as UTF-8 text.
pub fn read_file(p: &Path) -> Result<SourceFile> {
    let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", p.display()))?;
    Ok(SourceFile {
        name: p.display().to_string(),
        text,
    })
}

/// Collects `*.yaml`, `*.yml` and `*.json` below `dir` (unsorted). Hidden
/// entries (editor swap files, Kubernetes' `..data` ConfigMap links) are
/// skipped, except that a ConfigMap's `..data` is followed through its
/// visible links.
pub fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading directory {}", dir.display()))?
    {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Store;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    #[test]
    fn dir_source_reads_sorted_and_reports_unreadable_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("b.yaml"), "b: 1\n").unwrap();
        std::fs::write(d.path().join("sub/a.yml"), "a: 1\n").unwrap();
        std::fs::write(d.path().join("a.json"), "{}").unwrap();
        std::fs::write(d.path().join("notes.txt"), "ignored").unwrap();
        std::fs::write(d.path().join(".swap.yaml"), "ignored").unwrap();
        std::fs::write(d.path().join("bad.yaml"), [0xff, 0xfe]).unwrap();
        let mut s = DirSource::new(d.path().to_path_buf()).unwrap();
        let mut store = Store::new(d.path().display().to_string());
        for c in s.changes() {
            store.apply(c);
        }
        let c = store.content();
        let names: Vec<_> = c
            .files
            .iter()
            .map(|f| {
                Path::new(&f.name)
                    .strip_prefix(d.path())
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["a.json", "b.yaml", "sub/a.yml"]);
        assert_eq!(c.unreadable.len(), 1);
        assert!(c.unreadable[0].contains("bad.yaml"), "{:?}", c.unreadable);
    }

    #[tokio::test]
    async fn dir_source_signals_changes() {
        let d = tempfile::tempdir().unwrap();
        let mut s = DirSource::new(d.path().to_path_buf()).unwrap();
        let n = Arc::new(Signal::default());
        s.watch(n.clone()).unwrap();
        assert!(matches!(s.changes()[..], [Change::Reset(_)]));
        std::fs::write(d.path().join("m.yaml"), "x: 1\n").unwrap();
        tokio::time::timeout(Duration::from_secs(10), n.notify.notified())
            .await
            .expect("a write is signalled");
        // Written and closed: the last event completes the file.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(n.complete.load(Ordering::SeqCst));
        // A hidden file (an editor's swap file) changes nothing.
        let _ = tokio::time::timeout(Duration::from_millis(50), n.notify.notified()).await;
        std::fs::write(d.path().join(".m.yaml.swp"), "x").unwrap();
        let swap = tokio::time::timeout(Duration::from_millis(300), n.notify.notified()).await;
        assert!(swap.is_err(), "a swap file is not a change");
        // The changes are read when asked: the file as it is now.
        assert_eq!(
            s.changes(),
            [Change::Upsert {
                key: "m.yaml".into(),
                text: "x: 1\n".into()
            }]
        );
        std::fs::remove_file(d.path().join("m.yaml")).unwrap();
        tokio::time::timeout(Duration::from_secs(10), n.notify.notified())
            .await
            .expect("a removal is signalled");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            s.changes(),
            [Change::Delete {
                key: "m.yaml".into()
            }]
        );
        // A new directory: the whole directory is read again.
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/a.yaml"), "a: 1\n").unwrap();
        tokio::time::timeout(Duration::from_secs(10), n.notify.notified())
            .await
            .expect("a new directory is signalled");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            s.changes(),
            [Change::Reset(vec![(
                "sub/a.yaml".into(),
                Entry::Text("a: 1\n".into())
            )])]
        );
        assert_eq!(s.changes(), []);
    }

    #[test]
    fn events_note_a_file_or_a_full_read() {
        use notify::event::{CreateKind, ModifyKind, RenameMode};
        use notify::{Event, EventKind as K};
        let dirs = [PathBuf::from("/c")];
        let noted = |kind: K, path: &str| {
            let mut p = Pending::default();
            note(
                &mut p,
                &Event::new(kind).add_path(PathBuf::from(path)),
                &dirs,
            );
            (p.rescan, p.paths.into_iter().collect::<Vec<_>>())
        };
        let file = K::Create(CreateKind::File);
        let to = K::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(
            noted(file, "/c/sub/m.yaml"),
            (false, vec![PathBuf::from("/c/sub/m.yaml")])
        );
        // A directory, the ConfigMap's link, a file in a hidden directory.
        assert_eq!(
            noted(K::Create(CreateKind::Folder), "/c/sub"),
            (true, vec![])
        );
        assert_eq!(noted(to, "/c/..data"), (true, vec![]));
        assert_eq!(noted(file, "/c/..2024_01/m.yaml"), (true, vec![]));
        // Not read at all.
        assert_eq!(noted(file, "/c/notes.txt"), (false, vec![]));
        let mut p = Pending::default();
        note(&mut p, &Event::new(K::Any), &dirs);
        assert!(p.rescan, "an event without paths");
    }

    #[test]
    fn file_events_are_told_apart() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode,
        };
        use notify::{Event, EventKind as K};
        let ev = |kind: K, paths: &[&str]| {
            paths
                .iter()
                .fold(Event::new(kind), |e, p| e.add_path(PathBuf::from(p)))
        };
        let closed = K::Access(AccessKind::Close(AccessMode::Write));
        let to = K::Modify(ModifyKind::Name(RenameMode::To));
        let both = K::Modify(ModifyKind::Name(RenameMode::Both));
        let data = K::Modify(ModifyKind::Data(DataChange::Any));
        let cases = [
            (ev(closed, &["/c/m.yaml"]), Some(true)),
            (ev(to, &["/c/m.json"]), Some(true)),
            (ev(both, &["/c/.m.tmp", "/c/m.yml"]), Some(true)),
            // kubectl's ConfigMap volume swaps its `..data` link.
            (ev(to, &["/c/..data"]), Some(true)),
            (ev(data, &["/c/m.yaml"]), Some(false)),
            (ev(K::Create(CreateKind::File), &["/c/m.yaml"]), Some(false)),
            (ev(K::Remove(RemoveKind::File), &["/c/m.yaml"]), Some(false)),
            // Renamed away (an editor's backup): the manifest is gone for now.
            (ev(both, &["/c/m.yaml", "/c/m.yaml~"]), Some(false)),
            (ev(closed, &["/c/sub"]), Some(false)),
            (ev(K::Any, &[]), Some(false)),
            // Nothing that is read.
            (ev(data, &["/c/.m.yaml.swp"]), None),
            (ev(closed, &["/c/notes.txt"]), None),
            (ev(K::Remove(RemoveKind::File), &["/c/m.yaml~"]), None),
            (
                ev(K::Access(AccessKind::Open(AccessMode::Any)), &["/c/m.yaml"]),
                None,
            ),
        ];
        for (e, want) in cases {
            assert_eq!(classify(&e), want, "{e:?}");
        }
    }
}
