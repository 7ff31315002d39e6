//! Where manifests come from. A [`Source`] reports that something changed
//! and, when asked, reads its current content as text; the daemon debounces
//! the change signals of all sources and translates what they read together.
//!
//! Two sources today: [`DirSource`] (a directory watched with `notify`) and
//! [`EmbeddedSource`] (the quickstart example compiled into the binary, for a
//! first run without any configuration). The Kubernetes watch will be a third.

use anyhow::{Context as _, Result};
use emissary_core::SourceFile;
use notify::Watcher as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

/// A feed of manifests.
pub(crate) trait Source: Send {
    /// A short name for logs (`dir:/etc/emissary`).
    fn name(&self) -> String;
    /// Starts watching: `changed.notify_one()` is called after every change.
    fn watch(&mut self, changed: Arc<Notify>) -> Result<()>;
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

    fn watch(&mut self, changed: Arc<Notify>) -> Result<()> {
        let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            match ev {
                // Reads do not change anything.
                Ok(e) if matches!(e.kind, notify::EventKind::Access(_)) => {}
                Ok(_) => changed.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, "file watch error; re-reading");
                    changed.notify_one()
                }
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

    fn watch(&mut self, changed: Arc<Notify>) -> Result<()> {
        changed.notify_one();
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
/// Longest wait under constant churn.
pub(crate) const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Waits for a change, then for the burst it starts to end: returns once
/// `quiet` passed without another change, or `max` after the first one.
#[cfg(test)]
pub(crate) async fn debounce(changed: &Notify, quiet: Duration, max: Duration) {
    settle(changed, quiet, max, || ()).await;
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
    changed: &Notify,
    quiet: Duration,
    max: Duration,
    mut prepare: impl FnMut() -> P,
) -> P {
    changed.notified().await;
    let first = Instant::now();
    let mut last = first;
    loop {
        let prepared = prepare();
        let mut again = false;
        loop {
            let deadline = (last + quiet).min(first + max);
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

    #[tokio::test(start_paused = true)]
    async fn debounce_waits_for_quiet() {
        let n = Arc::new(Notify::new());
        let t0 = Instant::now();
        n.notify_one();
        let n2 = n.clone();
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                n2.notify_one();
            }
        });
        debounce(&n, DEBOUNCE_QUIET, DEBOUNCE_MAX).await;
        // Last change at 150 ms, then 100 ms of quiet.
        assert_eq!(t0.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_is_capped_under_churn() {
        let n = Arc::new(Notify::new());
        let t0 = Instant::now();
        n.notify_one();
        let n2 = n.clone();
        let churn = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(30)).await;
                n2.notify_one();
            }
        });
        debounce(&n, DEBOUNCE_QUIET, DEBOUNCE_MAX).await;
        churn.abort();
        assert_eq!(t0.elapsed(), DEBOUNCE_MAX);
    }

    /// Runs `settle` with a `prepare` that counts its calls and returns
    /// the time it was called at; `changes` are the times of the changes.
    async fn settle_with(changes: Vec<u64>) -> (Duration, u32, Duration) {
        let n = Arc::new(Notify::new());
        let t0 = Instant::now();
        let n2 = n.clone();
        let feed = tokio::spawn(async move {
            for ms in changes {
                tokio::time::sleep_until(t0 + Duration::from_millis(ms)).await;
                n2.notify_one();
            }
        });
        let mut calls = 0;
        let read_at = settle(&n, DEBOUNCE_QUIET, DEBOUNCE_MAX, || {
            calls += 1;
            t0.elapsed()
        })
        .await;
        feed.abort();
        (t0.elapsed(), calls, read_at)
    }

    #[tokio::test(start_paused = true)]
    async fn settle_prepares_during_the_quiet_time() {
        let (done, calls, read_at) = settle_with(vec![0]).await;
        assert_eq!((done, calls, read_at), (ms(100), 1, ms(0)));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_starts_over_after_a_change_and_returns_the_last_prepare() {
        // Changes at 0, 50 and 120: prepared at 0; the quiet time ends at
        // 220, and since changes came, prepared again then and returned
        // (the quiet time is over: no second wait).
        let (done, calls, read_at) = settle_with(vec![0, 50, 120]).await;
        assert_eq!((done, calls, read_at), (ms(220), 2, ms(220)));
    }

    #[tokio::test(start_paused = true)]
    async fn settle_is_capped_under_churn() {
        let churn = (0..60).map(|i| 30 * i).collect();
        let (done, calls, read_at) = settle_with(churn).await;
        // Prepared at the start, then once more at the cap, and that one
        // is returned.
        assert_eq!((done, calls, read_at), (DEBOUNCE_MAX, 2, DEBOUNCE_MAX));
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
        let n = Arc::new(Notify::new());
        s.watch(n.clone()).unwrap();
        std::fs::write(d.path().join("m.yaml"), "x: 1\n").unwrap();
        tokio::time::timeout(Duration::from_secs(10), n.notified())
            .await
            .expect("a write is signalled");
    }
}
