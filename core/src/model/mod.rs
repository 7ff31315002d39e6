//! Documents → typed resources.
//!
//! Each document is dispatched on `apiVersion`/`kind` (Kubernetes `List`
//! objects are unwrapped), filtered by `ambassador_id` and namespace, and read
//! into the typed structs of this module. getambassador.io `v2` objects are
//! converted to `v3alpha1` meaning while they are read. Nothing here fails:
//! wrong types, missing required fields, unknown kinds and unknown fields
//! become diagnostics, and an object that cannot be used is left out.

mod host;
mod ingress;
mod listener;
mod locate;
mod mapping;
mod module;
mod observability;
pub(crate) mod read;
mod resolvers;
pub mod schema;
mod secret;
mod services;
mod tcp_mapping;
mod tls_context;
mod tls_settings;
pub(crate) mod v2;

pub use host::*;
pub use listener::*;
pub(crate) use locate::locate;
pub use mapping::*;
pub use module::*;
pub use observability::*;
pub use read::Spanned;
pub use resolvers::*;
pub use secret::*;
pub use services::*;
pub use tcp_mapping::*;
pub use tls_context::*;
pub use tls_settings::TlsSettings;

use crate::diag::{Diagnostic, ObjectRef, Span};
use crate::inputs::Options;
use crate::source::{Document, Node, Value};
use read::{Cx, Fields};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every object carries: identity, labels and where it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    pub kind: &'static str,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// `getambassador.io/v2` objects are converted while read; remembered for messages.
    pub v2: bool,
    /// Span of the whole document (or list item).
    pub span: Span,
    /// For an object from a `getambassador.io/config` annotation: the
    /// annotated object's name and namespace, which Emissary loads it under.
    pub annotation_parent: Option<(String, String)>,
}

impl Meta {
    pub fn obj_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.to_string(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }

    /// Orders two objects as Emissary loads them: by the string
    /// `name.namespace.1` (its resource key), in code-point order; objects
    /// from an annotation under the annotated object's key. Equal keys are
    /// left to the caller (input order).
    pub fn load_cmp(&self, other: &Meta) -> std::cmp::Ordering {
        load_cmp(self.load_name(), other.load_name())
    }

    /// The `(name, namespace)` of Emissary's resource key.
    fn load_name(&self) -> (&str, &str) {
        match &self.annotation_parent {
            Some((n, ns)) => (n, ns),
            None => (&self.name, &self.namespace),
        }
    }
}

/// [`Meta::load_cmp`] on `(name, namespace)` pairs.
pub fn load_cmp(a: (&str, &str), b: (&str, &str)) -> std::cmp::Ordering {
    use std::cmp::Ordering::Equal;
    // Fast paths (byte slices compare with memcmp): names that differ
    // within the shorter one, or equal names.
    let (an, bn) = (a.0.as_bytes(), b.0.as_bytes());
    let n = an.len().min(bn.len());
    match an[..n].cmp(&bn[..n]) {
        Equal if an.len() == bn.len() => {
            let (ans, bns) = (a.1.as_bytes(), b.1.as_bytes());
            let m = ans.len().min(bns.len());
            match ans[..m].cmp(&bns[..m]) {
                Equal if ans.len() == bns.len() => return Equal,
                Equal => {}
                o => return o,
            }
        }
        Equal => {}
        o => return o,
    }
    // One is a prefix of the other: compare the whole keys.
    fn key<'s>((name, ns): (&'s str, &'s str)) -> impl Iterator<Item = u8> + 's {
        name.bytes().chain(*b".").chain(ns.bytes()).chain(*b".1")
    }
    key(a).cmp(key(b))
}

/// Indexes of `items` in Emissary's load order ([`Meta::load_cmp`], then
/// input order): the order in which every "first one wins" or "last one
/// wins" rule of Emissary sees objects of one kind.
pub fn load_order<T>(items: &[T], meta: impl Fn(&T) -> &Meta) -> Vec<usize> {
    let mut keys: Vec<((&str, &str), usize)> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (meta(it).load_name(), i))
        .collect();
    // Stable, so equal keys stay in input order.
    keys.sort_by(|a, b| load_cmp(a.0, b.0));
    keys.into_iter().map(|(_, i)| i).collect()
}

