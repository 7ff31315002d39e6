//! Versioned snapshots of the Envoy configuration the ADS server hands out.
//!
//! A [`Snapshot`] is built once per good translation
//! ([`Snapshot::from_translation`]) and shared read-only (`Arc`) by every ADS
//! stream. It holds, per xDS type URL, the resources by name, each already
//! packed as an `Any` with a per-resource version (a hash of its encoded
//! bytes) and the source objects it came from (for NACK reports). Streams
//! compare per-resource versions to decide what changed, so a snapshot whose
//! content is unchanged for a type causes no push of that type.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use emissary_core::Translation;
use emissary_core::diag::ObjectRef;
use emissary_core::ir::{self, Ir};
use emissary_core::xds::pb::Any;
use emissary_core::xds::pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use emissary_core::xds::{self, Mode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

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

/// Every type a snapshot holds, in make-before-break push order: clusters
/// first, then their endpoints, then secrets, then listeners, then the route
/// configurations the listeners name.
pub const TYPE_ORDER: [&str; 5] = [CLUSTER, ENDPOINT, SECRET, LISTENER, ROUTE];

/// Whether an empty `resource_names` list means "everything" for this type
/// (LDS and CDS; the other types are requested by name).
pub fn is_wildcard_type(type_url: &str) -> bool {
    type_url == LISTENER || type_url == CLUSTER
}

/// A short human name for a type URL (`clusters`, `listeners`, …), as used in
/// [`Snapshot::to_json`].
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
    /// By name; shared with the snapshots before when unchanged (see [`Encoder`]).
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

/// One complete, immutable configuration with a version.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Increases with every new snapshot; sent as `version_info`.
    pub version: u64,
    /// Indexed like [`TYPE_ORDER`].
    types: [TypeResources; 5],
}

impl Snapshot {
    /// Builds the snapshot of a translation's ADS resources
    /// ([`Mode::Ads`]: routes by RDS, secrets by SDS). Encoding and hashing
    /// (most of the time, with thousands of resources) is shared among the
    /// available cores; the result does not depend on how.
    pub fn from_translation(version: u64, t: &Translation) -> Snapshot {
        build(version, t, None, &mut RouteCache::default()).0
    }

    /// A snapshot from resources already packed, per type URL (types outside
    /// [`TYPE_ORDER`] are ignored). For tests and tools.
    pub fn from_resources<'a>(
        version: u64,
        resources: impl IntoIterator<Item = (&'a str, String, Any, Vec<String>)>,
    ) -> Snapshot {
        let mut b = Builder::default();
        for (type_url, name, any, sources) in resources {
            b.add(type_url, &name, any, sources);
        }
        b.finish(version)
    }

    /// The version as sent in `version_info`.
    pub fn version_info(&self) -> String {
        self.version.to_string()
    }

    /// The resources of a type (`None` for a type outside [`TYPE_ORDER`]).
    pub fn resources(&self, type_url: &str) -> Option<&TypeResources> {
        let i = TYPE_ORDER.iter().position(|t| *t == type_url)?;
        Some(&self.types[i])
    }

    /// True when both hold the same resources (every type's digest agrees),
    /// whatever their versions.
    pub fn same_content(&self, other: &Snapshot) -> bool {
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
        TYPE_ORDER
            .iter()
            .zip(&self.types)
            .map(|(t, r)| TypeStats {
                type_url: t,
                count: r.resources.len(),
                bytes: r.bytes,
            })
            .collect()
    }

    /// The configuration as Envoy-style JSON (canonical proto3 JSON, `Any`
    /// expanded with `@type`), for a debug endpoint:
    /// `{"version": "7", "listeners": [...], "routes": [...], "clusters":
    /// [...], "endpoints": [...], "secrets": [...]}`, each list sorted by
    /// name. Private keys of secrets are replaced by `"[redacted]"`, as in
    /// Envoy's own config dump.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("version".into(), Value::String(self.version_info()));
        for (t, r) in TYPE_ORDER.iter().zip(&self.types) {
            let items: Vec<Value> = r
                .resources
                .values()
                .map(|res| {
                    let any = if *t == SECRET {
                        redact(&res.any)
                    } else {
                        res.any.clone()
                    };
                    xds::json::to_value(&any)
                        .unwrap_or_else(|e| json!({"name": res.name, "error": e.to_string()}))
                })
                .collect();
            out.insert(type_short_name(t).into(), Value::Array(items));
        }
        Value::Object(out)
    }
}

