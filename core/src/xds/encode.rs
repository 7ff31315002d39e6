//! Encoding a translation's resources for ADS, incrementally.
//!
//! [`Encoded`] holds, per xDS type URL, the resources by name, each packed as
//! an `Any` with a version (a hash of its encoded bytes) and the objects it
//! came from. An [`Encoder`] builds one translation after another and shares
//! what did not change with the one before: a cluster whose IR is unchanged
//! keeps its encoded resource, and a route configuration is assembled from
//! the encodings of its routes, kept by the shared IR route they came from,
//! so only new routes are built and encoded. A load assignment whose
//! addresses are unchanged keeps its encoding too, and an IR that is the
//! one before but for its endpoints (an Endpoints or EndpointSlice change)
//! keeps every other resource as it is. The bytes are always those of
//! encoding each whole message ([`super::build`] in [`super::Mode::Ads`]);
//! the tests below check it byte for byte.
//!
//! Why this is sound: in ADS mode a cluster's message depends on its IR
//! cluster alone (endpoints travel by EDS), which `core/tests/incremental.rs`
//! checks, so an equal IR cluster (the same `Arc`, or an equal value) has an
//! equal encoding. A route's message depends on its IR route, the variant
//! it is seen through and whether an ext_authz filter is installed (which
//! clears the kept routes when it changes); a kept route is keyed by the
//! address of its `Arc`, kept alive with it so that the address is not
//! reused. Splicing gives the bytes of the whole message because prost
//! writes fields in declaration order, and a RouteConfiguration starts with
//! `name` and `virtual_hosts`, a VirtualHost with `name`, `domains` and
//! `routes`.
//!
//! The core starts no thread: the independent encodings and hashes of one
//! translation go through a [`Parallel`] that the host supplies ([`Serial`]
//! runs them in order). The result does not depend on how they ran.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use sha2::{Digest as _, Sha256};

use super::Mode;
use crate::diag::ObjectRef;
use crate::hash::FixedHashMap;
use crate::ir::{self, Ir};
use crate::pb::Any;
use crate::pb::envoy::extensions::transport_sockets::tls::v3 as tls;

/// `type.googleapis.com/envoy.config.listener.v3.Listener` (LDS).
pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
/// `type.googleapis.com/envoy.config.route.v3.RouteConfiguration` (RDS).
pub const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
/// `type.googleapis.com/envoy.config.cluster.v3.Cluster` (CDS).
pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
/// `type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment` (EDS).
pub const ENDPOINT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
/// `type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret` (SDS).
pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

/// Every type, in make-before-break push order: clusters
/// first, then their endpoints, then secrets, then listeners, then the route
/// configurations the listeners name.
pub const TYPE_ORDER: [&str; 5] = [CLUSTER, ENDPOINT, SECRET, LISTENER, ROUTE];

/// Whether an empty `resource_names` list means "everything" for this type
/// (LDS and CDS; the other types are requested by name).
pub fn is_wildcard_type(type_url: &str) -> bool {
    type_url == LISTENER || type_url == CLUSTER
}

/// A short human name for a type URL (`clusters`, `listeners`, …), as used in
/// a host's debug output.
pub fn type_short_name(type_url: &str) -> &'static str {
    match type_url {
        LISTENER => "listeners",
        ROUTE => "routes",
        CLUSTER => "clusters",
        ENDPOINT => "endpoints",
        SECRET => "secrets",
        _ => "unknown",
    }
}

/// One resource, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The resource's name (`cluster_name` for a ClusterLoadAssignment).
    pub name: String,
    /// Hex content hash of the encoded message: changes iff the bytes change.
    pub version: String,
    /// The encoded message.
    pub any: Any,
    /// The objects it came from, as `Kind/namespace/name`, sorted; empty
    /// when the IR does not record them.
    pub sources: Vec<String>,
}

/// The resources of one type, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeResources {
    /// By name; shared with the results before when unchanged (see [`Encoder`]).
    pub resources: BTreeMap<String, Arc<Resource>>,
    /// Hex hash over every name and version: equal iff the contents are.
    pub digest: String,
    /// Total encoded bytes.
    pub bytes: usize,
}

/// Count and size of one type's resources, for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeStats {
    /// The type URL.
    pub type_url: &'static str,
    /// Number of resources.
    pub count: usize,
    /// Their encoded size in bytes.
    pub bytes: usize,
}

/// Every resource of one translation, encoded, per type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    /// Indexed like [`TYPE_ORDER`].
    types: [Arc<TypeResources>; 5],
}

