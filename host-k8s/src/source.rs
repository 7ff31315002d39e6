//! Where manifests come from. A [`Source`] reports that something changed
//! and, when asked, reads its current content as text; the daemon debounces
//! the change signals of all sources and translates what they read together.
//!
//! Two sources today: [`DirSource`] (a directory watched with `notify`) and
//! [`EmbeddedSource`] (the quickstart example compiled into the binary, for a
//! first run without any configuration). The Kubernetes watch will be a third.
//!
//! The debounce ([`settle`]) waits for [`DEBOUNCE_QUIET`] without a change.
//! A change that is known to complete a file (its writer closed it after
//! writing, or it was renamed into place, as `kubectl`'s ConfigMap volumes
//! and careful writers do) needs only [`DEBOUNCE_QUIET_COMPLETE`]: there is
//! no rest of the write to wait for, only other files of the same update,
//! which follow within microseconds. Any other change (a file created,
//! truncated, written to, removed, renamed away) sets the quiet time back
//! to the full one, so a save in several steps is read once it is done.

use anyhow::{Context as _, Result};
use emissary_core::SourceFile;
use notify::Watcher as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a source holds right now.
#[derive(Debug, Default)]
pub(crate) struct Content {
    /// Every readable input, in a stable order.
    pub(crate) files: Vec<SourceFile>,
    /// Inputs that exist but could not be read (IO error, not UTF-8), with why.
    pub(crate) unreadable: Vec<String>,
}

/// Change signals of the sources, for the debounce.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    notify: Notify,
    /// The last change completed a file.
    complete: AtomicBool,
}

impl Changes {
    /// Something changed; `complete` when the change completes a file
    /// (see the module docs).
    pub(crate) fn signal(&self, complete: bool) {
        self.complete.store(complete, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// The quiet time after the last change.
    fn quiet(&self, quiet: Quiet) -> Duration {
        if self.complete.load(Ordering::SeqCst) {
            quiet.after_complete
        } else {
            quiet.after_other
        }
    }
}

/// Quiet times of the debounce.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quiet {
    /// After a change that completes a file.
    pub(crate) after_complete: Duration,
    /// After any other change.
    pub(crate) after_other: Duration,
}

/// The daemon's quiet times.
pub(crate) const QUIET: Quiet = Quiet {
    after_complete: DEBOUNCE_QUIET_COMPLETE,
    after_other: DEBOUNCE_QUIET,
};

/// A feed of manifests.
pub(crate) trait Source: Send {
    /// A short name for logs (`dir:/etc/emissary`).
    fn name(&self) -> String;
    /// Starts watching: `changes.signal(..)` is called after every change.
    fn watch(&mut self, changes: Arc<Changes>) -> Result<()>;
    /// Reads the current content. Never fails as a whole: problems with single
    /// inputs go to [`Content::unreadable`].
    fn read(&self) -> Content;
}

/// A directory of manifests (`*.yaml`, `*.yml`, `*.json`, recursively, in
/// sorted order), watched for changes.
pub(crate) struct DirSource {
    dir: PathBuf,
    watcher: Option<notify::RecommendedWatcher>,
}

impl DirSource {
    pub(crate) fn new(dir: PathBuf) -> Result<Self> {
        anyhow::ensure!(
            dir.is_dir(),
            "config directory {} does not exist",
            dir.display()
        );
        Ok(DirSource { dir, watcher: None })
    }
}

impl Source for DirSource {
    fn name(&self) -> String {
        format!("dir:{}", self.dir.display())
    }