/// A secret with its private key (and any key password) redacted.
fn redact(any: &Any) -> Any {
    let Some(mut s) = any.unpack::<tls::Secret>() else {
        return any.clone();
    };
    let redacted = || emissary_core::xds::pb::envoy::config::core::v3::DataSource {
        specifier: Some(
            emissary_core::xds::pb::envoy::config::core::v3::data_source::Specifier::InlineString(
                "[redacted]".into(),
            ),
        ),
        ..Default::default()
    };
    if let Some(tls::secret::Type::TlsCertificate(c)) = &mut s.r#type {
        if c.private_key.is_some() {
            c.private_key = Some(redacted());
        }
        if c.password.is_some() {
            c.password = Some(redacted());
        }
    }
    xds::any(&s)
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

/// Builds a snapshot; clusters whose IR equals theirs in `last` (the IR
/// clusters a snapshot was built from, and that snapshot) are taken from it
/// instead of being built and encoded again. Returns how many were.
fn build(
    version: u64,
    t: &Translation,
    last: Option<&LastBuilt>,
    route_cache: &mut RouteCache,
) -> (Snapshot, usize) {
    let ir = &t.ir;
    let res = xds::build_without_clusters_or_routes(ir);
    let route_configs = route_cache.encode(ir, &res.routes);
    let src = Sources::new(ir);
    // The last IR clusters and their encodings, walked alongside this
    // translation's (all three are sorted by name).
    let mut last_ir = last.map(|(clusters, _)| clusters.iter().peekable());
    let mut last_encoded = last
        .and_then(|(_, snapshot)| snapshot.resources(CLUSTER))
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
            None => built.push(xds::cluster(ir, c, Mode::Ads)),
        }
    }
    // Biggest first, so that no worker is left with a large one at the end.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.extend(route_configs.iter().map(|c| Job::Route(&c.name, &c.bytes)));
    jobs.extend(res.listeners.iter().map(Job::Listener));
    jobs.extend(res.secrets.iter().map(Job::Secret));
    jobs.extend(built.iter().map(Job::Cluster));
    jobs.extend(res.endpoints.iter().map(Job::Endpoint));
    let mut b = Builder::default();
    let encoded = encode_all(&jobs, &src);
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
    (b.finish(version), reused)
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

/// Builds snapshots one translation after another, sharing what is
/// unchanged: a cluster depends on its IR alone ([`xds::cluster`] in
/// [`Mode::Ads`]), so a cluster whose IR equals the one of the snapshot
/// built before is not built, encoded and hashed again, and both snapshots
/// share the one resource. The result equals
/// [`Snapshot::from_translation`]'s.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The IR clusters of the last snapshot built (moved out of its
    /// translation), and that snapshot.
    last: Option<LastBuilt>,
    /// Clusters the last snapshot took from the one before.
    reused: usize,
    /// The encoded routes of the last snapshot.
    routes: RouteCache,
}

impl Encoder {
    /// The snapshot of a translation, with version `version`. The
    /// translation's IR clusters are kept for the next call.
    pub fn snapshot(&mut self, version: u64, mut t: Translation) -> Arc<Snapshot> {
        let (snapshot, reused) = build(version, &t, self.last.as_ref(), &mut self.routes);
        let snapshot = Arc::new(snapshot);
        self.reused = reused;
        self.last = Some((std::mem::take(&mut t.ir.clusters), snapshot.clone()));
        snapshot
    }

    /// Clusters the last snapshot took from the one before.
    pub fn reused_clusters(&self) -> usize {
        self.reused
    }
}

