//! The pipeline: turns a consistent read of the sources into a published
//! snapshot. [`Pipeline::prepare`] applies the sources' changes to its
//! [`Store`], translates what it holds (with a [`emissary_core::Translator`]
//! it keeps, so only changed documents are parsed again), applies the
//! last-good rule ([`judge`]) and builds the [`Snapshot`] with the next
//! version (core's incremental [`emissary_core::xds::Encoder`], which it
//! keeps, shares what is unchanged with the snapshot before; this process's
//! threads do the encoding through [`crate::snapshot::Threads`]); [`Pipeline::commit`] then publishes it on a
//! `watch` channel, or says why not, and records the attempt in a
//! [`Report`].
//!
//! The two steps are apart because preparing overlaps the debounce
//! ([`crate::source::debounce::settle`]): only a prepared result that no
//! later change could have touched is committed; the others are dropped,
//! and dropping one changes nothing but the caches.
//!
//! Versions count 1, 2, … per pipeline. Identical inputs (same names,
//! texts and options) are not translated again, and a translation whose
//! resources hash the same as the served snapshot's keeps its version.

use emissary_core::diag::Severity;
use emissary_core::{Inputs, Options, Translation};
use serde::Serialize;
use std::collections::BTreeMap;
use std::hash::{Hash as _, Hasher as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

use crate::snapshot::{Snapshot, Threads};
use crate::source::{Change, Store};
use emissary_core::xds::Encoder;

/// The report, shared with whoever shows it.
pub type ReportCell = Arc<Mutex<Report>>;

/// What `/debug/diagnostics` shows: the latest translation attempt and what is served.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Version of the snapshot being served, if any.
    pub serving_version: Option<u64>,
    /// The latest attempt, whatever its outcome.
    pub last: Option<Attempt>,
}

/// One translation attempt, as committed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Attempt {
    /// `published`, `unchanged`, `rejected` or `refetching`.
    pub outcome: &'static str,
    /// Why the input was not used (only when rejected or refetching).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When reading started.
    pub unix_ms: u64,
    /// How long reading, translating and building the snapshot took.
    pub duration_ms: f64,
    /// When the outcome took effect (the snapshot was published): after
    /// `duration_ms`, or later when the source had not been quiet for the
    /// debounce time yet.
    pub committed_unix_ms: u64,
    /// Where `duration_ms` went, in order: `read` (the source), `translate`
    /// (parse, load, lower), `diagnostics` (counting and rendering them),
    /// `snapshot` (Envoy resources built, encoded and hashed). A phase not
    /// reached is absent.
    pub phases_ms: Vec<(&'static str, f64)>,
    /// Documents (with their `---` line) unchanged since the translation
    /// before, and so not parsed again.
    pub reused_segments: usize,
    /// Clusters unchanged since the snapshot built before, and so shared
    /// with it rather than encoded again.
    pub reused_clusters: usize,
    pub files: usize,
    pub unreadable: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
    pub diagnostics: Vec<emissary_core::diag::Diagnostic>,
    /// The same diagnostics placed for an editor: file name, 1-based line
    /// and UTF-16 column (what the web page's problems list shows).
    pub located: Vec<emissary_core::api::LocatedDiagnostic>,
    /// The diagnostics rendered with file positions and code frames.
    pub rendered: String,
    /// Secrets held with their data, and Secrets whose data is withheld
    /// because the configuration does not refer to them (only for a source
    /// whose Secrets are narrowed, see [`Pipeline::narrow_secrets`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretsHeld>,
}

/// How many Secrets the store holds with their data, and without.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SecretsHeld {
    pub held: usize,
    pub withheld: usize,
}

/// The Secret (`namespace`, `name`) an input is, when its data may be
/// withheld (see [`Pipeline::narrow_secrets`]).
pub type SecretOf = fn(&crate::source::Key) -> Option<(String, String)>;

/// Why an input is not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Use,
    Reject(String),
}