impl Encoded {
    /// The resources of a translation's IR, encoded from nothing.
    pub fn new(ir: &Ir, parallel: &dyn Parallel) -> Encoded {
        build(ir, None, &mut RouteCache::default(), parallel).0
    }

    /// Resources already packed, per type URL (types outside
    /// [`TYPE_ORDER`] are ignored). For tests and tools.
    pub fn from_resources<'a>(
        resources: impl IntoIterator<Item = (&'a str, String, Any, Vec<String>)>,
    ) -> Encoded {
        let mut b = Builder::default();
        for (type_url, name, any, sources) in resources {
            b.add(type_url, &name, any, sources);
        }
        b.finish()
    }

    /// The resources of a type (`None` for a type outside [`TYPE_ORDER`]).
    pub fn resources(&self, type_url: &str) -> Option<&TypeResources> {
        let i = TYPE_ORDER.iter().position(|t| *t == type_url)?;
        Some(&self.types[i])
    }

    /// Every type with its resources, in [`TYPE_ORDER`].
    pub fn types(&self) -> impl Iterator<Item = (&'static str, &TypeResources)> {
        TYPE_ORDER
            .iter()
            .copied()
            .zip(self.types.iter().map(|t| &**t))
    }

    /// True when both hold the same resources (every type's digest agrees).
    pub fn same_content(&self, other: &Encoded) -> bool {
        self.types
            .iter()
            .zip(&other.types)
            .all(|(a, b)| a.digest == b.digest)
    }

    /// One resource by type URL and name.
    pub fn get(&self, type_url: &str, name: &str) -> Option<&Resource> {
        self.resources(type_url)?.resources.get(name).map(|r| &**r)
    }

    /// Count and bytes per type, in [`TYPE_ORDER`].
    pub fn stats(&self) -> Vec<TypeStats> {
        self.types()
            .map(|(t, r)| TypeStats {
                type_url: t,
                count: r.resources.len(),
                bytes: r.bytes,
            })
            .collect()
    }
}

/// Runs the independent jobs of one encoding. The core never starts a
/// thread; a host that has them supplies an implementation that spreads the
/// jobs over several.
pub trait Parallel: Sync {
    /// Calls `job(i)` once for every `i` in `0..jobs`, in any order and on
    /// any threads, and returns when every call has returned.
    fn run(&self, jobs: usize, job: &(dyn Fn(usize) + Sync));
}

/// Runs the jobs one after the other, on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Serial;

impl Parallel for Serial {
    fn run(&self, jobs: usize, job: &(dyn Fn(usize) + Sync)) {
        (0..jobs).for_each(job);
    }
}

/// The digest of a set of resources given as (name, version) in name
/// order: [`TypeResources::digest`] when they are all of a type's resources.
/// Equal iff the names and versions are.
pub fn content_digest<'a>(resources: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (name, version) in resources {
        parts.push(name.as_bytes());
        parts.push(version.as_bytes());
    }
    hex_hash(&parts)
}

/// Lower-case hex of the first 16 bytes of a SHA-256.
fn hex_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Encodes a translation's IR; clusters and endpoints whose IR equals
/// theirs in `last` (the IR a result was built from, and that result) are
/// taken from it instead of being built and encoded again. Returns how many
/// clusters were.
fn build(
    ir: &Ir,
    last: Option<&LastBuilt>,
    route_cache: &mut RouteCache,
    parallel: &dyn Parallel,
) -> (Encoded, usize) {
    let res = super::skeleton(ir);
    let route_configs = route_cache.encode(ir, &res.routes);
    let src = Sources::new(ir);
    // The last IR clusters and their encodings, walked alongside this
    // translation's (all three are sorted by name).
    let mut last_ir = last.map(|(last, _)| last.clusters.iter().peekable());
    let mut last_encoded = last
        .and_then(|(_, last)| last.resources(CLUSTER))
        .map(|r| r.resources.iter().peekable());
    let mut kept = Vec::new();
    let mut built = Vec::new();
    for c in ir.clusters.values() {
        let same = seek(&mut last_ir, &c.name)
            .is_some_and(|l| Arc::ptr_eq(l, c) || **l == **c)
            .then(|| seek(&mut last_encoded, &c.name).cloned())
            .flatten();
        match same {
            Some(r) => kept.push(r),
            None => built.push(super::cluster(ir, c, Mode::Ads)),
        }
    }
    // Biggest first, so that no worker is left with a large one at the end.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.extend(route_configs.iter().map(|c| Job::Route(&c.name, &c.bytes)));
    jobs.extend(res.listeners.iter().map(Job::Listener));
    jobs.extend(res.secrets.iter().map(Job::Secret));
    jobs.extend(built.iter().map(Job::Cluster));
    let (kept_endpoints, endpoints) = endpoints(ir, last, &src);
    jobs.extend(endpoints.iter().map(Job::Endpoint));
    let mut b = Builder::default();
    let encoded = encode_all(&jobs, &src, parallel);
    drop(jobs);
    let mut route_sources: BTreeMap<String, Vec<String>> = route_configs
        .into_iter()
        .map(|c| (c.name, c.sources))
        .collect();
    for (type_url, mut r) in encoded {
        if type_url == ROUTE {
            r.sources = route_sources.remove(&r.name).unwrap_or_default();
        }
        b.insert(type_url, Arc::new(r));
    }
    let reused = kept.len();
    for r in kept {
        b.insert(CLUSTER, r);
    }
    for r in kept_endpoints {
        b.insert(ENDPOINT, r);
    }
    (b.finish(), reused)
}

