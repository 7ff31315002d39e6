//! Leader election with a `coordination.k8s.io/v1` Lease: every replica of
//! the daemon serves xDS, and only the one holding the Lease writes status.
//!
//! The algorithm is client-go's `leaderelection` with a `LeaseLock`. Each
//! attempt reads the Lease, then:
//!
//! - absent: create it, held by this replica (`leaseTransitions` 0);
//! - held by this replica: renew it (`renewTime` now), replacing it at the
//!   `resourceVersion` it was read at;
//! - held by another replica whose record has not changed for its
//!   `leaseDurationSeconds`, or held by nobody (released): take it over
//!   (`leaseTransitions` + 1), at the `resourceVersion` it was read at;
//! - held by another replica that renewed it recently: follow.
//!
//! A `409 Conflict` on a write means another replica wrote the Lease since
//! it was read: this replica is not the leader, and reads it again at once.
//! Any other failure (API server unreachable, RBAC) is logged, one line per
//! attempt, and the attempt is repeated every [`LeaseConfig::retry_every`].
//! A leader renews every [`LeaseConfig::renew_every`]; a follower reads
//! every [`LeaseConfig::retry_every`].
//!
//! Decisions:
//! - Whether another replica's Lease has expired is measured with the local
//!   monotonic clock from when this replica *observed* its record change
//!   (as client-go does), never by comparing its `renewTime` with the local
//!   wall clock: nodes' wall clocks may disagree by more than a lease
//!   duration. A replica that starts and finds an abandoned Lease so waits
//!   one lease duration before taking it over. `renewTime` is still written,
//!   for people and for other implementations; its change is what the
//!   others observe.
//! - A leader that has not renewed for [`LeaseConfig::duration`], counted
//!   from when it *sent* its last successful write, says it is not the
//!   leader any more at that moment, even while a request is still in
//!   flight (every attempt is bounded by that deadline). Another replica
//!   observes that write after it was sent and waits at least
//!   `leaseDurationSeconds` (the duration rounded up to whole seconds) from
//!   then, so the old leader has stepped down before anyone takes over.
//! - On stop, a leader first says it is not the leader, then releases the
//!   Lease (no `holderIdentity`, `leaseDurationSeconds` 1, as client-go's
//!   `ReleaseOnCancel`), so another replica takes over at its next read
//!   instead of a lease duration later. The release is a write at the
//!   `resourceVersion` of its last write: if anything wrote the Lease since,
//!   it is not this replica's to release. A stop that comes while a write
//!   is in flight abandons it: whatever it wrote expires as if this
//!   replica had died.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

/// Which Lease to hold, as whom, and how often to talk to the API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The Lease's namespace (the daemon's own).
    pub namespace: String,
    /// The Lease's name, the same for every replica.
    pub name: String,
    /// This replica's name in `holderIdentity`, unique among the replicas
    /// (the pod name, or the hostname and the process id).
    pub identity: String,
    /// How long a Lease stays held without a renewal
    /// (`leaseDurationSeconds`, rounded up to whole seconds).
    pub duration: Duration,
    /// How often the leader renews.
    pub renew_every: Duration,
    /// How often a follower reads the Lease, and how soon a failed attempt
    /// is repeated.
    pub retry_every: Duration,
}