/// All typed objects of one translation, in input order.
#[derive(Debug, Default, Clone)]
pub struct Objects {
    /// Shared: a Mapping read from an unchanged document is the same value
    /// from one translation to the next (see `api::Translator`).
    pub mappings: Vec<std::sync::Arc<Mapping>>,
    pub tcp_mappings: Vec<TcpMapping>,
    pub hosts: Vec<Host>,
    pub listeners: Vec<Listener>,
    pub tls_contexts: Vec<TlsContext>,
    pub modules: Vec<Module>,
    pub auth_services: Vec<AuthService>,
    pub rate_limit_services: Vec<RateLimitService>,
    pub log_services: Vec<LogService>,
    pub tracing_services: Vec<TracingService>,
    /// Secrets by (namespace, name).
    pub secrets: BTreeMap<(String, String), Secret>,
    pub resolvers: Vec<Resolver>,
    /// Core Services (their ports), for endpoint routing; shared like the
    /// Mappings.
    pub services: Vec<std::sync::Arc<Service>>,
    /// Endpoints and EndpointSlices, for endpoint routing; shared like the
    /// Mappings.
    pub endpoints: Vec<std::sync::Arc<Endpoints>>,
}

/// The getambassador.io kinds this version reads in full.
const TRANSLATED: &[&str] = &[
    "Mapping",
    "Host",
    "Listener",
    "TLSContext",
    "Module",
    "TCPMapping",
    "KubernetesEndpointResolver",
    "KubernetesServiceResolver",
    "ConsulResolver",
    "AuthService",
    "RateLimitService",
    "LogService",
    "TracingService",
];
/// The body fields of core Kubernetes objects, read (or not) by their own readers.
const K8S_BODY_FIELDS: &[&str] = &[
    "spec",
    "data",
    "subsets",
    "endpoints",
    "addressType",
    "ports",
];
/// getambassador.io kinds Emissary knows that are accepted but not translated yet.
const NOT_YET: &[&str] = &["DevPortal"];

/// Reads every document into typed objects.
pub fn load(docs: &[(u32, Document)], opts: &Options, diags: &mut Vec<Diagnostic>) -> Objects {
    let mut out = Objects::default();
    let mut kube = ingress::Kube::default();
    for (_, doc) in docs {
        load_node(&doc.root, opts, diags, &mut out, 0, &mut kube, None);
    }
    generated(&mut out, kube, opts, diags);
    dedup(&mut out, diags);
    out
}

/// One object defined twice in the input (same kind, namespace and name;
/// an API server holds one, files and annotations can hold two): as
/// Emissary, the first definition is used when both are objects of the same
/// apiVersion (its reader drops the later one), the later one in its load
/// order when they differ (`getambassador.io/v2` and `v3alpha1`) or one
/// comes from an annotation (its store overwrites).
fn dedup(out: &mut Objects, diags: &mut Vec<Diagnostic>) {
    fn one<T>(items: &mut Vec<T>, meta: impl Fn(&T) -> Option<&Meta>, diags: &mut Vec<Diagnostic>) {
        let mut seen: crate::hash::FixedHashMap<(&str, &str, &str), usize> =
            crate::hash::FixedHashMap::default();
        seen.reserve(items.len());
        let mut drop = vec![false; items.len()];
        for (i, it) in items.iter().enumerate() {
            let Some(m) = meta(it) else { continue };
            let key = (m.kind, m.namespace.as_str(), m.name.as_str());
            let Some(&k) = seen.get(&key) else {
                seen.insert(key, i);
                continue;
            };
            let Some(kept) = meta(&items[k]) else {
                continue;
            };
            let annotated = kept.annotation_parent.is_some() || m.annotation_parent.is_some();
            let (dropped, d) = if annotated {
                // Emissary's store: the later in its load order overwrites.
                let later_is_new = kept.load_cmp(m) != std::cmp::Ordering::Greater;
                let (dropped, used) = if later_is_new { (k, i) } else { (i, k) };
                let d = Diagnostic::error(
                    "object-duplicate",
                    format!(
                        "{} is defined twice, at least once in a getambassador.io/config annotation; as Emissary, the later definition in its load order is used and this one is ignored",
                        m.obj_ref()
                    ),
                );
                seen.insert(key, used);
                (dropped, d)
            } else if kept.v2 == m.v2 {
                let d = Diagnostic::warning(
                    "object-duplicate",
                    format!(
                        "{} is defined twice; the first definition is used, as Emissary does, and this one is ignored",
                        m.obj_ref()
                    ),
                );
                (i, d)
            } else {
                let d = Diagnostic::error(
                    "object-duplicate",
                    format!(
                        "{} is defined twice with different apiVersions; as Emissary, the later definition is used and this one is ignored",
                        m.obj_ref()
                    ),
                );
                seen.insert(key, i);
                (k, d)
            };
            let gone = meta(&items[dropped]).map(|m| (m.obj_ref(), m.span));
            if let Some((obj, span)) = gone {
                diags.push(
                    d.with_object(obj)
                        .with_span(Some(Span {
                            end: span.start,
                            ..span
                        }))
                        .with_help("remove one of the two definitions"),
                );
            }
            drop[dropped] = true;
        }
        if drop.iter().any(|d| *d) {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !drop[i - 1]
            });
        }
    }
    one(&mut out.mappings, |m| Some(&m.meta), diags);
    one(&mut out.tcp_mappings, |m| Some(&m.meta), diags);
    one(&mut out.hosts, |m| Some(&m.meta), diags);
    one(&mut out.listeners, |m| Some(&m.meta), diags);
    one(&mut out.tls_contexts, |m| Some(&m.meta), diags);
    one(&mut out.modules, |m| m.meta.as_ref(), diags);
    one(&mut out.auth_services, |m| Some(&m.meta), diags);
    one(&mut out.rate_limit_services, |m| Some(&m.meta), diags);
    one(&mut out.log_services, |m| Some(&m.meta), diags);
    one(&mut out.tracing_services, |m| Some(&m.meta), diags);
    one(&mut out.resolvers, |m| Some(&m.meta), diags);
}