/// The load assignments of the IR's endpoints: those whose addresses and
/// sources equal theirs in `last` taken from it, the others built.
fn endpoints(
    ir: &Ir,
    last: Option<&LastBuilt>,
    src: &Sources<'_>,
) -> (
    Vec<Arc<Resource>>,
    Vec<crate::pb::envoy::config::endpoint::v3::ClusterLoadAssignment>,
) {
    let mut last_ir = last.map(|(last, _)| last.endpoints.iter().peekable());
    let mut last_encoded = last
        .and_then(|(_, last)| last.resources(ENDPOINT))
        .map(|r| r.resources.iter().peekable());
    let mut kept = Vec::new();
    let mut built = Vec::new();
    for (name, addrs) in &ir.endpoints {
        let same = seek(&mut last_ir, name)
            .is_some_and(|l| l == addrs)
            .then(|| seek(&mut last_encoded, name))
            .flatten()
            .filter(|r| r.sources == src.cluster(name));
        match same {
            Some(r) => kept.push(r.clone()),
            None => built.push(super::endpoint::load_assignment(name, addrs)),
        }
    }
    (kept, built)
}

/// The same shared value, or an equal one.
fn same_arcs<T: PartialEq>(x: &Arc<T>, y: &Arc<T>) -> bool {
    Arc::ptr_eq(x, y) || x == y
}

/// Whether two IRs are the same but for their endpoints: then every
/// resource but the load assignments is the same in ADS mode.
fn same_but_endpoints(a: &Ir, b: &Ir) -> bool {
    let Ir {
        listeners,
        routes,
        clusters,
        secrets,
        endpoints: _,
        http,
        filters,
        access_logs,
        tracing,
        referenced_secrets: _,
        // Only a static bootstrap holds it, never an ADS resource.
        bootstrap: _,
    } = a;
    *http == b.http
        && *filters == b.filters
        && *access_logs == b.access_logs
        && *tracing == b.tracing
        && *secrets == b.secrets
        && routes.len() == b.routes.len()
        && routes.iter().zip(&b.routes).all(|(x, y)| same_arcs(x, y))
        && clusters.len() == b.clusters.len()
        && clusters
            .iter()
            .zip(&b.clusters)
            .all(|((n, x), (m, y))| n == m && same_arcs(x, y))
        && *listeners == b.listeners
}

/// [`build`] for an IR that is `last`'s but for its endpoints: every other
/// resource is `last`'s.
fn build_endpoints(ir: &Ir, last: &LastBuilt, parallel: &dyn Parallel) -> Encoded {
    let src = Sources::new(ir);
    let (kept, built) = endpoints(ir, Some(last), &src);
    let jobs: Vec<Job<'_>> = built.iter().map(Job::Endpoint).collect();
    let mut types = last.1.types.clone();
    let mut b = Builder::default();
    for (type_url, r) in encode_all(&jobs, &src, parallel) {
        b.insert(type_url, Arc::new(r));
    }
    for r in kept {
        b.insert(ENDPOINT, r);
    }
    let i = TYPE_ORDER.iter().position(|t| *t == ENDPOINT).unwrap_or(1);
    types[i] = b.finish().types[i].clone();
    Encoded { types }
}

/// The value of `name` in a map being walked in name order, passing the
/// names before it.
fn seek<'a, V>(
    walk: &mut Option<std::iter::Peekable<std::collections::btree_map::Iter<'a, String, V>>>,
    name: &str,
) -> Option<&'a V> {
    let walk = walk.as_mut()?;
    while walk.next_if(|(n, _)| n.as_str() < name).is_some() {}
    walk.next_if(|(n, _)| n.as_str() == name).map(|(_, v)| v)
}