impl LeaseConfig {
    /// A Lease held for 15 s, renewed every 5 s, read (or retried) every
    /// 2 s.
    ///
    /// Decision: client-go's defaults (15 s lease, 2 s retry period), with a
    /// renewal every 5 s in place of its renew-until-10-s loop: a leader
    /// renews three times per lease duration, so two failed renewals in a
    /// row (each retried every 2 s) still leave it the leader, and a
    /// replica that dies is replaced 15 to 17 s after its last renewal.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        LeaseConfig {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            retry_every: Duration::from_secs(2),
        }
    }

    /// `leaseDurationSeconds`: the duration rounded up, at least 1.
    fn duration_seconds(&self) -> i32 {
        let secs = self.duration.as_secs() + u64::from(self.duration.subsec_nanos() > 0);
        i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
    }

    /// `namespace/name`, for the log.
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Runs the election until `stop` turns true (or its sender goes away);
/// `leader` says whether this replica holds the Lease now. On stop, a
/// holder sets `leader` to false, then releases the Lease (no
/// `holderIdentity`) so another replica takes over at once.
pub async fn elect(
    client: kube::Client,
    cfg: LeaseConfig,
    leader: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let mut e = Elector {
        api: Api::namespaced(client, &cfg.namespace),
        cfg,
        observed: None,
        held: None,
    };
    loop {
        // A leader must know it is one no longer by its deadline, whatever
        // the API server does; anyone else's attempt is bounded too.
        let limit = match &e.held {
            Some(h) => h.deadline,
            None => Instant::now() + e.cfg.duration,
        };
        let outcome = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            r = tokio::time::timeout_at(limit, e.attempt()) => r,
        };
        let next = match outcome {
            Ok(Ok(Outcome::Leader)) => {
                set(&leader, true, &e.cfg, "acquired the Lease");
                Instant::now() + e.cfg.renew_every
            }
            Ok(Ok(Outcome::Follower(holder))) => {
                e.held = None;
                set(
                    &leader,
                    false,
                    &e.cfg,
                    &format!("the Lease is held by {holder}"),
                );
                Instant::now() + e.cfg.retry_every
            }
            Ok(Ok(Outcome::Conflict)) => {
                e.held = None;
                set(&leader, false, &e.cfg, "another replica wrote the Lease");
                Instant::now()
            }
            Ok(Err(err)) => {
                tracing::warn!(
                    lease = %e.cfg.key(),
                    "leader election: {err}; retrying in {:?}",
                    e.cfg.retry_every
                );
                Instant::now() + e.cfg.retry_every
            }
            Err(_) => {
                tracing::warn!(
                    lease = %e.cfg.key(),
                    "leader election: no answer from the API server; retrying in {:?}",
                    e.cfg.retry_every
                );
                Instant::now() + e.cfg.retry_every
            }
        };
        let wake = match &e.held {
            Some(h) => next.min(h.deadline),
            None => next,
        };
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            () = tokio::time::sleep_until(wake) => {}
        }
        if e.held
            .as_ref()
            .is_some_and(|h| Instant::now() >= h.deadline)
        {
            e.held = None;
            set(
                &leader,
                false,
                &e.cfg,
                &format!("stepped down: no renewal for {:?}", e.cfg.duration),
            );
        }
    }
    set(&leader, false, &e.cfg, "stopping");
    if let Some(held) = e.held.take() {
        match tokio::time::timeout_at(held.deadline, e.release(held.lease)).await {
            Ok(Ok(())) => tracing::info!(lease = %e.cfg.key(), "released the Lease"),
            Ok(Err(err)) => {
                tracing::warn!(lease = %e.cfg.key(), "leader election: releasing the Lease: {err}");
            }
            Err(_) => tracing::warn!(
                lease = %e.cfg.key(),
                "leader election: releasing the Lease: no answer from the API server"
            ),
        }
    }
}

/// Says whether this replica is the leader, logging a change.
fn set(leader: &watch::Sender<bool>, now: bool, cfg: &LeaseConfig, why: &str) {
    let changed = leader.send_if_modified(|l| std::mem::replace(l, now) != now);
    if changed {
        let role = if now { "leader" } else { "not the leader" };
        tracing::info!(lease = %cfg.key(), identity = %cfg.identity, "{role}: {why}");
    }
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What one attempt found.
enum Outcome {
    /// This replica holds the Lease (created, renewed or taken over).
    Leader,
    /// Another replica (named) holds it and renewed it recently.
    Follower(String),
    /// A write met `409`: someone else wrote the Lease since it was read.
    Conflict,
}

/// The Lease this replica last wrote, and until when it is the leader.
struct Held {
    lease: Lease,
    deadline: Instant,
}

struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
    /// The record last read and when it was first seen as it is.
    observed: Option<(LeaseSpec, Instant)>,
    held: Option<Held>,
}

