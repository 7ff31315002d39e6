//! The Kubernetes API as a source of manifests: `emissary serve --kubernetes`.
//!
//! One watcher (kube-rs's `runtime::watcher`: list, then watch from the
//! list's `resourceVersion` with bookmarks; a new list after `410 Gone`;
//! exponential backoff after errors) per watched [`Kind`], each object kept
//! as text under the key `Kind/namespace/name` (see [`object`]). This layer
//! holds no translation logic: it only decides what to watch and turns
//! watch events into [`Change`]s; core reads the objects.
//!
//! - **Nothing is served before every initial list is complete**: the
//!   source signals for the first time once every watcher has delivered its
//!   first `InitDone`, so the first translation sees every object, never
//!   half of them nor none.
//! - A relist (after `410 Gone` or a broken watch) replaces what its kind
//!   held in one batch: a [`Change::Delete`] of the kind's prefix followed
//!   by the listed objects, so objects deleted while the watch was down go
//!   away, atomically with the rest.
//! - Errors (API server down, RBAC) are logged, one line per attempt, and
//!   retried with backoff; what was last synced keeps being served.
//! - The API server never sends an object that is not a JSON object with
//!   metadata, and every object is read as an untyped `DynamicObject`, so a
//!   malformed object (a wrong type in a spec) is core's diagnostic, never a
//!   dead watch.
//!
//! What is watched ([`KINDS`]) and how it is scoped ([`Scope`]) follows
//! Emissary: every getambassador.io kind (at `v3alpha1` where the cluster
//! serves it, else `v2`, never both: the API server converts between them,
//! so both would show every object twice), core `Service`, `Secret`,
//! `discovery.k8s.io/v1` `EndpointSlice`, `networking.k8s.io/v1` `Ingress`
//! and `IngressClass`.
//!
//! Decisions:
//! - Secrets of types that never hold a certificate (service-account
//!   tokens, image pull secrets, Helm releases, bootstrap tokens) are
//!   excluded by a field selector on the watch, and the others are kept
//!   with only the data keys TLS reads ([`object::SECRET_KEYS`]).
//! - **Only the Secrets the configuration refers to keep their data.** The
//!   watch still lists and watches every Secret (least privilege: `list`
//!   and `watch`, no `get`), and the first list holds them all, so the first
//!   configuration is served whole; then, after each translation, the
//!   pipeline withholds the data of every Secret that core's
//!   `Translation::referenced_secrets` does not name (its identity, type
//!   and data key names stay: [`secret_of`] tells the pipeline which inputs
//!   are Secrets, see `Pipeline::narrow_secrets`). A translation that
//!   refers to a withheld Secret is not served; the pipeline asks for it
//!   ([`Source::refetch`]), which restarts the Secret watcher, so one fresh
//!   list brings every Secret's data back and the next translation is
//!   served (and withholds the others again). Each withheld Secret is asked
//!   for once: should the list not bring it, the translation after is
//!   served with core's diagnostic. This layer still knows nothing of which
//!   fields name Secrets: core says which ones are referenced. The price is
//!   one list of the Secrets, and one translation held back for it, when a
//!   change refers to a Secret that no object referred to before. (Before,
//!   every Secret was kept, as Emissary does; the daemon's memory then held
//!   the private keys of every TLS Secret in the cluster.)
//! - `AMBASSADOR_LABEL_SELECTOR` and `AMBASSADOR_FIELD_SELECTOR` apply to
//!   the objects users write to configure Emissary (getambassador.io kinds,
//!   Services, Ingresses); not to Secrets, EndpointSlices or IngressClasses,
//!   whose labels are set by their own controllers and which are only read
//!   when an object above refers to them.
//! - A getambassador.io kind the cluster does not serve (its CRD is not
//!   installed) is not watched, and a warning says so once at start.

pub mod client;
pub mod object;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::source::debounce::Signal;
use crate::source::{Change, Key, Source};

pub use client::{ClientOptions, NoConfig};

/// A kind the source watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// The API group (`""` for the core group).
    pub group: &'static str,
    /// The versions to watch it at, best first; the first that the cluster
    /// serves is watched.
    pub versions: &'static [&'static str],
    /// The kind (`Mapping`).
    pub kind: &'static str,
    /// The resource (`mappings`).
    pub plural: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether the label and field selectors of the [`Scope`] apply.
    pub scoped: bool,
    /// A field selector of its own (Secrets: the types never read).
    pub fields: Option<&'static str>,
}

impl Kind {
    /// Whether the daemon writes this kind's status: every getambassador.io
    /// kind, and Ingresses.
    pub fn has_status(&self) -> bool {
        self.group == "getambassador.io" || self.kind == "Ingress"
    }
}