/// Encodes translations one after another, sharing what is unchanged: a
/// cluster depends on its IR alone ([`super::cluster`] in [`Mode::Ads`]), so a
/// cluster whose IR equals the one encoded before is not built, encoded and
/// hashed again, and both results share the one resource; routes are kept
/// by the IR route they came from. The result equals
/// [`Encoded::new`]'s.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The IR of the last translation encoded, and its result.
    last: Option<LastBuilt>,
    /// Clusters the last result took from the one before.
    reused: usize,
    /// The encoded routes of the last result.
    routes: RouteCache,
}

impl Encoder {
    /// The resources of a translation's IR; the IR is kept for the next
    /// call. When it is the last one's but for its endpoints, only the
    /// changed load assignments are built.
    pub fn encode(&mut self, ir: Ir, parallel: &dyn Parallel) -> Arc<Encoded> {
        let (encoded, reused) = match &self.last {
            Some(last) if same_but_endpoints(&ir, &last.0) => {
                (build_endpoints(&ir, last, parallel), last.0.clusters.len())
            }
            last => build(&ir, last.as_ref(), &mut self.routes, parallel),
        };
        let encoded = Arc::new(encoded);
        self.reused = reused;
        self.last = Some((Arc::new(ir), encoded.clone()));
        encoded
    }

    /// The IR of the last translation encoded (what the last result was
    /// built from), shared.
    pub fn last_ir(&self) -> Option<&Arc<Ir>> {
        self.last.as_ref().map(|(ir, _)| ir)
    }

    /// Clusters the last call took from the one before.
    pub fn reused_clusters(&self) -> usize {
        self.reused
    }
}

/// The IR a result was built from, and that result.
type LastBuilt = (Arc<Ir>, Arc<Encoded>);

/// An IR route (by address) seen through a variant.
type RouteKey = (usize, ir::Matcher, ir::Action);

/// A route as the cache keeps it.
#[derive(Debug)]
struct CachedRoute {
    /// Kept so that its address is not reused while it is a key.
    _route: Arc<ir::Route>,
    encoded: Vec<u8>,
    /// `Kind/namespace/name` of the object it came from.
    source: String,
}

/// A route configuration, encoded.
struct EncodedRoutes {
    name: String,
    bytes: Vec<u8>,
    /// The objects its virtual hosts and routes came from, sorted.
    sources: Vec<String>,
}

/// Encoded routes by the IR route (shared from one translation to the
/// next, see `crate::lower`) and variant they came from: a route
/// configuration is assembled from them, and only routes not in the last
/// result are built and encoded. The bytes are those of encoding the
/// whole configuration at once.
#[derive(Debug, Default)]
struct RouteCache {
    /// Whether the routes carry ext_authz settings (the only other thing a
    /// route depends on).
    ext_authz: bool,
    /// By the IR route's address (the route is kept, so the address is not
    /// reused while it is here) and variant.
    routes: FixedHashMap<RouteKey, CachedRoute>,
    reused: usize,
}

impl RouteCache {
    /// Encodes the route configurations `skeletons` (from
    /// `super::skeleton`) with their routes, by name.
    fn encode(
        &mut self,
        ir: &Ir,
        skeletons: &[crate::pb::envoy::config::route::v3::RouteConfiguration],
    ) -> Vec<EncodedRoutes> {
        let builder = super::route::Routes::new(ir);
        let mut old = std::mem::take(&mut self.routes);
        if builder.ext_authz() != self.ext_authz {
            old.clear();
            self.ext_authz = builder.ext_authz();
        }
        self.reused = 0;
        let layout = super::route_layout(ir);
        let mut out = Vec::with_capacity(skeletons.len());
        for rc in skeletons {
            let vhosts = layout.get(rc.name.as_str()).copied().unwrap_or_default();
            let mut keys = Vec::with_capacity(vhosts.len());
            for vh in vhosts {
                let mut ks = Vec::with_capacity(vh.routes.len());
                for r in &vh.routes {
                    let Some(route) = ir.routes.get(r.route as usize) else {
                        continue;
                    };
                    let key = (Arc::as_ptr(route) as usize, r.matcher, r.action);
                    if !self.routes.contains_key(&key) {
                        let entry = match old.remove(&key) {
                            Some(e) => {
                                self.reused += 1;
                                e
                            }
                            None => CachedRoute {
                                _route: route.clone(),
                                encoded: prost::Message::encode_to_vec(&builder.get(r)),
                                source: object_ref(&route.source),
                            },
                        };
                        self.routes.insert(key, entry);
                    }
                    ks.push(key);
                }
                keys.push(ks);
            }
            let bytes = splice(
                rc,
                keys.iter()
                    .map(|ks| ks.iter().map(|k| self.routes[k].encoded.as_slice())),
            );
            let hosts: Vec<String> = vhosts.iter().map(|vh| object_ref(&vh.host)).collect();
            let mut sources: Vec<&str> = hosts.iter().map(String::as_str).collect();
            sources.extend(
                keys.iter()
                    .flatten()
                    .map(|k| self.routes[k].source.as_str()),
            );
            sources.sort_unstable();
            sources.dedup();
            out.push(EncodedRoutes {
                name: rc.name.clone(),
                bytes,
                sources: sources.into_iter().map(str::to_string).collect(),
            });
        }
        out
    }
}