impl Elector {
    /// One round of client-go's `tryAcquireOrRenew`.
    async fn attempt(&mut self) -> kube::Result<Outcome> {
        let Some(current) = self.api.get_opt(&self.cfg.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(None, 0)),
            };
            let sent = Instant::now();
            return self.written(self.api.create(&PostParams::default(), &lease).await, sent);
        };
        let spec = current.spec.clone().unwrap_or_default();
        let now = Instant::now();
        let seen = match self.observed.take() {
            Some((old, at)) if old == spec => at,
            _ => now,
        };
        self.observed = Some((spec.clone(), seen));
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let new = match &holder {
            Some(h) if *h == self.cfg.identity => {
                let mut renewed = self.record(spec.acquire_time.clone(), 0);
                renewed.lease_transitions = spec.lease_transitions;
                renewed
            }
            Some(h) => {
                let secs = spec
                    .lease_duration_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .filter(|s| *s > 0);
                let lasts = secs.map_or(self.cfg.duration, Duration::from_secs);
                if now < seen + lasts {
                    return Ok(Outcome::Follower(h.clone()));
                }
                self.record(None, spec.lease_transitions.unwrap_or(0).saturating_add(1))
            }
            None => self.record(None, spec.lease_transitions.unwrap_or(0).saturating_add(1)),
        };
        let lease = Lease {
            metadata: current.metadata,
            spec: Some(LeaseSpec {
                preferred_holder: spec.preferred_holder,
                strategy: spec.strategy,
                ..new
            }),
        };
        let sent = Instant::now();
        let written = self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await;
        self.written(written, sent)
    }

    /// This replica's record: held by it, renewed now, acquired at
    /// `acquired` (now if `None`).
    fn record(&self, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(self.cfg.duration_seconds()),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// The outcome of a write sent at `sent`.
    fn written(&mut self, r: kube::Result<Lease>, sent: Instant) -> kube::Result<Outcome> {
        match r {
            Ok(lease) => {
                self.observed = lease.spec.clone().map(|s| (s, sent));
                self.held = Some(Held {
                    lease,
                    deadline: sent + self.cfg.duration,
                });
                Ok(Outcome::Leader)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Outcome::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up: no holder, expired in a second.
    async fn release(&self, mut lease: Lease) -> kube::Result<()> {
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(lease = %self.cfg.key(), "the Lease was written since: not released");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::mock::{Expect, MockApi, status};
    use serde_json::{Value, json};
    use tokio::task::JoinHandle;

    const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ns/leases";
    const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/emissary";

    /// An election under way against a mock API server.
    struct Run {
        api: MockApi,
        leader: watch::Receiver<bool>,
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
        t0: Instant,
    }

    impl Run {
        fn start() -> Run {
            let (client, api) = MockApi::new();
            let (leader_tx, leader) = watch::channel(false);
            let (stop, stop_rx) = watch::channel(false);
            let cfg = LeaseConfig::new("ns", "emissary", "me");
            let t0 = Instant::now();
            let task = tokio::spawn(elect(client, cfg, leader_tx, stop_rx));
            Run {
                api,
                leader,
                stop,
                task,
                t0,
            }
        }

        /// Time since the start.
        fn elapsed(&self) -> Duration {
            Instant::now() - self.t0
        }

        /// Whether the elector says it is the leader.
        fn is_leader(&self) -> bool {
            *self.leader.borrow()
        }

        /// Waits (a bounded while) until `leader` is `to`.
        async fn flips(&mut self, to: bool) {
            let wait = self.leader.wait_for(|l| *l == to);
            tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .expect("the leader flag flips")
                .expect("the election runs");
        }

        /// Creates the Lease (absent at first), at `resourceVersion` "1".
        async fn acquire(&mut self) {
            self.api
                .expect(Expect::get(LEASE).reply(404, not_found()))
                .expect(Expect::post(LEASES).reply_with(201, stored("1")));
            self.api.serve_all().await;
            self.flips(true).await;
        }

        /// Stops a follower: it writes nothing and returns.
        async fn stop_following(self) {
            self.stop.send_replace(true);
            self.task.await.expect("the election ends");
            self.api.done().await;
        }
    }

    fn not_found() -> Value {
        status(
            404,
            "NotFound",
            r#"leases.coordination.k8s.io "emissary" not found"#,
        )
    }

    fn lease(holder: Option<&str>, rv: &str, renewed: u32, transitions: i32) -> Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "emissary", "namespace": "ns", "resourceVersion": rv},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 15,
                "acquireTime": "2026-01-01T00:00:00.000000Z",
                "renewTime": format!("2026-01-01T00:{:02}:{:02}.000000Z", renewed / 60, renewed % 60),
                "leaseTransitions": transitions,
            },
        })
    }

    /// An API server's answer to a write: the object at a new version.
    fn stored(rv: &'static str) -> impl Fn(&Value) -> Value + Send + 'static {
        move |body| {
            let mut body = body.clone();
            body["metadata"]["resourceVersion"] = json!(rv);
            body
        }
    }

    #[tokio::test(start_paused = true)]
    async fn creates_the_lease_when_absent() {
        let mut r = Run::start();
        r.api
            .expect(Expect::get(LEASE).reply(404, not_found()))
            .expect(
                Expect::post(LEASES)
                    .body("named", |b| b["metadata"]["name"] == "emissary")
                    .body("held by me", |b| b["spec"]["holderIdentity"] == "me")
                    .body("for 15 s", |b| b["spec"]["leaseDurationSeconds"] == 15)
                    .body("no transition", |b| b["spec"]["leaseTransitions"] == 0)
                    .body("acquired and renewed now", |b| {
                        b["spec"]["acquireTime"].is_string()
                            && b["spec"]["acquireTime"] == b["spec"]["renewTime"]
                    })
                    .reply_with(201, stored("1")),
            );
        r.api.serve_all().await;
        r.flips(true).await;
        assert_eq!(r.elapsed(), Duration::ZERO);
        // The renewal reads it again, renew_every later.
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(Some("me"), "1", 0, 0)));
        r.api.serve_next().await;
        assert_eq!(r.elapsed(), Duration::from_secs(5));
        assert!(r.is_leader());
        r.api
            .expect(Expect::put(LEASE).reply_with(200, stored("2")));
        r.api.serve_next().await;
    }

    #[tokio::test(start_paused = true)]
    async fn renews_a_lease_it_holds() {
        let mut r = Run::start();
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(Some("me"), "7", 0, 2)))
            .expect(
                Expect::put(LEASE)
                    .body("at the version read", |b| {
                        b["metadata"]["resourceVersion"] == "7"
                    })
                    .body("held by me", |b| b["spec"]["holderIdentity"] == "me")
                    .body("acquired as before", |b| {
                        b["spec"]["acquireTime"] == "2026-01-01T00:00:00Z"
                            || b["spec"]["acquireTime"] == "2026-01-01T00:00:00.000000Z"
                    })
                    .body("renewed now", |b| {
                        b["spec"]["renewTime"] != b["spec"]["acquireTime"]
                    })
                    .body("transitions kept", |b| b["spec"]["leaseTransitions"] == 2)
                    .reply_with(200, stored("8")),
            );
        r.api.serve_all().await;
        r.flips(true).await;
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(Some("me"), "8", 5, 2)))
            .expect(
                Expect::put(LEASE)
                    .body("at the new version", |b| {
                        b["metadata"]["resourceVersion"] == "8"
                    })
                    .reply_with(200, stored("9")),
            );
        r.api.serve_all().await;
        assert_eq!(r.elapsed(), Duration::from_secs(5));
        assert!(r.is_leader());
    }

    #[tokio::test(start_paused = true)]
    async fn leaves_a_fresh_lease_alone() {
        let mut r = Run::start();
        // The other replica renews every 2 s: its record keeps changing,
        // so it never expires, however long this replica watches.
        for i in 0..20u32 {
            let rv = (100 + i).to_string();
            r.api
                .expect(Expect::get(LEASE).reply(200, lease(Some("other"), &rv, 2 * i, 0)));
            r.api.serve_next().await;
            assert_eq!(r.elapsed(), Duration::from_secs(2 * u64::from(i)));
            assert!(!r.is_leader());
        }
        r.stop_following().await;
    }

    #[tokio::test(start_paused = true)]
    async fn takes_over_an_expired_lease() {
        let mut r = Run::start();
        // The same record at every read: it expires one lease duration after
        // it was first seen, whatever its renewTime says.
        for _ in 0..9 {
            r.api
                .expect(Expect::get(LEASE).reply(200, lease(Some("other"), "5", 0, 3)));
            r.api.serve_next().await;
            assert!(!r.is_leader());
        }
        assert_eq!(r.elapsed(), Duration::from_secs(16));
        r.api.expect(
            Expect::put(LEASE)
                .body("at the version read", |b| {
                    b["metadata"]["resourceVersion"] == "5"
                })
                .body("held by me", |b| b["spec"]["holderIdentity"] == "me")
                .body("one more transition", |b| {
                    b["spec"]["leaseTransitions"] == 4
                })
                .body("acquired now", |b| {
                    b["spec"]["acquireTime"] == b["spec"]["renewTime"]
                })
                .reply_with(200, stored("6")),
        );
        r.api.serve_next().await;
        r.flips(true).await;
        assert_eq!(r.elapsed(), Duration::from_secs(16));
    }

    #[tokio::test(start_paused = true)]
    async fn takes_a_released_lease_at_once() {
        let mut r = Run::start();
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(None, "4", 0, 1)))
            .expect(
                Expect::put(LEASE)
                    .body("held by me", |b| b["spec"]["holderIdentity"] == "me")
                    .body("one more transition", |b| {
                        b["spec"]["leaseTransitions"] == 2
                    })
                    .reply_with(200, stored("5")),
            );
        r.api.serve_all().await;
        r.flips(true).await;
        assert_eq!(r.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn loses_the_lease_on_a_conflict() {
        let mut r = Run::start();
        r.acquire().await;
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(Some("me"), "1", 0, 0)))
            .expect(
                Expect::put(LEASE)
                    .reply(409, status(409, "Conflict", "the object has been modified")),
            );
        r.api.serve_all().await;
        r.flips(false).await;
        assert_eq!(r.elapsed(), Duration::from_secs(5));
        // It reads the Lease again at once, and follows its new holder.
        r.api
            .expect(Expect::get(LEASE).reply(200, lease(Some("other"), "2", 5, 1)))
            .expect(Expect::get(LEASE).reply(200, lease(Some("other"), "3", 7, 1)));
        r.api.serve_next().await;
        assert_eq!(r.elapsed(), Duration::from_secs(5));
        r.api.serve_next().await;
        assert_eq!(r.elapsed(), Duration::from_secs(7));
        assert!(!r.is_leader());
        r.stop_following().await;
    }

    #[tokio::test(start_paused = true)]
    async fn steps_down_when_renewals_fail_for_a_lease_duration() {
        let mut r = Run::start();
        r.acquire().await;
        // Renewals fail at 5, 7, 9, 11 and 13 s: still the leader, as no
        // one else could have taken over yet.
        for at in [5, 7, 9, 11, 13] {
            r.api.expect(Expect::get(LEASE).reply(
                503,
                status(503, "ServiceUnavailable", "etcd is unavailable"),
            ));
            r.api.serve_next().await;
            assert_eq!(r.elapsed(), Duration::from_secs(at));
            assert!(r.is_leader());
        }
        // 15 s after its last write was sent, it is not the leader any more,
        // before its next attempt.
        r.flips(false).await;
        assert_eq!(r.elapsed(), Duration::from_secs(15));
        r.api.expect(Expect::get(LEASE).reply(
            503,
            status(503, "ServiceUnavailable", "etcd is unavailable"),
        ));
        r.api.serve_next().await;
        assert_eq!(r.elapsed(), Duration::from_secs(15));
        r.stop_following().await;
    }

    #[tokio::test(start_paused = true)]
    async fn steps_down_when_the_api_server_does_not_answer() {
        let mut r = Run::start();
        r.acquire().await;
        let hanging = r.api.receive().await;
        assert_eq!(
            (hanging.method.as_str(), hanging.path.as_str()),
            ("GET", LEASE)
        );
        assert_eq!(r.elapsed(), Duration::from_secs(5));
        r.flips(false).await;
        assert_eq!(r.elapsed(), Duration::from_secs(15));
        // The attempt was abandoned; the next one follows at once.
        let next = r.api.receive().await;
        assert_eq!(next.method, http::Method::GET);
        assert_eq!(r.elapsed(), Duration::from_secs(15));
        r.stop_following().await;
        drop((hanging, next));
    }

    #[tokio::test(start_paused = true)]
    async fn releases_the_lease_on_stop() {
        let mut r = Run::start();
        r.acquire().await;
        r.stop.send_replace(true);
        let leader = r.leader.clone();
        r.api.expect(
            Expect::put(LEASE)
                .body("after saying it is not the leader", move |_| {
                    !*leader.borrow()
                })
                .body("at the version written", |b| {
                    b["metadata"]["resourceVersion"] == "1"
                })
                .body("held by nobody", |b| b["spec"]["holderIdentity"].is_null())
                .body("expired in a second", |b| {
                    b["spec"]["leaseDurationSeconds"] == 1
                })
                .body("transitions kept", |b| b["spec"]["leaseTransitions"] == 0)
                .reply_with(200, stored("2")),
        );
        r.api.serve_next().await;
        assert_eq!(r.elapsed(), Duration::ZERO);
        r.task.await.expect("the election ends");
        assert!(!*r.leader.borrow());
        r.api.done().await;
    }
}