const AMB: &[&str] = &["v3alpha1", "v2"];

const fn amb(kind: &'static str, plural: &'static str) -> Kind {
    Kind {
        group: "getambassador.io",
        versions: AMB,
        kind,
        plural,
        namespaced: true,
        scoped: true,
        fields: None,
    }
}

/// Secrets of these types never hold what translation reads.
const SECRET_FIELDS: &str = "type!=kubernetes.io/service-account-token,type!=kubernetes.io/dockercfg,type!=kubernetes.io/dockerconfigjson,type!=helm.sh/release.v1,type!=bootstrap.kubernetes.io/token";

/// Everything the source watches (see the module docs).
pub const KINDS: &[Kind] = &[
    amb("Mapping", "mappings"),
    amb("Host", "hosts"),
    Kind {
        versions: &["v3alpha1"],
        ..amb("Listener", "listeners")
    },
    amb("TLSContext", "tlscontexts"),
    amb("Module", "modules"),
    amb("TCPMapping", "tcpmappings"),
    amb("AuthService", "authservices"),
    amb("RateLimitService", "ratelimitservices"),
    amb("LogService", "logservices"),
    amb("TracingService", "tracingservices"),
    amb("KubernetesEndpointResolver", "kubernetesendpointresolvers"),
    amb("KubernetesServiceResolver", "kubernetesserviceresolvers"),
    amb("ConsulResolver", "consulresolvers"),
    amb("DevPortal", "devportals"),
    Kind {
        group: "",
        versions: &["v1"],
        kind: "Service",
        plural: "services",
        namespaced: true,
        scoped: true,
        fields: None,
    },
    Kind {
        group: "",
        versions: &["v1"],
        kind: "Secret",
        plural: "secrets",
        namespaced: true,
        scoped: false,
        fields: Some(SECRET_FIELDS),
    },
    Kind {
        group: "discovery.k8s.io",
        versions: &["v1"],
        kind: "EndpointSlice",
        plural: "endpointslices",
        namespaced: true,
        scoped: false,
        fields: None,
    },
    Kind {
        group: "networking.k8s.io",
        versions: &["v1"],
        kind: "Ingress",
        plural: "ingresses",
        namespaced: true,
        scoped: true,
        fields: None,
    },
    Kind {
        group: "networking.k8s.io",
        versions: &["v1"],
        kind: "IngressClass",
        plural: "ingressclasses",
        namespaced: false,
        scoped: false,
        fields: None,
    },
];

/// The watched kind named `kind`.
pub fn kind(kind: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// What to watch, from Emissary's environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `AMBASSADOR_SINGLE_NAMESPACE`: watch only this namespace
    /// (`AMBASSADOR_NAMESPACE`); `None`: every namespace.
    pub namespace: Option<String>,
    /// `AMBASSADOR_LABEL_SELECTOR`.
    pub label_selector: Option<String>,
    /// `AMBASSADOR_FIELD_SELECTOR`.
    pub field_selector: Option<String>,
}

impl Scope {
    /// The watcher configuration of `kind`: selectors, bookmarks (on).
    pub fn watcher_config(&self, kind: &Kind) -> kube::runtime::watcher::Config {
        let mut c = kube::runtime::watcher::Config::default();
        let mut fields: Vec<&str> = Vec::new();
        if let Some(f) = kind.fields {
            fields.push(f);
        }
        if kind.scoped {
            if let Some(l) = self.label_selector.as_deref().filter(|s| !s.is_empty()) {
                c = c.labels(l);
            }
            if let Some(f) = self.field_selector.as_deref().filter(|s| !s.is_empty()) {
                fields.push(f);
            }
        }
        if !fields.is_empty() {
            c = c.fields(&fields.join(","));
        }
        c
    }

    /// Whether `kind` is watched at all in this scope (cluster-scoped kinds
    /// are not watched in single-namespace mode, where the service account
    /// may not read them and Emissary ignores them).
    pub fn watches(&self, kind: &Kind) -> bool {
        kind.namespaced || self.namespace.is_none()
    }
}

/// What the watchers have delivered and the reader has not taken yet.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    changes: Vec<Change>,
    /// Kinds whose first list is not complete yet.
    unsynced: usize,
    /// The reader has taken the first batch.
    taken: bool,
    signal: Option<Arc<Signal>>,
    /// Kinds being watched, at the version the cluster serves
    /// (`getambassador.io/v3alpha1`), known after discovery.
    served: Vec<(&'static Kind, String)>,
    /// The generation and status of each object that gets a status, as
    /// last seen (the store's texts leave the status out).
    observed: HashMap<Key, Observed>,
    /// Wakes the Secret watcher to list again ([`Source::refetch`]).
    pub(crate) refetch_secrets: Arc<tokio::sync::Notify>,
}