    fn watch(&mut self, changes: Arc<Changes>) -> Result<()> {
        let mut w =
            notify::recommended_watcher(move |ev: notify::Result<notify::Event>| match ev {
                Ok(e) => {
                    if let Some(complete) = classify(&e) {
                        changes.signal(complete);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "file watch error; re-reading");
                    changes.signal(false)
                }
            })
            .context("starting the file watcher")?;
        w.watch(&self.dir, notify::RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", self.dir.display()))?;
        self.watcher = Some(w);
        Ok(())
    }

    fn read(&self) -> Content {
        let mut paths = Vec::new();
        let mut content = Content::default();
        if let Err(e) = walk(&self.dir, &mut paths) {
            content.unreadable.push(format!("{e:#}"));
        }
        paths.sort();
        for p in paths {
            match read_file(&p) {
                Ok(f) => content.files.push(f),
                Err(e) => content.unreadable.push(format!("{e:#}")),
            }
        }
        content
    }
}

/// What a file event means for the debounce: `None` when it changes no
/// input (reads; hidden files, such as editor swap files, and files that
/// are not manifests), else whether it completes a manifest (see the
/// module docs). An event that names no path changes something unknown.
pub(crate) fn classify(e: &notify::Event) -> Option<bool> {
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

/// The quickstart example, compiled in: what `serve` runs without a config directory.
pub(crate) struct EmbeddedSource;

/// The files of `examples/quickstart`.
pub(crate) const EMBEDDED: [(&str, &str); 3] = [
    (
        "<embedded>/hosts.yaml",
        include_str!("../../examples/quickstart/hosts.yaml"),
    ),
    (
        "<embedded>/listeners.yaml",
        include_str!("../../examples/quickstart/listeners.yaml"),
    ),
    (
        "<embedded>/mappings.yaml",
        include_str!("../../examples/quickstart/mappings.yaml"),
    ),
];

impl Source for EmbeddedSource {
    fn name(&self) -> String {
        "embedded quickstart example".into()
    }

    fn watch(&mut self, changes: Arc<Changes>) -> Result<()> {
        changes.signal(true);
        Ok(())
    }

    fn read(&self) -> Content {
        Content {
            files: EMBEDDED
                .iter()
                .map(|(name, text)| SourceFile {
                    name: (*name).into(),
                    text: (*text).into(),
                })
                .collect(),
            unreadable: Vec::new(),
        }
    }
}

/// Reads one file as UTF-8 text.
pub(crate) fn read_file(p: &Path) -> Result<SourceFile> {
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
pub(crate) fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
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

/// Quiet time that ends a burst of changes.
pub(crate) const DEBOUNCE_QUIET: Duration = Duration::from_millis(100);
/// Quiet time after a change that completes a file.
pub(crate) const DEBOUNCE_QUIET_COMPLETE: Duration = Duration::from_millis(10);
/// Longest wait under constant churn.
pub(crate) const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Waits for a change, then for the burst it starts to end: returns once
/// `quiet` passed without another change, or `max` after the first one.
#[cfg(test)]
pub(crate) async fn debounce(changes: &Changes, quiet: Quiet, max: Duration) {
    settle(changes, quiet, max, || ()).await;
}

/// [`debounce`], working while it waits: after the first change of a burst
/// it calls `prepare` at once (the translator reads and translates there),
/// then waits for the quiet time. When that passes with no further change,
/// what `prepare` returned is the state the burst ended in, and `settle`
/// returns it; a change meanwhile means `prepare` is called again, after the
/// wait, to start over. At `max` after the first change (constant churn),
/// `prepare` is called once more and its result returned without waiting,
/// as the plain debounce would read whatever is there then.
///
/// So the result is what a read after the plain debounce would give, but
/// the work of preparing it overlaps the wait instead of following it.
/// Changes are only signals: one that lands while `prepare` runs is seen
/// afterwards and counts as a change after it (the read may or may not have
/// seen it; starting over is the safe side).
pub(crate) async fn settle<P>(
    changes: &Changes,
    quiet: Quiet,
    max: Duration,
    mut prepare: impl FnMut() -> P,
) -> P {
    let changed = &changes.notify;
    changed.notified().await;
    let first = Instant::now();
    let mut last = first;
    loop {
        let prepared = prepare();
        let mut again = false;
        loop {
            let deadline = (last + changes.quiet(quiet)).min(first + max);
            tokio::select! {
                biased;
                _ = changed.notified() => {
                    again = true;
                    last = Instant::now();
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        if !again {
            return prepared;
        }
        if Instant::now() >= first + max {
            return prepare();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Quiet = Quiet {
        after_complete: DEBOUNCE_QUIET,
        after_other: DEBOUNCE_QUIET,
    };

    #[tokio::test(start_paused = true)]
    async fn debounce_waits_for_quiet() {
        let n = Arc::new(Changes::default());
        let t0 = Instant::now();
        n.signal(false);
        let n2 = n.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                n2.signal(false);
            }
        });
        debounce(&n, QUIET, DEBOUNCE_MAX).await;
        // Last change at 150 ms, then 100 ms of quiet.
        assert_eq!(t0.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_is_capped_under_churn() {
        let n = Arc::new(Changes::default());
        let t0 = Instant::now();
        n.signal(false);
        let n2 = n.clone();
        let churn = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(30)).await;
                n2.signal(false);
            }
        });
        debounce(&n, QUIET, DEBOUNCE_MAX).await;
        churn.abort();
        assert_eq!(t0.elapsed(), DEBOUNCE_MAX);
    }

    /// Runs `settle` with a `prepare` that counts its calls and returns
    /// the time it was called at; `changes` are the times of the changes
    /// and whether each completes a file.
    async fn settle_with(quiet: Quiet, changes: Vec<(u64, bool)>) -> (Duration, u32, Duration) {
        let n = Arc::new(Changes::default());
        let t0 = Instant::now();
        let n2 = n.clone();
        let feed = tokio::spawn(async move {
            for (ms, complete) in changes {
                tokio::time::sleep_until(t0 + Duration::from_millis(ms)).await;
                n2.signal(complete);
            }
        });
        let mut calls = 0;
        let read_at = settle(&n, quiet, DEBOUNCE_MAX, || {
            calls += 1;
            t0.elapsed()
        })
        .await;
        feed.abort();
        (t0.elapsed(), calls, read_at)
    }

    #[tokio::test(start_paused = true)]
    async fn settle_prepares_during_the_quiet_time() {
        let (done, calls, read_at) = settle_with(FULL, vec![(0, false)]).await;
        assert_eq!((done, calls, read_at), (ms(100), 1, ms(0)));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_starts_over_after_a_change_and_returns_the_last_prepare() {
        // Changes at 0, 50 and 120: prepared at 0; the quiet time ends at
        // 220, and since changes came, prepared again then and returned
        // (the quiet time is over: no second wait).
        let (done, calls, read_at) =
            settle_with(FULL, vec![(0, false), (50, false), (120, false)]).await;
        assert_eq!((done, calls, read_at), (ms(220), 2, ms(220)));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_is_capped_under_churn() {
        let churn = (0..60).map(|i| (30 * i, false)).collect();
        let (done, calls, read_at) = settle_with(FULL, churn).await;
        // Prepared at the start, then once more at the cap, and that one
        // is returned.
        assert_eq!((done, calls, read_at), (DEBOUNCE_MAX, 2, DEBOUNCE_MAX));
    }

    #[tokio::test(start_paused = true)]
    async fn a_completed_file_ends_the_quiet_time_early() {
        // A file written in place: truncated, written, closed.
        let (done, calls, _) = settle_with(QUIET, vec![(0, false), (1, false), (2, true)]).await;
        assert_eq!((done, calls), (ms(2) + DEBOUNCE_QUIET_COMPLETE, 2));
        // Renamed into place.
        let (done, calls, _) = settle_with(QUIET, vec![(0, true)]).await;
        assert_eq!((done, calls), (DEBOUNCE_QUIET_COMPLETE, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_after_a_completed_file_needs_the_full_quiet_time() {
        // One file closed, then another created (and not yet written).
        let (done, _, _) = settle_with(QUIET, vec![(0, true), (5, false)]).await;
        assert_eq!(done, ms(5) + DEBOUNCE_QUIET);
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

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
        let c = DirSource::new(d.path().to_path_buf()).unwrap().read();
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
        let n = Arc::new(Changes::default());
        s.watch(n.clone()).unwrap();
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