/// A route configuration encoded with the encoded routes of each virtual
/// host spliced in: the bytes `prost` gives for the whole message, whose
/// fields it writes in declaration order (`name`, `virtual_hosts`, the
/// rest; in a virtual host `name`, `domains`, `routes`, the rest).
fn splice<'r, V, R>(
    rc: &crate::pb::envoy::config::route::v3::RouteConfiguration,
    routes: V,
) -> Vec<u8>
where
    V: Iterator<Item = R>,
    R: Iterator<Item = &'r [u8]> + Clone,
{
    use crate::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost};
    use prost::Message as _;
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
    let mut out = RouteConfiguration {
        name: rc.name.clone(),
        ..Default::default()
    }
    .encode_to_vec();
    for (vh, routes) in rc.virtual_hosts.iter().zip(routes) {
        let head = VirtualHost {
            name: vh.name.clone(),
            domains: vh.domains.clone(),
            ..Default::default()
        }
        .encode_to_vec();
        let tail = VirtualHost {
            name: String::new(),
            domains: Vec::new(),
            routes: Vec::new(),
            ..vh.clone()
        }
        .encode_to_vec();
        let body: usize = routes
            .clone()
            .map(|r| key_len(3) + encoded_len_varint(r.len() as u64) + r.len())
            .sum();
        encode_key(2, WireType::LengthDelimited, &mut out);
        encode_varint((head.len() + body + tail.len()) as u64, &mut out);
        out.extend_from_slice(&head);
        for r in routes {
            encode_key(3, WireType::LengthDelimited, &mut out);
            encode_varint(r.len() as u64, &mut out);
            out.extend_from_slice(r);
        }
        out.extend_from_slice(&tail);
    }
    RouteConfiguration {
        name: String::new(),
        virtual_hosts: Vec::new(),
        ..rc.clone()
    }
    .encode_raw(&mut out);
    out
}