/// Ingresses last: their IngressClasses and Services may come later.
fn generated(out: &mut Objects, kube: ingress::Kube, opts: &Options, diags: &mut Vec<Diagnostic>) {
    let generated = kube.generated(&opts.ambassador_id, diags);
    let mut none = ingress::Kube::default();
    for n in &generated {
        load_node(n, opts, diags, out, 1, &mut none, None);
    }
}

/// Loads remembered: per unit (a clean segment of a file, see
/// [`crate::source::parse_units`]), the objects and diagnostics it gave,
/// and what it adds to what Ingress translation needs from the whole input
/// (Services with named ports, IngressClasses, Ingresses), for the options
/// they were read with. The Ingresses' objects are derived again on every
/// load, from what the units add, in order.
#[derive(Debug, Default)]
pub(crate) struct LoadMemo {
    options: Option<Options>,
    units: BTreeMap<u32, Remembered>,
    reused: usize,
    /// The remembered units the last call's objects other than Mappings
    /// and Endpoints/EndpointSlices came from, and those that added to
    /// Ingress translation, in order; `None` when some came from documents
    /// not remembered.
    env: Option<Vec<u32>>,
    /// The remembered units the last call's objects other than
    /// Endpoints/EndpointSlices came from, and those that added to Ingress
    /// translation, in order; `None` when some came from documents not
    /// remembered.
    rest: Option<Vec<u32>>,
}

/// What one unit gave.
#[derive(Debug)]
enum Remembered {
    /// The common case, kept small: one Mapping and no diagnostics.
    Mapping(std::sync::Arc<Mapping>),
    /// Anything else: the objects, the diagnostics, and what it adds to
    /// Ingress translation.
    Other(Box<(Objects, Vec<Diagnostic>, Arc<ingress::Kube>)>),
}

impl LoadMemo {
    /// Units whose objects were taken from the memo in the last load.
    pub(crate) fn reused(&self) -> usize {
        self.reused
    }

    /// The last load's objects other than Mappings and
    /// Endpoints/EndpointSlices, and what was read for Ingress translation,
    /// as the remembered units they came from, in order; `None` when some
    /// came from elsewhere. Lowering a Mapping group depends on these.
    pub(crate) fn env(&self) -> Option<&Vec<u32>> {
        self.env.as_ref()
    }

    /// [`LoadMemo::env`] with the units of Mappings too: all that lowering
    /// depends on but the Endpoints and EndpointSlices.
    pub(crate) fn rest(&self) -> Option<&Vec<u32>> {
        self.rest.as_ref()
    }

    /// True when the objects of `unit` are remembered.
    pub(crate) fn remembers(&self, unit: u32) -> bool {
        self.units.contains_key(&unit)
    }

    /// Keeps only the units in `live`.
    pub(crate) fn retain(&mut self, live: &std::collections::BTreeSet<u32>) {
        self.units.retain(|u, _| live.contains(u));
    }
}