/// An object's generation and status, as the API server last sent them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status`.
    pub status: Option<serde_json::Value>,
}

impl Queue {
    /// Adds changes; signals the reader once every kind has synced.
    pub(crate) fn push(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.changes.extend(changes);
        self.notify();
    }

    /// A kind completed its first list.
    pub(crate) fn synced_one(&mut self) {
        self.unsynced = self.unsynced.saturating_sub(1);
        self.notify();
    }

    fn notify(&self) {
        if self.unsynced == 0
            && let Some(s) = &self.signal
        {
            // A watch event is a whole object: nothing more is coming for it.
            s.signal(true);
        }
    }

    /// The changes to hand out: nothing before every kind synced; then, the
    /// first time, one [`Change::Reset`] with everything.
    fn take(&mut self) -> Vec<Change> {
        if self.unsynced > 0 || self.served.is_empty() {
            return Vec::new();
        }
        let changes = std::mem::take(&mut self.changes);
        if self.taken {
            return changes;
        }
        self.taken = true;
        let mut store = crate::source::Store::new("");
        for c in changes {
            store.apply(c);
        }
        vec![Change::Reset(store.into_entries())]
    }
}

/// The shared state of a [`KubeSource`] and its watchers.
pub(crate) type Shared = Arc<Mutex<Queue>>;