/// The rule for unusable input; the last good snapshot keeps serving when
/// any of these holds:
/// - a file could not be read (IO error, not UTF-8);
/// - a file does not parse as YAML/JSON (any `yaml-*` error: syntax, too
///   deep, too large, too many documents, recursive aliases) — a file saved
///   half-way looks like this, and a partial parse could drop objects;
/// - the translation has no listeners while the served snapshot has some —
///   an emptied or truncated file looks like this, and serving it would take
///   every route down at once.
///
/// Anything else is served: objects with errors are left out of it (and
/// reported), all others are translated.
pub fn judge(unreadable: &[String], t: &Translation, served_listeners: usize) -> Verdict {
    if let Some(u) = unreadable.first() {
        return Verdict::Reject(format!("unreadable input: {u}"));
    }
    if let Some(d) = t
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error && d.code.starts_with("yaml-"))
    {
        let file = d.span.map(|s| t.sources.name(s.file)).unwrap_or("<input>");
        return Verdict::Reject(format!("{file} does not parse ({})", d.code));
    }
    if t.ir.listeners.is_empty() && served_listeners > 0 {
        return Verdict::Reject(format!(
            "no listeners (the snapshot being served has {served_listeners}); \
             a file is probably being written"
        ));
    }
    Verdict::Use
}

/// What the pipeline remembers between runs, and where it publishes.
pub struct Pipeline {
    options: Options,
    store: Store,
    version: u64,
    /// Hash of the inputs of the snapshot being served.
    input_hash: Option<u64>,
    /// Listener count of the snapshot being served.
    listeners: usize,
    /// Remembers parsed documents: only changed ones are parsed again.
    core: emissary_core::Translator,
    /// Remembers encoded clusters: only changed ones are encoded again.
    encoder: Encoder,
    snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    report: ReportCell,
    /// Where each published translation's per-object statuses go, and which
    /// inputs are objects that get one.
    statuses: Option<(watch::Sender<Option<Arc<Statuses>>>, ObjectOf)>,
    /// Which inputs are Secrets whose data is withheld unless referenced.
    secret_of: Option<SecretOf>,
    /// Withheld Secrets already asked for again (each is asked once per
    /// withholding: the bound on holding back a translation).
    asked: std::collections::BTreeSet<crate::source::Key>,
}

/// What the translation of a published snapshot says about each object
/// (see [`emissary_core::status`]), for the status writer.
#[derive(Debug, Clone)]
pub struct Statuses {
    /// The version of the snapshot they came with.
    pub version: u64,
    /// One per object, in input order.
    pub objects: Vec<emissary_core::status::ObjectStatus>,
}

/// The object an input is, when it is one that gets a status.
pub type ObjectOf = fn(&crate::source::Key) -> Option<emissary_core::diag::ObjectRef>;

/// What [`Pipeline::commit`] did, for metrics.
#[derive(Debug, Clone)]
pub struct Committed {
    /// `published`, `unchanged`, `rejected` or `refetching`.
    pub outcome: &'static str,
    /// Reading to snapshot; not the wait for the sources to settle.
    pub took: Duration,
    /// Diagnostics per severity and input bytes, when translated.
    pub diagnostics: Option<(BTreeMap<&'static str, u64>, usize)>,
    /// Inputs to ask the source for again ([`crate::source::Source::refetch`]):
    /// Secrets the translation refers to whose data was withheld.
    pub refetch: Vec<crate::source::Key>,
}

/// A translation made while the source may still be changing: what
/// [`Pipeline::commit`] serves (or reports) once the source is known to
/// have settled with the content it was read from.
pub struct Prepared {
    attempt: Attempt,
    /// Diagnostics per severity and input bytes, when translated.
    counts: Option<(BTreeMap<&'static str, u64>, usize)>,
    outcome: Outcome,
}

enum Outcome {
    /// The same inputs as the snapshot being served.
    Unchanged,
    /// Not used: the last good snapshot keeps serving.
    Rejected(String),
    /// Not used yet: it refers to Secrets whose data was withheld, which
    /// are to be fetched again first.
    Refetch(Vec<crate::source::Key>),
    /// To be served.
    Use {
        snapshot: Arc<Snapshot>,
        listeners: usize,
        input_hash: u64,
        statuses: Option<Vec<emissary_core::status::ObjectStatus>>,
    },
}

impl Pipeline {
    /// A pipeline with nothing published, whose inputs are named `root/key`
    /// (see [`Store::new`]).
    pub fn new(options: Options, root: impl Into<String>) -> Pipeline {
        Pipeline {
            options,
            store: Store::new(root),
            version: 0,
            input_hash: None,
            listeners: 0,
            core: emissary_core::Translator::default(),
            encoder: Encoder::default(),
            snapshots: watch::channel(None).0,
            report: ReportCell::default(),
            statuses: None,
            secret_of: None,
            asked: Default::default(),
        }
    }