/// [`load`] over parsed units, in order, remembering in `memo` what each
/// clean segment gave. Returns exactly what [`load`] returns for the same
/// documents (spans in unit segments stay relative to them), or `None` when
/// a segment whose documents were let go (see
/// [`crate::source::SegmentCache::let_go`]) is not in the memo: then the
/// input must be parsed again.
pub(crate) fn load_units<'u>(
    units: impl IntoIterator<Item = &'u crate::source::Unit>,
    opts: &Options,
    memo: &mut LoadMemo,
    diags: &mut Vec<Diagnostic>,
) -> Option<Objects> {
    use crate::source::Unit;
    if memo.options.as_ref() != Some(opts) {
        *memo = LoadMemo {
            options: Some(opts.clone()),
            ..LoadMemo::default()
        };
    }
    memo.reused = 0;
    let mut out = Objects::default();
    // What each unit adds to Ingress translation, in order; merged only
    // when there is an Ingress to translate.
    let mut kubes: Vec<Arc<ingress::Kube>> = Vec::new();
    let mut env = Some(Vec::new());
    let mut rest = Some(Vec::new());
    for unit in units {
        match unit {
            Unit::Docs(docs) => {
                let mut own = Objects::default();
                let mut own_kube = ingress::Kube::default();
                for doc in docs {
                    load_node(&doc.root, opts, diags, &mut own, 0, &mut own_kube, None);
                }
                // Not remembered: nothing it gave is known to be the same.
                let (in_env, in_rest) = depends(&own, &own_kube);
                if in_env {
                    env = None;
                }
                if in_rest {
                    rest = None;
                }
                out.append(own);
                if !own_kube.is_empty() {
                    kubes.push(Arc::new(own_kube));
                }
            }
            Unit::Segment { seg, .. } => {
                match memo.units.get(&seg.unit) {
                    Some(Remembered::Mapping(m)) => {
                        out.mappings.push(m.clone());
                        memo.reused += 1;
                        add_unit(seg.unit, (false, true), &mut env, &mut rest);
                        continue;
                    }
                    Some(Remembered::Other(r)) => {
                        out.extend_from(&r.0);
                        diags.extend(r.1.iter().cloned());
                        if !r.2.is_empty() {
                            kubes.push(r.2.clone());
                        }
                        memo.reused += 1;
                        add_unit(seg.unit, depends(&r.0, &r.2), &mut env, &mut rest);
                        continue;
                    }
                    _ => {}
                }
                if seg.let_go {
                    return None;
                }
                let mut own = Objects::default();
                let mut own_kube = ingress::Kube::default();
                let mut ds = Vec::new();
                for doc in &seg.docs {
                    load_node(&doc.root, opts, &mut ds, &mut own, 0, &mut own_kube, None);
                }
                let own_kube = Arc::new(own_kube);
                let keep = match own.only_mapping() {
                    Some(m) if ds.is_empty() && own_kube.is_empty() => {
                        Remembered::Mapping(m.clone())
                    }
                    _ => Remembered::Other(Box::new((own.clone(), ds.clone(), own_kube.clone()))),
                };
                add_unit(seg.unit, depends(&own, &own_kube), &mut env, &mut rest);
                memo.units.insert(seg.unit, keep);
                out.append(own);
                diags.append(&mut ds);
                if !own_kube.is_empty() {
                    kubes.push(own_kube);
                }
            }
        }
    }
    memo.env = env;
    memo.rest = rest;
    let mut kube = ingress::Kube::default();
    if kubes.iter().any(|k| k.has_ingresses()) {
        for k in kubes {
            kube.append(Arc::unwrap_or_clone(k));
        }
    }
    generated(&mut out, kube, opts, diags);
    dedup(&mut out, diags);
    Some(out)
}

/// Whether lowering depends on what a unit gave (`own`, `kube`): every
/// Mapping group's lowering when it gave objects other than Mappings and
/// Endpoints/EndpointSlices or something Ingress translation reads (the
/// first answer: see [`LoadMemo::env`]); lowering as a whole when it gave
/// anything but Endpoints/EndpointSlices (the second: [`LoadMemo::rest`]).
fn depends(own: &Objects, kube: &ingress::Kube) -> (bool, bool) {
    let others = own.count() - own.endpoints.len();
    (
        others != own.mappings.len() || !kube.is_empty(),
        others != 0 || !kube.is_empty(),
    )
}

/// Adds a remembered unit to `env` and `rest` as [`depends`] says.
fn add_unit(
    unit: u32,
    (in_env, in_rest): (bool, bool),
    env: &mut Option<Vec<u32>>,
    rest: &mut Option<Vec<u32>>,
) {
    if in_env && let Some(e) = env {
        e.push(unit);
    }
    if in_rest && let Some(r) = rest {
        r.push(unit);
    }
}

impl Objects {
    /// The Mapping, when that is all there is.
    fn only_mapping(&self) -> Option<&std::sync::Arc<Mapping>> {
        match self.mappings.as_slice() {
            [m] if self.count() == 1 => Some(m),
            _ => None,
        }
    }

    /// How many objects there are, of every kind.
    fn count(&self) -> usize {
        let Objects {
            mappings,
            tcp_mappings,
            hosts,
            listeners,
            tls_contexts,
            modules,
            auth_services,
            rate_limit_services,
            log_services,
            tracing_services,
            secrets,
            resolvers,
            services,
            endpoints,
        } = self;
        mappings.len()
            + tcp_mappings.len()
            + hosts.len()
            + listeners.len()
            + tls_contexts.len()
            + modules.len()
            + auth_services.len()
            + rate_limit_services.len()
            + log_services.len()
            + tracing_services.len()
            + secrets.len()
            + resolvers.len()
            + services.len()
            + endpoints.len()
    }