/// One resource to encode.
enum Job<'a> {
    Listener(&'a crate::pb::envoy::config::listener::v3::Listener),
    /// A route configuration, encoded.
    Route(&'a str, &'a [u8]),
    Cluster(&'a crate::pb::envoy::config::cluster::v3::Cluster),
    Endpoint(&'a crate::pb::envoy::config::endpoint::v3::ClusterLoadAssignment),
    Secret(&'a tls::Secret),
}

impl Job<'_> {
    fn run(&self, src: &Sources<'_>) -> (&'static str, Resource) {
        let (type_url, name, any, sources) = match self {
            Job::Listener(l) => (
                LISTENER,
                &*l.name,
                crate::pb::any(*l),
                src.listener(&l.name),
            ),
            // Its sources come from the route cache.
            Job::Route(name, bytes) => (
                ROUTE,
                *name,
                Any {
                    type_url: ROUTE.into(),
                    value: bytes.to_vec(),
                },
                Vec::new(),
            ),
            Job::Cluster(c) => (CLUSTER, &*c.name, crate::pb::any(*c), src.cluster(&c.name)),
            Job::Endpoint(e) => (
                ENDPOINT,
                &*e.cluster_name,
                crate::pb::any(*e),
                src.cluster(&e.cluster_name),
            ),
            Job::Secret(s) => (SECRET, &*s.name, crate::pb::any(*s), src.secret(&s.name)),
        };
        (type_url, Resource::new(name, any, sources))
    }
}

/// Runs every job through `parallel`; the results come in job order.
fn encode_all(
    jobs: &[Job<'_>],
    src: &Sources<'_>,
    parallel: &dyn Parallel,
) -> Vec<(&'static str, Resource)> {
    let done: Vec<OnceLock<(&'static str, Resource)>> =
        jobs.iter().map(|_| OnceLock::new()).collect();
    parallel.run(jobs.len(), &|i| {
        if let (Some(job), Some(slot)) = (jobs.get(i), done.get(i)) {
            let _ = slot.set(job.run(src));
        }
    });
    // A job that a faulty `Parallel` left out runs here.
    done.into_iter()
        .zip(jobs)
        .map(|(slot, job)| slot.into_inner().unwrap_or_else(|| job.run(src)))
        .collect()
}

impl Resource {
    fn new(name: &str, any: Any, sources: Vec<String>) -> Resource {
        Resource {
            name: name.to_string(),
            version: hex_hash(&[&any.value]),
            any,
            sources,
        }
    }
}

#[derive(Default)]
struct Builder {
    types: [BTreeMap<String, Arc<Resource>>; 5],
}

impl Builder {
    fn add(&mut self, type_url: &str, name: &str, any: Any, sources: Vec<String>) {
        self.insert(type_url, Arc::new(Resource::new(name, any, sources)));
    }

    fn insert(&mut self, type_url: &str, r: Arc<Resource>) {
        let Some(i) = TYPE_ORDER.iter().position(|t| *t == type_url) else {
            return;
        };
        debug_assert_eq!(r.any.type_url, type_url);
        self.types[i].insert(r.name.clone(), r);
    }

    fn finish(self) -> Encoded {
        let types = self.types.map(|resources| {
            let digest = content_digest(
                resources
                    .values()
                    .map(|r| (r.name.as_str(), r.version.as_str())),
            );
            Arc::new(TypeResources {
                digest,
                bytes: resources.values().map(|r| r.any.value.len()).sum(),
                resources,
            })
        });
        Encoded { types }
    }
}

/// Which objects each resource came from, as far as the IR records it.
struct Sources<'a> {
    ir: &'a Ir,
}

impl<'a> Sources<'a> {
    fn new(ir: &'a Ir) -> Self {
        Sources { ir }
    }

    fn listener(&self, name: &str) -> Vec<String> {
        refs(
            self.ir
                .listeners
                .iter()
                .filter(|l| l.name == name)
                .flat_map(|l| &l.sources),
        )
    }

    fn cluster(&self, name: &str) -> Vec<String> {
        self.ir
            .clusters
            .get(name)
            .map(|c| refs(&c.sources))
            .unwrap_or_default()
    }

    fn secret(&self, name: &str) -> Vec<String> {
        self.ir
            .secrets
            .get(name)
            .map(|s| vec![object_ref(&s.source)])
            .unwrap_or_default()
    }
}

/// The objects as `Kind/namespace/name` strings, sorted, without repeats.
/// (Every resource gets these: thousands per translation.)
fn refs<'o>(objects: impl IntoIterator<Item = &'o ObjectRef>) -> Vec<String> {
    let mut out: Vec<String> = objects.into_iter().map(object_ref).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `Kind/namespace/name` (or `Kind/name` without a namespace).
fn object_ref(o: &ObjectRef) -> String {
    let mut s = String::with_capacity(o.kind.len() + o.namespace.len() + o.name.len() + 2);
    s.push_str(&o.kind);
    s.push('/');
    if !o.namespace.is_empty() {
        s.push_str(&o.namespace);
        s.push('/');
    }
    s.push_str(&o.name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Translation;
    use prost::Name as _;

    /// Runs the jobs on two threads, taking turns from both ends: another
    /// order than [`Serial`]'s.
    struct TwoThreads;

    impl Parallel for TwoThreads {
        #[allow(clippy::disallowed_methods)] // the host's part, played by a test
        fn run(&self, jobs: usize, job: &(dyn Fn(usize) + Sync)) {
            std::thread::scope(|s| {
                s.spawn(|| (0..jobs).filter(|i| i % 2 == 0).rev().for_each(job));
                (0..jobs).filter(|i| i % 2 == 1).for_each(job);
            });
        }
    }

    #[test]
    fn refs_are_sorted_unique_strings() {
        let o = |kind: &str, namespace: &str, name: &str| ObjectRef {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        let objects = [
            o("Mapping", "default", "b"),
            o("Host", "", "any"),
            o("Mapping", "default", "a"),
            o("Mapping", "default", "b"),
        ];
        assert_eq!(
            refs(&objects),
            ["Host/any", "Mapping/default/a", "Mapping/default/b"]
        );
    }

    #[test]
    fn type_urls_are_the_generated_ones() {
        use crate::pb::envoy::config;
        assert_eq!(config::listener::v3::Listener::type_url(), LISTENER);
        assert_eq!(config::route::v3::RouteConfiguration::type_url(), ROUTE);
        assert_eq!(config::cluster::v3::Cluster::type_url(), CLUSTER);
        assert_eq!(
            config::endpoint::v3::ClusterLoadAssignment::type_url(),
            ENDPOINT
        );
        assert_eq!(tls::Secret::type_url(), SECRET);
    }

    #[test]
    fn encoding_on_threads_gives_the_one_thread_result() {
        use std::fmt::Write as _;
        let mut text = String::from(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n\
             metadata: {name: l, namespace: default}\n\
             spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
        );
        for k in 0..600 {
            let _ = write!(
                text,
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                 metadata: {{name: m-{k}, namespace: default}}\n\
                 spec: {{hostname: \"*\", prefix: /s-{k}/, service: \"svc-{k}:80\"}}\n"
            );
        }
        let t = crate::translate(&crate::Inputs {
            files: vec![crate::SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Default::default(),
        });
        let shared = Encoded::new(&t.ir, &TwoThreads);
        let res = t.resources(Mode::Ads);
        let src = Sources::new(&t.ir);
        let layout = crate::xds::route_layout(&t.ir);
        let mut one = Builder::default();
        for r in &res.routes {
            // The Hosts and Mappings of its virtual hosts and routes.
            let sources = refs(layout[r.name.as_str()].iter().flat_map(|vh| {
                std::iter::once(&vh.host).chain(
                    vh.routes
                        .iter()
                        .map(|r| &t.ir.routes[r.route as usize].source),
                )
            }));
            one.add(ROUTE, &r.name, crate::pb::any(r), sources);
        }
        for l in &res.listeners {
            one.add(LISTENER, &l.name, crate::pb::any(l), src.listener(&l.name));
        }
        for c in &res.clusters {
            one.add(CLUSTER, &c.name, crate::pb::any(c), src.cluster(&c.name));
        }
        for e in &res.endpoints {
            let name = &e.cluster_name;
            one.add(ENDPOINT, name, crate::pb::any(e), src.cluster(name));
        }
        let one = one.finish();
        assert!(shared.resources(CLUSTER).unwrap().resources.len() > 500);
        assert_eq!(shared, one);
    }

    fn translation(mappings: &[(&str, &str)]) -> Translation {
        let mut text = String::from(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n\
             metadata: {name: l, namespace: default}\n\
             spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
        );
        for (k, (service, extra)) in mappings.iter().enumerate() {
            text.push_str(&format!(
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                 metadata: {{name: m-{k}, namespace: default}}\n\
                 spec: {{hostname: \"*\", prefix: /s-{k}/, service: \"{service}\"{extra}}}\n"
            ));
        }
        crate::translate(&crate::Inputs {
            files: vec![crate::SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Default::default(),
        })
    }

    /// Every golden input, then again with one Mapping edited, through one
    /// core `Translator` (which shares unchanged routes) and one `Encoder`
    /// (which keeps their encodings): each route configuration has the bytes
    /// of encoding core's complete `RouteConfiguration`.
    #[test]
    #[allow(clippy::disallowed_methods)] // reads the golden inputs
    fn spliced_route_configurations_are_what_encoding_them_whole_gives() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
        let mut inputs = Vec::new();
        for group in std::fs::read_dir(&root).unwrap() {
            for case in std::fs::read_dir(group.unwrap().path()).unwrap() {
                let path = case.unwrap().path().join("input.yaml");
                if let Ok(text) = std::fs::read_to_string(&path) {
                    inputs.push((path.display().to_string(), text));
                }
            }
        }
        inputs.sort();
        assert!(inputs.len() > 100);
        let mut core = crate::Translator::default();
        let mut encoder = Encoder::default();
        let (mut configs, mut reused) = (0, 0);
        for (name, text) in &inputs {
            for text in [
                text.clone(),
                text.replacen("prefix: /", "prefix: /edited-", 1),
            ] {
                let inputs = crate::Inputs {
                    files: vec![crate::SourceFile {
                        name: "in.yaml".into(),
                        text,
                    }],
                    options: Default::default(),
                };
                let t = core.translate(&inputs);
                let whole = crate::xds::build(&t.ir, Mode::Ads).routes;
                let snapshot = encoder.encode(t.ir, &Serial);
                let spliced = &snapshot.resources(ROUTE).unwrap().resources;
                assert_eq!(spliced.len(), whole.len(), "{name}");
                for rc in &whole {
                    assert_eq!(
                        spliced[&rc.name].any,
                        crate::pb::any(rc),
                        "{name}: route configuration {}",
                        rc.name
                    );
                }
                configs += whole.len();
                reused += encoder.routes.reused;
            }
        }
        assert!(configs > 100, "route configurations: {configs}");
        assert!(reused > 20, "routes kept: {reused}");
    }

    /// Routes shared with the snapshot before but now under an ext_authz
    /// filter carry its per-route settings: the kept encodings do not.
    #[test]
    fn kept_routes_are_encoded_again_when_ext_authz_comes() {
        let plain = translation(&[("a:80", ""), ("b:80", "")]);
        let with_auth = {
            let mut text = String::from(
                "---\napiVersion: getambassador.io/v3alpha1\nkind: AuthService\n\
                 metadata: {name: auth, namespace: default}\n\
                 spec: {auth_service: \"auth:3000\", proto: http}\n",
            );
            text.push_str(
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n\
                 metadata: {name: l, namespace: default}\n\
                 spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
            );
            crate::translate(&crate::Inputs {
                files: vec![crate::SourceFile {
                    name: "a.yaml".into(),
                    text,
                }],
                options: Default::default(),
            })
        };
        assert!(
            with_auth
                .ir
                .filters
                .iter()
                .any(|f| matches!(f, ir::HttpFilter::ExtAuthz(_)))
        );
        // The same routes (the same `Arc`s), now behind the filter.
        let mut mixed = Translation {
            sources: Default::default(),
            ir: plain.ir.clone(),
            diagnostics: Vec::new(),
        };
        mixed.ir.filters = with_auth.ir.filters.clone();
        let whole = crate::xds::build(&mixed.ir, Mode::Ads).routes;
        let mut e = Encoder::default();
        e.encode(plain.ir, &Serial);
        let snapshot = e.encode(mixed.ir, &Serial);
        for rc in &whole {
            assert_eq!(
                snapshot.get(ROUTE, &rc.name).unwrap().any,
                crate::pb::any(rc)
            );
        }
        assert_eq!(e.routes.reused, 0);
    }

    #[test]
    fn an_encoder_shares_unchanged_clusters_and_gives_what_a_fresh_build_gives() {
        let first = || translation(&[("a:80", ""), ("b:80", ""), ("c:80", ""), ("e:80", "")]);
        // b's cluster changes (a new setting), c's goes, d's comes, a's
        // keeps its name but gains a source Mapping; e's stays.
        let second = || {
            translation(&[
                ("a:80", ""),
                ("b:80", ", connect_timeout_ms: 1234"),
                ("d:80", ""),
                ("e:80", ""),
                ("a:80", ""),
            ])
        };
        let mut e = Encoder::default();
        let one = e.encode(first().ir, &Serial);
        assert_eq!(*one, Encoded::new(&first().ir, &Serial));
        assert_eq!(e.reused_clusters(), 0);
        let two = e.encode(second().ir, &Serial);
        assert_eq!(*two, Encoded::new(&second().ir, &Serial));
        // e's cluster and the built-in probes' one, shared with the first.
        assert_eq!(e.reused_clusters(), 2);
        let clusters = &two.resources(CLUSTER).unwrap().resources;
        let shared: Vec<&String> = clusters
            .iter()
            .filter(|(n, r)| {
                one.resources(CLUSTER)
                    .unwrap()
                    .resources
                    .get(*n)
                    .is_some_and(|o| Arc::ptr_eq(o, r))
            })
            .map(|(n, _)| n)
            .collect();
        assert_eq!(shared.len(), 2, "{shared:?}");
        assert!(shared.iter().any(|n| n.contains("_e_")), "{shared:?}");
        assert!(clusters.keys().any(|n| n.contains("_d_")), "{clusters:?}");
        assert!(!clusters.keys().any(|n| n.contains("_c_")), "{clusters:?}");
        // The same input again: every cluster is shared.
        assert_eq!(
            *e.encode(second().ir, &Serial),
            Encoded::new(&second().ir, &Serial)
        );
        assert_eq!(e.reused_clusters(), clusters.len());
        // Only the snapshot before counts: back to the first, two are shared.
        assert_eq!(
            *e.encode(first().ir, &Serial),
            Encoded::new(&first().ir, &Serial)
        );
        assert_eq!(e.reused_clusters(), 2);
    }
}