    /// From now on, the store keeps the data only of the Secrets (the
    /// inputs `secret_of` names) that the latest translation refers to
    /// ([`emissary_core::Translation::referenced_secrets`]); the others
    /// keep their identity, type and data key names ([`Store::withhold`]).
    /// A translation that refers to a withheld Secret is not served: its
    /// commit asks for the Secret again ([`Committed::refetch`]), and the
    /// translation after the source delivered it is. Each withheld Secret
    /// is asked for once: when a translation refers to Secrets all of
    /// which were asked for already, it is served as it is (core reports
    /// the Secret as lacking its certificate).
    pub fn narrow_secrets(&mut self, secret_of: SecretOf) {
        self.secret_of = Some(secret_of);
    }

    /// The Secrets held with data and without.
    pub fn secrets_held(&self) -> SecretsHeld {
        let mut h = SecretsHeld::default();
        if let Some(secret_of) = self.secret_of {
            for k in self.store.keys().filter(|k| secret_of(k).is_some()) {
                if self.store.is_withheld(k) {
                    h.withheld += 1;
                } else {
                    h.held += 1;
                }
            }
        }
        h
    }

    /// Withholds the data of the Secrets `t` does not refer to; returns the
    /// withheld Secrets it refers to that were not asked for yet.
    fn narrow(&mut self, t: &Translation) -> Vec<crate::source::Key> {
        let Some(secret_of) = self.secret_of else {
            return Vec::new();
        };
        let refs = t.referenced_secrets();
        let (mut wanted, mut unreferenced) = (Vec::new(), Vec::new());
        for k in self.store.keys() {
            match secret_of(k) {
                Some(id) if refs.contains(&id) && self.store.is_withheld(k) => {
                    wanted.push(k.clone());
                }
                Some(id) if refs.contains(&id) => {}
                Some(_) => unreferenced.push(k.clone()),
                None => {}
            }
        }
        for k in &unreferenced {
            self.store.withhold(k);
        }
        let store = &self.store;
        self.asked.retain(|k| store.is_withheld(k));
        wanted.retain(|k| !self.asked.contains(k));
        self.asked.extend(wanted.iter().cloned());
        wanted
    }

    /// From now on, each published translation also gives the statuses of
    /// the inputs that `object_of` names as objects; returns where they go.
    pub fn statuses(&mut self, object_of: ObjectOf) -> watch::Receiver<Option<Arc<Statuses>>> {
        let (tx, rx) = watch::channel(None);
        self.statuses = Some((tx, object_of));
        rx
    }

    /// The published snapshots: the latest, `None` until the first good
    /// input (what the ADS server serves and the admin endpoint shows).
    pub fn snapshots(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.snapshots.subscribe()
    }

    /// The report of the latest committed attempt.
    pub fn report(&self) -> ReportCell {
        self.report.clone()
    }

