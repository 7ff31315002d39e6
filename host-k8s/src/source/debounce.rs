//! The debounce of source changes: [`settle`] waits for a burst of changes
//! to end (a quiet time without any), and prepares the translation while it
//! waits.
//!
//! Decision: a change that is known to complete a file (its writer closed
//! it after writing, or it was renamed into place, as `kubectl`'s ConfigMap
//! volumes and careful writers do) needs only [`DEBOUNCE_QUIET_COMPLETE`]
//! (10 ms) of quiet: there is no rest of the write to wait for, only other
//! files of the same update, which follow within microseconds. Any other
//! change (a file created, truncated, written to, removed, renamed away)
//! sets the quiet time back to [`DEBOUNCE_QUIET`] (100 ms), so a save in
//! several steps is read once it is done. Under constant churn the wait is
//! capped at [`DEBOUNCE_MAX`] (1 s).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The change signal of a source, for the debounce: a source calls
/// [`Signal::signal`] after each change it sees; [`settle`] waits on it.
#[derive(Debug, Default)]
pub struct Signal {
    pub(super) notify: Notify,
    /// The last change completed a file.
    pub(super) complete: AtomicBool,
}

impl Signal {
    /// Something changed; `complete` when the change completes a file
    /// (see the module docs).
    pub fn signal(&self, complete: bool) {
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
pub struct Quiet {
    /// After a change that completes a file.
    pub after_complete: Duration,
    /// After any other change.
    pub after_other: Duration,
}

/// The daemon's quiet times.
pub const QUIET: Quiet = Quiet {
    after_complete: DEBOUNCE_QUIET_COMPLETE,
    after_other: DEBOUNCE_QUIET,
};

/// Quiet time that ends a burst of changes.
pub const DEBOUNCE_QUIET: Duration = Duration::from_millis(100);
/// Quiet time after a change that completes a file.
pub const DEBOUNCE_QUIET_COMPLETE: Duration = Duration::from_millis(10);
/// Longest wait under constant churn.
pub const DEBOUNCE_MAX: Duration = Duration::from_secs(1);

/// Waits for a change, then for the burst it starts to end: returns once
/// `quiet` passed without another change, or `max` after the first one.
#[cfg(test)]
pub async fn debounce(changes: &Signal, quiet: Quiet, max: Duration) {
    settle(changes, quiet, max, || ()).await;
}

/// The debounce, working while it waits: after the first change of a burst
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
pub async fn settle<P>(
    changes: &Signal,
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
    use std::sync::Arc;

    const FULL: Quiet = Quiet {
        after_complete: DEBOUNCE_QUIET,
        after_other: DEBOUNCE_QUIET,
    };

    #[tokio::test(start_paused = true)]
    async fn debounce_waits_for_quiet() {
        let n = Arc::new(Signal::default());
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
        let n = Arc::new(Signal::default());
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
        let n = Arc::new(Signal::default());
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
        // Signal at 0, 50 and 120: prepared at 0; the quiet time ends at
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
}