    /// Adds `other`'s objects after ours.
    fn append(&mut self, mut other: Objects) {
        self.mappings.append(&mut other.mappings);
        self.tcp_mappings.append(&mut other.tcp_mappings);
        self.hosts.append(&mut other.hosts);
        self.listeners.append(&mut other.listeners);
        self.tls_contexts.append(&mut other.tls_contexts);
        self.modules.append(&mut other.modules);
        self.auth_services.append(&mut other.auth_services);
        self.rate_limit_services
            .append(&mut other.rate_limit_services);
        self.log_services.append(&mut other.log_services);
        self.tracing_services.append(&mut other.tracing_services);
        self.secrets.append(&mut other.secrets);
        self.resolvers.append(&mut other.resolvers);
        self.services.append(&mut other.services);
        self.endpoints.append(&mut other.endpoints);
    }

    /// Adds copies of `other`'s objects after ours.
    fn extend_from(&mut self, other: &Objects) {
        self.mappings.extend_from_slice(&other.mappings);
        self.tcp_mappings.extend_from_slice(&other.tcp_mappings);
        self.hosts.extend_from_slice(&other.hosts);
        self.listeners.extend_from_slice(&other.listeners);
        self.tls_contexts.extend_from_slice(&other.tls_contexts);
        self.modules.extend_from_slice(&other.modules);
        self.auth_services.extend_from_slice(&other.auth_services);
        self.rate_limit_services
            .extend_from_slice(&other.rate_limit_services);
        self.log_services.extend_from_slice(&other.log_services);
        self.tracing_services
            .extend_from_slice(&other.tracing_services);
        self.secrets
            .extend(other.secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.resolvers.extend_from_slice(&other.resolvers);
        self.services.extend_from_slice(&other.services);
        self.endpoints.extend_from_slice(&other.endpoints);
    }
}

/// Loads one document (or List item) into `out`. `parent` is the
/// `(name, namespace)` of the object whose `getambassador.io/config`
/// annotation holds it, which Emissary loads it under.
fn load_node(
    node: &Node,
    opts: &Options,
    diags: &mut Vec<Diagnostic>,
    out: &mut Objects,
    depth: u32,
    kube: &mut ingress::Kube,
    parent: Option<(&str, &str)>,
) {
    let Value::Map(_) = &node.value else {
        diags.push(
            Diagnostic::error(
                "not-an-object",
                format!("a manifest must be a mapping, found {}", node.type_name()),
            )
            .with_span(Some(node.span)),
        );
        return;
    };
    let api_version = node.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    let Some(kind_node) = node.get("kind") else {
        diags.push(
            Diagnostic::error("missing-kind", "manifest has no `kind`; it is ignored")
                .with_span(Some(node.span))
                .with_path("kind"),
        );
        return;
    };
    let Some(kind) = kind_node.as_str() else {
        diags.push(
            Diagnostic::error(
                "wrong-type",
                format!("`kind` must be a string, found {}", kind_node.type_name()),
            )
            .with_span(Some(kind_node.span))
            .with_path("kind"),
        );
        return;
    };
    if kind.ends_with("List") && api_version == "v1" || kind == "List" {
        if depth > 0 {
            diags.push(
                Diagnostic::error("nested-list", "a List inside a List is ignored")
                    .with_span(Some(node.span)),
            );
            return;
        }
        match node.get("items").map(|n| &n.value) {
            Some(Value::Seq(items)) => {
                for it in items {
                    load_node(it, opts, diags, out, depth + 1, kube, parent);
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => diags.push(
                Diagnostic::error("wrong-type", "`items` of a List must be a list")
                    .with_span(node.get("items").map(|n| n.span))
                    .with_path("items"),
            ),
        }
        return;
    }
    let group = api_version.split('/').next().unwrap_or("");
    let is_ambassador = group == "getambassador.io";
    let v2 = api_version == "getambassador.io/v2" || api_version == "getambassador.io/v1";
    if is_ambassador
        && !matches!(
            api_version,
            "getambassador.io/v2" | "getambassador.io/v3alpha1" | "getambassador.io/v1"
        )
    {
        diags.push(
            Diagnostic::warning(
                "unknown-api-version",
                format!("apiVersion `{api_version}` is not known; reading {kind} as getambassador.io/v3alpha1"),
            )
            .with_span(node.get("apiVersion").map(|n| n.span))
            .with_path("apiVersion"),
        );
    }

    let static_kind: &'static str = match (is_ambassador, kind) {
        (true, k) => match TRANSLATED.iter().chain(NOT_YET).find(|x| **x == k) {
            Some(k) => k,
            None => {
                diags.push(
                    Diagnostic::warning(
                        "unknown-kind",
                        format!("unknown getambassador.io kind `{kind}`; it is ignored"),
                    )
                    .with_span(Some(kind_node.span))
                    .with_path("kind"),
                );
                return;
            }
        },
        (false, "Secret") if api_version == "v1" => "Secret",
        (false, "Service") if api_version == "v1" => "Service",
        (false, "Endpoints") if api_version == "v1" => "Endpoints",
        (false, "Ingress") if matches!(group, "networking.k8s.io" | "extensions") => "Ingress",
        (false, "IngressClass") if group == "networking.k8s.io" => "IngressClass",
        (false, "EndpointSlice") if group == "discovery.k8s.io" => "EndpointSlice",
        (
            false,
            "Namespace"
            | "ConfigMap"
            | "ServiceAccount"
            | "Deployment"
            | "Pod"
            | "CustomResourceDefinition",
        ) => {
            return; // Kubernetes objects that play no part in routing.
        }
        _ => {
            diags.push(
                Diagnostic::warning(
                    "unknown-kind",
                    format!("`{api_version}` kind `{kind}` plays no part in Emissary configuration; it is ignored"),
                )
                .with_span(Some(kind_node.span))
                .with_path("kind"),
            );
            return;
        }
    };

    // The flat form (Emissary's annotation style): name and fields at top level.
    if is_ambassador && node.get("metadata").is_none() && node.get("name").is_some() {
        load_flat(node, static_kind, v2, opts, diags, out, parent);
        return;
    }

    // metadata
    let mut meta_cx = Cx {
        diags,
        obj: ObjectRef {
            kind: static_kind.to_string(),
            ..Default::default()
        },
    };
    let mut top = Fields::new(&mut meta_cx, node, "");
    top.ignore(&["apiVersion", "kind", "status"]);
    let name;
    let mut namespace = opts.ambassador_namespace.clone();
    let labels;
    match top.object(&mut meta_cx, "metadata") {
        Some(mut md) => {
            match md.str(&mut meta_cx, "name") {
                Some(n) => name = n.value,
                None => {
                    meta_cx.error(
                        "missing-field",
                        "metadata.name",
                        Some(node.span),
                        "`metadata.name` is required",
                    );
                    return;
                }
            }
            meta_cx.obj.name = name.clone();
            if let Some(ns) = md.str(&mut meta_cx, "namespace") {
                namespace = ns.value;
            }
            meta_cx.obj.namespace = namespace.clone();
            labels = read::labels(&mut meta_cx, &mut md, "labels");
            md.ignore(&[
                "annotations",
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "managedFields",
                "selfLink",
                "ownerReferences",
                "finalizers",
                "generateName",
                "deletionTimestamp",
            ]);
            md.finish(&mut meta_cx, "metadata");
        }
        None => {
            meta_cx.error(
                "missing-field",
                "metadata",
                Some(node.span),
                "`metadata` with a `name` is required",
            );
            return;
        }
    }
    let meta = Meta {
        kind: static_kind,
        name,
        namespace,
        labels,
        v2,
        span: node.span,
        annotation_parent: parent.map(|(n, ns)| (n.to_string(), ns.to_string())),
    };

    if opts.single_namespace && meta.namespace != opts.ambassador_namespace {
        return;
    }

    let mut cx = Cx {
        diags: meta_cx.diags,
        obj: meta.obj_ref(),
    };

    if !is_ambassador {
        match static_kind {
            "Secret" => {
                if let Some(s) = secret::secret(&mut cx, &mut top, meta) {
                    out.secrets
                        .insert((s.meta.namespace.clone(), s.meta.name.clone()), s);
                }
            }
            "Service" | "Ingress" | "IngressClass" | "Endpoints" | "EndpointSlice" => {
                match static_kind {
                    "Service" => kube.service(node, &meta.namespace, &meta.name),
                    "Ingress" => kube.ingress(node, &meta.name, &meta.namespace, &meta.labels),
                    "IngressClass" if !opts.single_namespace => {
                        kube.ingress_class(node, &meta.name, &opts.ambassador_id)
                    }
                    _ => {}
                }
                if matches!(static_kind, "Service" | "Endpoints" | "EndpointSlice") {
                    match resolvers::k8s_object(&mut cx, &mut top, meta.clone()) {
                        resolvers::K8sObject::Service(s) => out.services.push(Arc::new(s)),
                        resolvers::K8sObject::Endpoints(e) => out.endpoints.push(Arc::new(e)),
                    }
                }
                top.ignore(K8S_BODY_FIELDS);
                if matches!(static_kind, "Service" | "Ingress") {
                    let docs = ingress::annotation_docs(node, &cx.obj, &meta.labels, cx.diags);
                    top.finish(&mut cx, static_kind);
                    let me = Some((meta.name.as_str(), meta.namespace.as_str()));
                    for d in &docs {
                        load_node(d, opts, cx.diags, out, depth + 1, kube, me);
                    }
                    return;
                }
            }
            _ => {
                top.ignore(K8S_BODY_FIELDS);
            }
        }
        top.finish(&mut cx, static_kind);
        return;
    }

    let spec_node = top.node("spec");
    top.finish(&mut cx, static_kind);
    let empty = Node {
        value: Value::Map(Vec::new()),
        span: node.span,
    };
    let spec_node = spec_node.unwrap_or(&empty);
    load_spec(&mut cx, spec_node, "spec", meta, kind_node, opts, out);
}

/// Reads a flat-form object: `apiVersion`, `kind`, `name`, `namespace` and the spec fields side by side.
fn load_flat(
    node: &Node,
    kind: &'static str,
    v2: bool,
    opts: &Options,
    diags: &mut Vec<Diagnostic>,
    out: &mut Objects,
    parent: Option<(&str, &str)>,
) {
    let name = node.get("name").map(Node::scalar_text).unwrap_or_default();
    let namespace = node
        .get("namespace")
        .and_then(Node::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| opts.ambassador_namespace.clone());
    let mut cx = Cx {
        diags,
        obj: ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.clone(),
            name: name.clone(),
        },
    };
    let mut labels = BTreeMap::new();
    let mut entries = Vec::new();
    for (k, v) in node.as_map().unwrap_or_default() {
        match k.as_str() {
            Some(
                "apiVersion" | "kind" | "name" | "namespace" | "generation" | "metadata_labels",
            ) => {
                if k.as_str() == Some("metadata_labels") {
                    let mut f = Fields::new(&mut cx, node, "");
                    labels = read::labels(&mut cx, &mut f, "metadata_labels");
                }
            }
            _ => entries.push((k.clone(), v.clone())),
        }
    }
    if opts.single_namespace && namespace != opts.ambassador_namespace {
        return;
    }
    let meta = Meta {
        kind,
        name,
        namespace,
        labels,
        v2,
        span: node.span,
        annotation_parent: parent.map(|(n, ns)| (n.to_string(), ns.to_string())),
    };
    let spec = Node {
        value: Value::Map(entries),
        span: node.span,
    };
    let kind_node = node.get("kind").cloned().unwrap_or_else(|| spec.clone());
    load_spec(&mut cx, &spec, "", meta, &kind_node, opts, out);
}

/// Reads the spec of one object; an object with errors is left out entirely.
fn load_spec(
    cx: &mut Cx<'_>,
    spec_node: &Node,
    path: &str,
    meta: Meta,
    kind_node: &Node,
    opts: &Options,
    out: &mut Objects,
) {
    let count = |d: &[Diagnostic]| {
        d.iter()
            .filter(|d| {
                d.severity == crate::diag::Severity::Error
                    && !module::ERRORS_KEEPING_MODULE.contains(&d.code)
            })
            .count()
    };
    let errors_before = count(cx.diags);
    let obj = meta.obj_ref();
    let span = meta.span;
    // A broken AuthService is kept, marked, so that it fails closed.
    let auth_meta = (meta.kind == "AuthService").then(|| meta.clone());
    let mut loaded = Objects::default();
    let converted;
    let spec_node = if meta.v2 {
        let mut s = spec_node.clone();
        let mut sink = v2::Sink {
            diags: cx.diags,
            obj: obj.clone(),
            path,
        };
        v2::convert(meta.kind, &mut s, &mut sink);
        converted = s;
        &converted
    } else {
        spec_node
    };
    read_spec(cx, spec_node, path, meta, kind_node, opts, &mut loaded);
    if count(cx.diags) > errors_before {
        if let Some(meta) = auth_meta {
            out.auth_services.push(AuthService {
                meta,
                broken: true,
                ..Default::default()
            });
        }
        // Like an API server rejecting an invalid object: nothing of it is used.
        cx.diags.push(
            Diagnostic::info(
                "object-ignored",
                format!("{obj} is left out because of its errors"),
            )
            .with_object(obj)
            .with_span(Some(Span {
                end: span.start,
                ..span
            })),
        );
        return;
    }
    out.append(loaded);
}

fn read_spec(
    cx: &mut Cx<'_>,
    spec_node: &Node,
    path: &str,
    meta: Meta,
    kind_node: &Node,
    opts: &Options,
    out: &mut Objects,
) {
    let static_kind = meta.kind;
    let cx = &mut *cx;
    let mut spec = Fields::new(cx, spec_node, path);

    // ambassador_id filtering: absent means "default".
    let mut ids = spec
        .str_list(cx, "ambassador_id")
        .map(|v| v.into_iter().map(|s| s.value).collect::<Vec<_>>());
    // A Host's `ambassadorId` counts too, in every apiVersion, as in
    // Emissary's translator (for getambassador.io/v2 the conversion has
    // already joined it to `ambassador_id`).
    if static_kind == "Host"
        && let Some(more) = spec.str_list(cx, "ambassadorId")
    {
        ids.get_or_insert_with(Vec::new)
            .extend(more.into_iter().map(|s| s.value));
    }
    let ids = ids.unwrap_or_else(|| vec!["default".to_string()]);
    if !ids.contains(&opts.ambassador_id) {
        return;
    }
    spec.ignore(&["ambassador_id"]);

    let read = match static_kind {
        "Mapping" => {
            mapping::mapping(cx, &mut spec, meta).map(|m| out.mappings.push(std::sync::Arc::new(m)))
        }
        "TCPMapping" => {
            tcp_mapping::tcp_mapping(cx, &mut spec, meta).map(|m| out.tcp_mappings.push(m))
        }
        "Host" => host::host(cx, &mut spec, meta).map(|h| out.hosts.push(h)),
        "Listener" => listener::listener(cx, &mut spec, meta).map(|l| out.listeners.push(l)),
        "TLSContext" => {
            tls_context::tls_context(cx, &mut spec, meta).map(|t| out.tls_contexts.push(t))
        }
        "Module" => module::module(cx, &mut spec, meta).map(|m| out.modules.push(m)),
        "AuthService" => {
            services::auth_service(cx, &mut spec, meta).map(|a| out.auth_services.push(a))
        }
        "RateLimitService" => services::rate_limit_service(cx, &mut spec, meta)
            .map(|r| out.rate_limit_services.push(r)),
        "LogService" => {
            observability::log_service(cx, &mut spec, meta).map(|s| out.log_services.push(s))
        }
        "TracingService" => observability::tracing_service(cx, &mut spec, meta)
            .map(|s| out.tracing_services.push(s)),
        "KubernetesServiceResolver" | "KubernetesEndpointResolver" | "ConsulResolver" => {
            resolvers::resolver(cx, &mut spec, meta).map(|r| out.resolvers.push(r))
        }
        other => {
            cx.warning(
                "kind-not-supported",
                "",
                Some(kind_node.span),
                format!("{other} is not translated by this version; the object is ignored"),
            );
            None
        }
    };
    // Unknown fields are only worth reporting on objects that are used.
    if read.is_some() {
        spec.finish(cx, static_kind);
    }
}

#[cfg(test)]
mod load_order_tests {
    use super::load_cmp;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn name_first_then_namespace_as_one_string() {
        // `a.b.1` < `b.a.1`: the name decides before the namespace.
        assert_eq!(load_cmp(("a", "b"), ("b", "a")), Less);
        assert_eq!(load_cmp(("x", "a"), ("x", "b")), Less);
        assert_eq!(load_cmp(("x", "a"), ("x", "a")), Equal);
        // `-` sorts before `.`: `a-b.ns.1` < `a.ns.1`, and namespace `a-b`
        // before `a` for one name.
        assert_eq!(load_cmp(("a-b", "ns"), ("a", "ns")), Less);
        assert_eq!(load_cmp(("x", "a-b"), ("x", "a")), Less);
        // A name that is a prefix of another: `ab.ns.1` vs `a.ns.1`.
        assert_eq!(load_cmp(("ab", "ns"), ("a", "ns")), Greater);
        // A dot in the name meets the separator: `a.b.c.1` vs `a.b.1`
        // (`c` > `1`).
        assert_eq!(load_cmp(("a.b", "c"), ("a", "b")), Greater);
        assert_eq!(load_cmp(("a", "b"), ("a.b", "c")), Less);
    }

    #[test]
    fn the_fast_paths_agree_with_the_whole_key() {
        let parts = ["", "a", "b", "a-b", "a.b", "ab", "a.", ".1", "1", "-"];
        for an in parts {
            for ans in parts {
                for bn in parts {
                    for bns in parts {
                        let whole = |n: &str, ns: &str| format!("{n}.{ns}.1");
                        assert_eq!(
                            load_cmp((an, ans), (bn, bns)),
                            whole(an, ans).cmp(&whole(bn, bns)),
                            "{an}.{ans} vs {bn}.{bns}"
                        );
                    }
                }
            }
        }
    }
}