    /// The version of the snapshot being served (0 before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Reads (`read` gives the sources' changes since the last call),
    /// translates and judges; builds the snapshot to serve, if any.
    /// Nothing is served, logged or recorded yet (the content may be
    /// superseded before [`Pipeline::commit`]); only the store and the
    /// caches learn.
    pub fn prepare(&mut self, read: impl FnOnce() -> Vec<Change>) -> Prepared {
        let started = Instant::now();
        let mut lap = started;
        let mut phase = |attempt: &mut Attempt, name: &'static str| {
            let now = Instant::now();
            attempt
                .phases_ms
                .push((name, (now - lap).as_secs_f64() * 1e3));
            lap = now;
        };
        for change in read() {
            self.store.apply(change);
        }
        let content = self.store.content();
        let input_bytes: usize = content.files.iter().map(|f| f.text.len()).sum();
        let hash = input_hash(self.store.fingerprint(), &self.options);
        let mut attempt = Attempt {
            unix_ms: unix_ms(),
            files: content.files.len(),
            unreadable: content.unreadable.clone(),
            ..Default::default()
        };
        phase(&mut attempt, "read");
        let done = |mut attempt: Attempt, counts, outcome| {
            attempt.duration_ms = started.elapsed().as_secs_f64() * 1e3;
            Prepared {
                attempt,
                counts,
                outcome,
            }
        };
        if content.unreadable.is_empty() && self.input_hash == Some(hash) {
            return done(attempt, None, Outcome::Unchanged);
        }
        let inputs = Inputs {
            files: content.files,
            options: self.options.clone(),
        };
        let t = self.core.translate(&inputs);
        drop(inputs);
        phase(&mut attempt, "translate");
        attempt.reused_segments = self.core.reused_segments();
        let mut counts = BTreeMap::new();
        for d in &t.diagnostics {
            *counts.entry(d.severity.as_str()).or_insert(0u64) += 1;
        }
        attempt.errors = counts.get("error").copied().unwrap_or(0) as usize;
        attempt.warnings = counts.get("warning").copied().unwrap_or(0) as usize;
        attempt.rendered = t.render_diagnostics();
        attempt.diagnostics = t.diagnostics.clone();
        attempt.located = t.located_diagnostics();
        phase(&mut attempt, "diagnostics");
        let counts = Some((counts, input_bytes));
        let refetch = self.narrow(&t);
        if self.secret_of.is_some() {
            attempt.secrets = Some(self.secrets_held());
        }
        if !refetch.is_empty() {
            return done(attempt, counts, Outcome::Refetch(refetch));
        }
        match judge(&content.unreadable, &t, self.listeners) {
            Verdict::Reject(reason) => done(attempt, counts, Outcome::Rejected(reason)),
            Verdict::Use => {
                let listeners = t.ir.listeners.len();
                let statuses = self.statuses.as_ref().map(|(_, object_of)| {
                    let objects: Vec<_> = self.store.keys().filter_map(object_of).collect();
                    emissary_core::status::statuses(&t.ir, &t.diagnostics, &t.sources, &objects)
                });
                let encoded = self.encoder.encode(t.ir, &Threads);
                let mut snapshot = Snapshot::new(self.version + 1, encoded);
                // The encoder keeps the IR for the next encoding; the
                // snapshot shares it (for the live page's route table).
                if let Some(ir) = self.encoder.last_ir() {
                    snapshot = snapshot.with_ir(ir.clone());
                }
                let snapshot = Arc::new(snapshot);
                attempt.reused_clusters = self.encoder.reused_clusters();
                phase(&mut attempt, "snapshot");
                done(
                    attempt,
                    counts,
                    Outcome::Use {
                        snapshot,
                        listeners,
                        input_hash: hash,
                        statuses,
                    },
                )
            }
        }
    }