/// The Kubernetes API as a [`Source`] (see the module docs).
pub struct KubeSource {
    client: kube::Client,
    scope: Scope,
    name: String,
    shared: Shared,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl KubeSource {
    /// A source reading through `client` what `scope` selects; `name`
    /// describes the cluster for logs.
    pub fn new(client: kube::Client, scope: Scope, name: String) -> KubeSource {
        KubeSource {
            client,
            scope,
            name,
            shared: Shared::default(),
            tasks: Vec::new(),
        }
    }

    /// The kinds being watched and their API versions, once discovery is
    /// done (empty before).
    pub fn served(&self) -> Vec<(&'static Kind, String)> {
        self.shared
            .lock()
            .map(|q| q.served.clone())
            .unwrap_or_default()
    }

    /// Whether every initial list has completed.
    pub fn synced(&self) -> bool {
        self.shared
            .lock()
            .map(|q| q.unsynced == 0 && !q.served.is_empty())
            .unwrap_or(false)
    }

    /// A handle on the watched kinds, for the status writer.
    pub fn kinds(&self) -> ServedKinds {
        ServedKinds(self.shared.clone())
    }
}

/// The kinds a [`KubeSource`] watches and their served API versions.
#[derive(Clone, Debug)]
pub struct ServedKinds(Shared);

impl ServedKinds {
    /// The API version (`getambassador.io/v3alpha1`) `kind` is watched at.
    pub fn api_version(&self, kind: &str) -> Option<String> {
        let q = self.0.lock().ok()?;
        q.served
            .iter()
            .find(|(k, _)| k.kind == kind)
            .map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
impl ServedKinds {
    /// Kinds served at the given API versions (`("Host",
    /// "getambassador.io/v3alpha1")`), with objects as last seen, as a
    /// source would have them after discovery and a sync.
    pub(crate) fn seeded(served: &[(&str, &str)], observed: Vec<(Key, Observed)>) -> ServedKinds {
        let q = Queue {
            served: served
                .iter()
                .map(|(k, v)| (kind(k).expect("a watched kind"), v.to_string()))
                .collect(),
            observed: observed.into_iter().collect(),
            ..Default::default()
        };
        ServedKinds(Arc::new(Mutex::new(q)))
    }
}

impl ServedKinds {
    /// The object's generation and status as last seen.
    pub fn observed(&self, key: &Key) -> Option<Observed> {
        self.0.lock().ok()?.observed.get(key).cloned()
    }
}

/// The object an input of this source is, when it is one whose status the
/// daemon writes (see [`Kind::has_status`]).
pub fn object_of(key: &Key) -> Option<emissary_core::diag::ObjectRef> {
    let mut parts = key.0.splitn(3, '/');
    let k = kind(parts.next()?)?;
    if !k.has_status() {
        return None;
    }
    let (namespace, name) = match (parts.next(), parts.next()) {
        (Some(ns), Some(name)) if k.namespaced => (ns, name),
        (Some(name), None) if !k.namespaced => ("", name),
        _ => return None,
    };
    Some(emissary_core::diag::ObjectRef {
        kind: k.kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

impl Drop for KubeSource {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Source for KubeSource {
    fn name(&self) -> String {
        format!("kubernetes:{}", self.name)
    }

    fn watch(&mut self, signal: Arc<Signal>) -> anyhow::Result<()> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("the Kubernetes source needs a tokio runtime"))?;
        if let Ok(mut q) = self.shared.lock() {
            q.signal = Some(signal);
        }
        self.tasks.push(rt.spawn(watch::run(
            self.client.clone(),
            self.scope.clone(),
            self.shared.clone(),
        )));
        Ok(())
    }

    fn changes(&mut self) -> Vec<Change> {
        match self.shared.lock() {
            Ok(mut q) => q.take(),
            Err(_) => Vec::new(),
        }
    }

    /// Secrets are fetched again by a fresh list of every Secret (the
    /// watcher starts over): the service account may list and watch
    /// Secrets but not `get` one.
    fn refetch(&mut self, keys: &[Key]) {
        if keys.iter().any(|k| secret_of(k).is_some())
            && let Ok(q) = self.shared.lock()
        {
            tracing::debug!(
                secrets = keys.len(),
                "listing Secrets again: the configuration refers to Secrets whose data was withheld"
            );
            q.refetch_secrets.notify_one();
        }
    }
}

/// The Secret an input of this source is (`namespace`, `name`): its data
/// may be withheld by the pipeline (see the module docs).
pub fn secret_of(key: &Key) -> Option<(String, String)> {
    let rest = key.0.strip_prefix("Secret/")?;
    let (ns, name) = rest.split_once('/')?;
    Some((ns.to_string(), name.to_string()))
}

/// An object's entry in the store.
pub(crate) fn upsert(key: Key, text: String) -> Change {
    Change::Upsert { key, text }
}

/// A relist of `kind`: everything it held goes, the listed objects come.
pub(crate) fn relist(kind: &Kind, listed: Vec<(Key, String)>) -> Vec<Change> {
    let mut v = Vec::with_capacity(listed.len() + 1);
    v.push(Change::Delete {
        key: Key(kind.kind.to_string()),
    });
    v.extend(listed.into_iter().map(|(k, t)| upsert(k, t)));
    v
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn nothing_is_handed_out_before_every_kind_synced_then_one_reset() {
        let mut q = Queue {
            unsynced: 2,
            served: vec![(kind("Mapping").unwrap(), "getambassador.io/v3alpha1".into())],
            ..Default::default()
        };
        q.push(relist(
            kind("Mapping").unwrap(),
            vec![(Key("Mapping/a/m".into()), "m".into())],
        ));
        q.synced_one();
        assert!(q.take().is_empty(), "one kind of two synced");
        q.push(relist(
            kind("Service").unwrap(),
            vec![(Key("Service/a/s".into()), "s".into())],
        ));
        q.synced_one();
        let first = q.take();
        let [Change::Reset(entries)] = first.as_slice() else {
            panic!("first batch is one Reset: {first:?}");
        };
        assert_eq!(entries.len(), 2);
        q.push([upsert(Key("Mapping/a/n".into()), "n".into())]);
        assert_eq!(q.take().len(), 1, "then changes as they come");
        assert!(q.take().is_empty());
    }

    #[test]
    fn a_relist_replaces_what_the_kind_held_and_nothing_else() {
        let mut store = crate::source::Store::new("");
        store.apply(upsert(Key("Mapping/a/old".into()), "o".into()));
        store.apply(upsert(Key("MappingX/a/keep".into()), "k".into()));
        store.apply(upsert(Key("Service/a/s".into()), "s".into()));
        for c in relist(
            kind("Mapping").unwrap(),
            vec![(Key("Mapping/a/new".into()), "n".into())],
        ) {
            store.apply(c);
        }
        let names: Vec<_> = store.content().files.into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["Mapping/a/new", "MappingX/a/keep", "Service/a/s"]);
    }

    #[test]
    fn selectors_apply_to_the_scoped_kinds_only() {
        let s = Scope {
            namespace: None,
            label_selector: Some("team=a".into()),
            field_selector: Some("metadata.name!=x".into()),
        };
        let m = s.watcher_config(kind("Mapping").unwrap());
        assert_eq!(m.label_selector.as_deref(), Some("team=a"));
        assert_eq!(m.field_selector.as_deref(), Some("metadata.name!=x"));
        let sec = s.watcher_config(kind("Secret").unwrap());
        assert_eq!(sec.label_selector, None);
        assert_eq!(sec.field_selector.as_deref(), Some(SECRET_FIELDS));
        let single = Scope {
            namespace: Some("ns".into()),
            ..Default::default()
        };
        assert!(!single.watches(kind("IngressClass").unwrap()));
        assert!(single.watches(kind("Mapping").unwrap()));
    }
}