/// The IR clusters a snapshot was built from, and that snapshot.
type LastBuilt = (BTreeMap<String, Arc<ir::Cluster>>, Arc<Snapshot>);

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
/// next, see `emissary_core::lower`) and variant they came from: a route
/// configuration is assembled from them, and only routes not in the last
/// snapshot are built and encoded. The bytes are those of encoding the
/// whole configuration at once.
#[derive(Debug, Default)]
struct RouteCache {
    /// Whether the routes carry ext_authz settings (the only other thing a
    /// route depends on).
    ext_authz: bool,
    /// By the IR route's address (the route is kept, so the address is not
    /// reused while it is here) and variant.
    routes: HashMap<RouteKey, CachedRoute>,
    reused: usize,
}

impl RouteCache {
    /// Encodes the route configurations `skeletons` (from
    /// [`xds::build_without_clusters_or_routes`]) with their routes, by name.
    fn encode(
        &mut self,
        ir: &Ir,
        skeletons: &[xds::pb::envoy::config::route::v3::RouteConfiguration],
    ) -> Vec<EncodedRoutes> {
        let builder = xds::Routes::new(ir);
        let mut old = std::mem::take(&mut self.routes);
        if builder.ext_authz() != self.ext_authz {
            old.clear();
            self.ext_authz = builder.ext_authz();
        }
        self.reused = 0;
        let layout = xds::route_layout(ir);
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
    rc: &xds::pb::envoy::config::route::v3::RouteConfiguration,
    routes: V,
) -> Vec<u8>
where
    V: Iterator<Item = R>,
    R: Iterator<Item = &'r [u8]> + Clone,
{
    use prost::Message as _;
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};
    use xds::pb::envoy::config::route::v3::{RouteConfiguration, VirtualHost};
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
    Listener(&'a xds::pb::envoy::config::listener::v3::Listener),
    /// A route configuration, encoded.
    Route(&'a str, &'a [u8]),
    Cluster(&'a xds::pb::envoy::config::cluster::v3::Cluster),
    Endpoint(&'a xds::pb::envoy::config::endpoint::v3::ClusterLoadAssignment),
    Secret(&'a tls::Secret),
}

impl Job<'_> {
    fn run(&self, src: &Sources<'_>) -> (&'static str, Resource) {
        let (type_url, name, any, sources) = match self {
            Job::Listener(l) => (LISTENER, &*l.name, xds::any(*l), src.listener(&l.name)),
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
            Job::Cluster(c) => (CLUSTER, &*c.name, xds::any(*c), src.cluster(&c.name)),
            Job::Endpoint(e) => (
                ENDPOINT,
                &*e.cluster_name,
                xds::any(*e),
                src.cluster(&e.cluster_name),
            ),
            Job::Secret(s) => (SECRET, &*s.name, xds::any(*s), src.secret(&s.name)),
        };
        (type_url, Resource::new(name, any, sources))
    }
}

/// Runs every job, on up to [`MAX_ENCODERS`] threads, in job order.
fn encode_all(jobs: &[Job<'_>], src: &Sources<'_>) -> Vec<(&'static str, Resource)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_ENCODERS)
        .min(jobs.len() / MIN_JOBS_PER_ENCODER)
        .max(1);
    if workers == 1 {
        return jobs.iter().map(|j| j.run(src)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else {
                return done;
            };
            done.push((i, job.run(src)));
        }
    };
    let mut all: Vec<(usize, (&'static str, Resource))> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in handles {
            // A worker only panics if encoding does, which this thread would
            // have done too: re-raise it.
            all.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Threads that encode a snapshot at most: the daemon shares its cores
/// with Envoy.
const MAX_ENCODERS: usize = 4;
/// Below this many resources per thread, one thread is faster.
const MIN_JOBS_PER_ENCODER: usize = 256;

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

    fn finish(self, version: u64) -> Snapshot {
        let types = self.types.map(|resources| {
            let mut parts: Vec<&[u8]> = Vec::with_capacity(resources.len() * 2);
            for r in resources.values() {
                parts.push(r.name.as_bytes());
                parts.push(r.version.as_bytes());
            }
            TypeResources {
                digest: hex_hash(&parts),
                bytes: resources.values().map(|r| r.any.value.len()).sum(),
                resources,
            }
        });
        Snapshot { version, types }
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
/// (Every resource of a snapshot gets these: thousands per translation.)
fn refs<'o>(objects: impl IntoIterator<Item = &'o ObjectRef>) -> Vec<String> {
    let mut out: Vec<String> = objects.into_iter().map(object_ref).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `Kind/namespace/name` (or `Kind/name` without a namespace).
pub fn object_ref(o: &ObjectRef) -> String {
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
    use prost::Name as _;

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
        use emissary_core::xds::pb::envoy::config;
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
    fn shared_encoding_gives_the_one_thread_result() {
        use std::fmt::Write as _;
        let mut text = String::from(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n\
             metadata: {name: l, namespace: default}\n\
             spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
        );
        for k in 0..(MIN_JOBS_PER_ENCODER * 3) {
            let _ = write!(
                text,
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                 metadata: {{name: m-{k}, namespace: default}}\n\
                 spec: {{hostname: \"*\", prefix: /s-{k}/, service: \"svc-{k}:80\"}}\n"
            );
        }
        let t = emissary_core::translate(&emissary_core::Inputs {
            files: vec![emissary_core::SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Default::default(),
        });
        let shared = Snapshot::from_translation(1, &t);
        let res = t.resources(Mode::Ads);
        let src = Sources::new(&t.ir);
        let layout = xds::route_layout(&t.ir);
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
            one.add(ROUTE, &r.name, xds::any(r), sources);
        }
        for l in &res.listeners {
            one.add(LISTENER, &l.name, xds::any(l), src.listener(&l.name));
        }
        for c in &res.clusters {
            one.add(CLUSTER, &c.name, xds::any(c), src.cluster(&c.name));
        }
        for e in &res.endpoints {
            let name = &e.cluster_name;
            one.add(ENDPOINT, name, xds::any(e), src.cluster(name));
        }
        let one = one.finish(1);
        assert!(shared.resources(CLUSTER).unwrap().resources.len() > MIN_JOBS_PER_ENCODER * 2);
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
        emissary_core::translate(&emissary_core::Inputs {
            files: vec![emissary_core::SourceFile {
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
        let mut core = emissary_core::Translator::default();
        let mut encoder = Encoder::default();
        let (mut configs, mut reused) = (0, 0);
        for (version, (name, text)) in inputs.iter().enumerate() {
            for text in [
                text.clone(),
                text.replacen("prefix: /", "prefix: /edited-", 1),
            ] {
                let inputs = emissary_core::Inputs {
                    files: vec![emissary_core::SourceFile {
                        name: "in.yaml".into(),
                        text,
                    }],
                    options: Default::default(),
                };
                let t = core.translate(&inputs);
                let whole = xds::build(&t.ir, Mode::Ads).routes;
                let snapshot = encoder.snapshot(version as u64 + 1, t);
                let spliced = &snapshot.resources(ROUTE).unwrap().resources;
                assert_eq!(spliced.len(), whole.len(), "{name}");
                for rc in &whole {
                    assert_eq!(
                        spliced[&rc.name].any,
                        xds::any(rc),
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
            emissary_core::translate(&emissary_core::Inputs {
                files: vec![emissary_core::SourceFile {
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
        let whole = xds::build(&mixed.ir, Mode::Ads).routes;
        let mut e = Encoder::default();
        e.snapshot(1, plain);
        let snapshot = e.snapshot(2, mixed);
        for rc in &whole {
            assert_eq!(snapshot.get(ROUTE, &rc.name).unwrap().any, xds::any(rc));
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
        let one = e.snapshot(1, first());
        assert_eq!(*one, Snapshot::from_translation(1, &first()));
        assert_eq!(e.reused_clusters(), 0);
        let two = e.snapshot(2, second());
        assert_eq!(*two, Snapshot::from_translation(2, &second()));
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
            *e.snapshot(3, second()),
            Snapshot::from_translation(3, &second())
        );
        assert_eq!(e.reused_clusters(), clusters.len());
        // Only the snapshot before counts: back to the first, two are shared.
        assert_eq!(
            *e.snapshot(4, first()),
            Snapshot::from_translation(4, &first())
        );
        assert_eq!(e.reused_clusters(), 2);
    }
}