    /// Serves (or reports why not) what [`Pipeline::prepare`] made: logs
    /// it, records it in the report and, when it is to be used and its
    /// content differs from the served snapshot's, publishes it.
    pub fn commit(&mut self, prepared: Prepared) -> Committed {
        let Prepared {
            mut attempt,
            counts,
            outcome,
        } = prepared;
        // Reading to snapshot; not the wait for the source to settle.
        let took = Duration::from_secs_f64(attempt.duration_ms / 1e3);
        attempt.committed_unix_ms = unix_ms();
        if !attempt.rendered.is_empty() {
            if attempt.errors > 0 {
                tracing::warn!("diagnostics:\n{}", attempt.rendered.trim_end());
            } else {
                tracing::info!("diagnostics:\n{}", attempt.rendered.trim_end());
            }
        }
        let mut refetch = Vec::new();
        let (outcome, published) = match outcome {
            Outcome::Refetch(keys) => {
                let names: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
                tracing::info!(
                    secrets = ?names,
                    "the configuration refers to Secrets whose data was withheld; \
                     fetching them again before serving it"
                );
                attempt.reason = Some(format!(
                    "fetching again the data of the referenced Secrets {}",
                    names.join(", ")
                ));
                refetch = keys;
                ("refetching", false)
            }
            Outcome::Unchanged => {
                tracing::debug!("inputs unchanged");
                ("unchanged", false)
            }
            Outcome::Rejected(reason) => {
                tracing::warn!(%reason, serving = self.input_hash.map(|_| self.version), "input not used; the last good snapshot keeps serving");
                attempt.reason = Some(reason);
                ("rejected", false)
            }
            Outcome::Use {
                snapshot,
                listeners,
                input_hash,
                statuses,
            } => {
                self.listeners = listeners;
                self.input_hash = Some(input_hash);
                if let (Some((tx, _)), Some(objects)) = (&self.statuses, statuses) {
                    tx.send_replace(Some(Arc::new(Statuses {
                        version: snapshot.version,
                        objects,
                    })));
                }
                let current = self.snapshots.borrow().clone();
                if current.is_some_and(|c| c.same_content(&snapshot)) {
                    tracing::info!(
                        version = self.version,
                        "translation unchanged; version kept"
                    );
                    ("unchanged", false)
                } else {
                    self.version += 1;
                    debug_assert_eq!(snapshot.version, self.version);
                    self.snapshots.send_replace(Some(snapshot));
                    tracing::info!(
                        version = self.version,
                        took_ms = attempt.duration_ms as u64,
                        errors = attempt.errors,
                        warnings = attempt.warnings,
                        "snapshot published"
                    );
                    ("published", true)
                }
            }
        };
        attempt.outcome = outcome;
        let mut r = self.report.lock().expect("report lock");
        if published {
            r.serving_version = Some(self.version);
        }
        r.last = Some(attempt);
        Committed {
            outcome,
            took,
            diagnostics: counts,
            refetch,
        }
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A fingerprint of everything a translation depends on: the store's
/// fingerprint (names and texts) and the options.
fn input_hash(store: u64, options: &Options) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    store.hash(&mut h);
    options.ambassador_id.hash(&mut h);
    options.ambassador_namespace.hash(&mut h);
    options.single_namespace.hash(&mut h);
    options.placeholder_secrets.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::embedded::FILES;
    use crate::source::{Entry, Key};

    /// The quickstart, as a first read.
    fn quickstart() -> Vec<Change> {
        vec![Change::Reset(
            FILES
                .iter()
                .map(|(k, t)| (Key((*k).into()), Entry::Text((*t).into())))
                .collect(),
        )]
    }

    fn upsert(key: &str, text: &str) -> Vec<Change> {
        vec![Change::Upsert {
            key: key.into(),
            text: text.into(),
        }]
    }

    /// A pipeline serving the quickstart as version 1.
    fn serving() -> Pipeline {
        let mut p = Pipeline::new(Options::default(), "/c");
        let prepared = p.prepare(quickstart);
        assert_eq!(p.commit(prepared).outcome, "published");
        assert_eq!(p.version(), 1);
        p
    }

    fn served_version(p: &Pipeline) -> Option<u64> {
        p.snapshots().borrow().as_ref().map(|s| s.version)
    }

    fn last(p: &Pipeline) -> Attempt {
        p.report().lock().unwrap().last.clone().unwrap()
    }

    /// An endpoint-resolved Mapping, its Service and EndpointSlice, as a
    /// Kubernetes source keys them.
    fn eds_objects(address: &str) -> Vec<Change> {
        let objects = [
            ("Listener/default/l", "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: l, namespace: default}\nspec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n".to_string()),
            ("Host/default/h", "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {name: h, namespace: default}\nspec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}\n".to_string()),
            ("KubernetesEndpointResolver/default/endpoint", "apiVersion: getambassador.io/v3alpha1\nkind: KubernetesEndpointResolver\nmetadata: {name: endpoint, namespace: default}\n".to_string()),
            ("Mapping/default/m", "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: m, namespace: default}\nspec: {hostname: \"*\", prefix: /m/, service: \"s:80\", resolver: endpoint}\n".to_string()),
            ("Service/default/s", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec: {ports: [{name: http, port: 80, targetPort: 8080}]}\n".to_string()),
            ("EndpointSlice/default/s-x", format!("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: s-x, namespace: default, labels: {{kubernetes.io/service-name: s}}}}\naddressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{{addresses: [{address}]}}]\n")),
        ];
        vec![Change::Reset(
            objects
                .into_iter()
                .map(|(k, t)| (Key(k.into()), Entry::Text(t)))
                .collect(),
        )]
    }

    #[test]
    fn an_endpoint_slice_change_changes_only_the_load_assignments() {
        use emissary_core::xds::{ENDPOINT, TYPE_ORDER};
        let mut p = Pipeline::new(Options::default(), "");
        let prepared = p.prepare(|| eds_objects("10.0.0.1"));
        assert_eq!(p.commit(prepared).outcome, "published");
        let before = p.snapshots().borrow().clone().unwrap();
        let prepared = p.prepare(|| {
            vec![Change::Upsert {
                key: Key("EndpointSlice/default/s-x".into()),
                text: match &eds_objects("10.0.0.2")[0] {
                    Change::Reset(e) => match &e[5].1 {
                        Entry::Text(t) => t.clone(),
                        Entry::Unreadable(_) => unreachable!(),
                    },
                    _ => unreachable!(),
                },
            }]
        });
        assert_eq!(p.commit(prepared).outcome, "published");
        let after = p.snapshots().borrow().clone().unwrap();
        assert!(p.core.endpoints_only(), "the endpoint fast path was taken");
        for t in TYPE_ORDER {
            let (b, a) = (before.resources(t).unwrap(), after.resources(t).unwrap());
            if t == ENDPOINT {
                assert_eq!(a.resources.len(), 1);
                let (name, r) = a.resources.iter().next().unwrap();
                assert_ne!(
                    r.version, b.resources[name].version,
                    "the load assignment changed"
                );
            } else {
                assert_eq!(a, b, "{t} unchanged, so nothing of it is pushed");
            }
        }
    }

    #[test]
    fn publishes_the_first_good_input() {
        let p = serving();
        assert_eq!(served_version(&p), Some(1));
        let r = p.report().lock().unwrap().clone();
        assert_eq!(r.serving_version, Some(1));
        assert_eq!(r.last.unwrap().files, 3);
    }

    #[test]
    fn snapshots_share_the_ir_the_encoder_keeps() {
        let p = serving();
        let snap = p.snapshots().borrow().clone().unwrap();
        let ir = snap.ir().expect("the IR comes with the snapshot");
        assert_eq!(ir.listeners.len(), 2);
        assert!(
            Arc::ptr_eq(ir, p.encoder.last_ir().unwrap()),
            "shared, not copied"
        );
    }

    /// A Secret as the Kubernetes source keeps it (JSON).
    fn secret(name: &str) -> String {
        let (crt, key) = emissary_tests::cert_and_key();
        serde_json::to_string_pretty(&serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"tls.crt": crt, "tls.key": key}
        }))
        .unwrap()
    }

    fn tls_host(secret: &str) -> String {
        format!(
            "apiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {{name: h, namespace: default}}\n\
             spec: {{hostname: h.example, tlsSecret: {{name: {secret}}}}}\n"
        )
    }

    /// Whether the store holds `key`'s private key.
    fn holds_key(p: &Pipeline, key: &str) -> bool {
        let name = p.store.name(&Key(key.into()));
        let (_, tls_key) = emissary_tests::cert_and_key();
        p.store
            .content()
            .files
            .iter()
            .any(|f| f.name == name && f.text.contains(&tls_key))
    }

    fn served_secrets(p: &Pipeline) -> Vec<String> {
        let snap = p.snapshots().borrow().clone().unwrap();
        snap.resources(emissary_core::xds::SECRET)
            .map(|r| r.resources.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn only_referenced_secrets_keep_their_data_and_a_newly_referenced_one_is_fetched_first() {
        let mut p = Pipeline::new(Options::default(), "");
        p.narrow_secrets(crate::source::kubernetes::secret_of);
        let listener = "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {name: https, namespace: default}\n\
                        spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n";
        let objects = [
            ("Listener/default/https", listener.to_string()),
            ("Host/default/h", tls_host("cert-a")),
            ("Secret/default/cert-a", secret("cert-a")),
            ("Secret/default/cert-b", secret("cert-b")),
        ];
        // The first list holds every Secret; the first translation decides.
        let prepared = p.prepare(|| {
            vec![Change::Reset(
                objects
                    .iter()
                    .map(|(k, t)| (Key((*k).into()), Entry::Text(t.clone())))
                    .collect(),
            )]
        });
        assert_eq!(p.commit(prepared).outcome, "published");
        assert_eq!(served_secrets(&p), ["secret-default-cert-a"]);
        assert_eq!(
            p.secrets_held(),
            SecretsHeld {
                held: 1,
                withheld: 1
            }
        );
        assert_eq!(
            last(&p).secrets,
            Some(SecretsHeld {
                held: 1,
                withheld: 1
            })
        );
        assert!(holds_key(&p, "Secret/default/cert-a"));
        assert!(
            !holds_key(&p, "Secret/default/cert-b"),
            "B's data is not held"
        );
        let b = Key("Secret/default/cert-b".into());
        assert_eq!(
            p.store.withheld_keys(&b),
            Some(&["tls.crt".to_string(), "tls.key".to_string()][..]),
            "its identity and data key names stay"
        );

        // The Host now refers to B: not served before B's data is back.
        let prepared = p.prepare(|| upsert("Host/default/h", &tls_host("cert-b")));
        let c = p.commit(prepared);
        assert_eq!(
            (c.outcome, c.refetch.clone()),
            ("refetching", vec![b.clone()])
        );
        assert_eq!(served_version(&p), Some(1));
        assert_eq!(served_secrets(&p), ["secret-default-cert-a"]);
        // What the source delivers when asked again (a new list of Secrets).
        let prepared = p.prepare(|| upsert("Secret/default/cert-b", &secret("cert-b")));
        let c = p.commit(prepared);
        assert_eq!((c.outcome, c.refetch.is_empty()), ("published", true));
        assert_eq!(served_secrets(&p), ["secret-default-cert-b"]);
        let snap = p.snapshots().borrow().clone().unwrap();
        let served = snap
            .get(emissary_core::xds::SECRET, "secret-default-cert-b")
            .unwrap();
        let pem = b"-----BEGIN PRIVATE KEY-----";
        assert!(
            served.any.value.windows(pem.len()).any(|w| w == pem),
            "B's key is served"
        );
        // A is not referenced any more: its data went.
        assert!(!holds_key(&p, "Secret/default/cert-a"));
        assert!(holds_key(&p, "Secret/default/cert-b"));
        assert_eq!(
            p.secrets_held(),
            SecretsHeld {
                held: 1,
                withheld: 1
            }
        );

        // Asked for once: when the source does not bring A's data, the next
        // translation is served with core's diagnostic.
        let prepared = p.prepare(|| upsert("Host/default/h", &tls_host("cert-a")));
        assert_eq!(p.commit(prepared).outcome, "refetching");
        let prepared = p.prepare(Vec::new);
        let c = p.commit(prepared);
        // Translated and judged as usual (here: the Host is dropped, so the
        // listener has none and the last good snapshot keeps serving).
        assert_eq!((c.outcome, c.refetch.len()), ("rejected", 0));
        assert!(
            last(&p)
                .diagnostics
                .iter()
                .any(|d| d.code == "secret-not-tls"),
            "{:?}",
            last(&p).diagnostics
        );
    }

    #[test]
    fn a_source_whose_secrets_are_not_narrowed_keeps_them_all() {
        let mut p = Pipeline::new(Options::default(), "");
        let prepared = p.prepare(|| upsert("Secret/default/cert-b", &secret("cert-b")));
        assert_eq!(p.commit(prepared).outcome, "published");
        assert!(holds_key(&p, "Secret/default/cert-b"));
        assert_eq!(last(&p).secrets, None);
    }

    #[test]
    fn a_yaml_error_keeps_the_served_snapshot() {
        let mut p = serving();
        let prepared = p.prepare(|| upsert("mappings.yaml", "kind: Mapping\nspec: [\n"));
        let c = p.commit(prepared);
        assert_eq!(c.outcome, "rejected");
        assert_eq!(served_version(&p), Some(1));
        let a = last(&p);
        assert!(
            a.reason
                .as_deref()
                .unwrap()
                .contains("/c/mappings.yaml does not parse"),
            "{a:?}"
        );
    }

    #[test]
    fn an_unreadable_file_keeps_the_served_snapshot() {
        let mut p = serving();
        let prepared = p.prepare(|| {
            vec![Change::Unreadable {
                key: "more.yaml".into(),
                error: "/c/more.yaml is not UTF-8 text".into(),
            }]
        });
        assert_eq!(p.commit(prepared).outcome, "rejected");
        assert_eq!(served_version(&p), Some(1));
        assert_eq!(
            last(&p).reason.as_deref(),
            Some("unreadable input: /c/more.yaml is not UTF-8 text")
        );
    }

    #[test]
    fn an_emptied_input_is_rejected_while_listeners_are_served() {
        let mut p = serving();
        let prepared = p.prepare(|| upsert("listeners.yaml", ""));
        assert_eq!(p.commit(prepared).outcome, "rejected");
        let prepared = p.prepare(|| vec![Change::Reset(Vec::new())]);
        assert_eq!(p.commit(prepared).outcome, "rejected");
        assert!(last(&p).reason.unwrap().contains("no listeners"));
        assert_eq!(served_version(&p), Some(1));
        // Before anything is served, no listeners is no reason to wait.
        let mut fresh = Pipeline::new(Options::default(), "");
        let prepared = fresh.prepare(|| upsert("m.yaml", ""));
        assert_eq!(fresh.commit(prepared).outcome, "published");
    }

    #[test]
    fn identical_input_is_not_translated_again() {
        let mut p = serving();
        let prepared = p.prepare(Vec::new);
        assert_eq!(p.commit(prepared).outcome, "unchanged");
        let a = last(&p);
        let phases: Vec<_> = a.phases_ms.iter().map(|(n, _)| *n).collect();
        assert_eq!(phases, ["read"], "not translated");
        assert_eq!(served_version(&p), Some(1));
    }

    #[test]
    fn same_content_keeps_its_version_and_new_content_gets_the_next() {
        let mut p = serving();
        let mappings = FILES[2].1;
        let prepared = p.prepare(|| upsert("mappings.yaml", &format!("# a comment\n{mappings}")));
        assert_eq!(p.commit(prepared).outcome, "unchanged");
        assert!(last(&p).phases_ms.iter().any(|(n, _)| *n == "translate"));
        assert_eq!((p.version(), served_version(&p)), (1, Some(1)));
        let prepared =
            p.prepare(|| upsert("mappings.yaml", &mappings.replace("/backend/", "/other/")));
        assert_eq!(p.commit(prepared).outcome, "published");
        assert_eq!((p.version(), served_version(&p)), (2, Some(2)));
    }

    #[test]
    fn a_prepared_result_that_is_dropped_changes_nothing_served() {
        let mut p = serving();
        let mappings = FILES[2].1.replace("/backend/", "/other/");
        drop(p.prepare(|| upsert("mappings.yaml", &mappings)));
        assert_eq!(served_version(&p), Some(1));
        // The store kept the change: the next prepare sees it.
        let prepared = p.prepare(Vec::new);
        assert_eq!(p.commit(prepared).outcome, "published");
        assert_eq!(served_version(&p), Some(2));
    }
}
