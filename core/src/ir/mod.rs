//! The semantic intermediate representation: what Envoy should do, before it
//! is spelled as Envoy messages.
//!
//! Listeners own filter chains; HTTP chains own virtual hosts; virtual hosts
//! list route *variants* — a shared [`Route`] (one per Mapping) seen through a
//! [`Matcher`] (the `x-forwarded-proto` condition) and an [`Action`] (route,
//! or redirect to HTTPS). Clusters and secrets are keyed by names derived from
//! their content. Everything is ordered; nothing depends on hash iteration.

mod observability;
mod values;

pub use observability::*;
pub use values::*;

use crate::diag::ObjectRef;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Ir {
    pub listeners: Vec<Listener>,
    /// Routes shared by the virtual hosts (indexed by [`RouteRef::route`]).
    /// Shared: a translation that lowers a Mapping group as the one before
    /// did hands on its routes and clusters (see `lower::LowerMemo`).
    pub routes: Vec<Arc<Route>>,
    pub clusters: BTreeMap<String, Arc<Cluster>>,
    pub secrets: BTreeMap<String, TlsSecret>,
    /// Endpoints of the EDS clusters by service name (`k8s/<ns>/<svc>/<port>`,
    /// `consul/<dc>/<svc>`): address and port, sorted. Empty when the input
    /// has none (yet).
    pub endpoints: BTreeMap<String, Vec<(String, u16)>>,
    pub http: HttpSettings,
    /// The HTTP filters of every connection manager, in order (router last).
    pub filters: Vec<HttpFilter>,
    /// Access loggers of every HTTP connection manager.
    pub access_logs: Vec<AccessLog>,
    /// The tracer of every HTTP connection manager.
    pub tracing: Option<Tracing>,
    /// What the Module sets in a bootstrap (see `xds::bootstrap`).
    pub bootstrap: BootstrapSettings,
    /// Every Secret (`namespace`, `name`) the configuration refers to,
    /// whether it exists, holds what was asked, or not: what a host needs
    /// to hold to translate this configuration again (see
    /// `Translation::referenced_secrets`). Not part of what Envoy is sent.
    #[serde(skip)]
    pub referenced_secrets: std::collections::BTreeSet<(String, String)>,
}

/// HTTP connection manager settings that come from the `ambassador` Module.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct HttpSettings {
    pub use_remote_address: bool,
    pub server_name: Option<String>,
    pub merge_slashes: bool,
    pub strip_matching_host_port: bool,
    pub reject_requests_with_escaped_slashes: bool,
    pub preserve_external_request_id: bool,
    pub accept_http_10: bool,
    pub idle_timeout_ms: Option<u64>,
    pub max_request_headers_kb: Option<u64>,
    pub headers_with_underscores_action: Option<String>,
    pub proper_case: bool,
    /// RE2 program size limit, also written to the bootstrap runtime.
    pub regex_max_size: u64,
    pub forward_client_cert_details: Option<String>,
    /// subject, cert, chain, dns, uri.
    pub set_current_client_cert_details: Option<[bool; 5]>,
    /// Listener per-connection buffer limit (`None`: Envoy's default).
    pub buffer_limit_bytes: Option<u64>,
    /// Every HCM's HTTP/2 limits (a Listener's `http2MaxConcurrentStreams`
    /// wins over `max_concurrent_streams`).
    pub http2: Http2Limits,
    /// `stream_idle_timeout` of every HCM (`None`: Envoy's default).
    pub stream_idle_timeout_ms: Option<u64>,
    /// `http_protocol_options.allow_chunked_length` (the Module's, when written).
    pub allow_chunked_length: Option<bool>,
}

/// The edge defaults of Envoy's best practices for an edge proxy, where the
/// Module sets nothing (see `docs/hardening.md`).
pub mod edge {
    /// Listener and cluster `per_connection_buffer_limit_bytes`.
    pub const BUFFER_LIMIT_BYTES: u64 = 32 * 1024;
    pub const HTTP2_MAX_CONCURRENT_STREAMS: u32 = 100;
    pub const HTTP2_INITIAL_STREAM_WINDOW_SIZE: u32 = 64 * 1024;
    pub const HTTP2_INITIAL_CONNECTION_WINDOW_SIZE: u32 = 1024 * 1024;
    /// The connection idle timeout (Emissary's `listener_idle_timeout_ms`).
    pub const IDLE_TIMEOUT_MS: u64 = 3_600_000;
    pub const STREAM_IDLE_TIMEOUT_MS: u64 = 300_000;
}

/// HTTP/2 settings of the connection managers; `None`: Envoy's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Http2Limits {
    pub max_concurrent_streams: Option<u32>,
    pub initial_stream_window_size: Option<u32>,
    pub initial_connection_window_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listener {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub sources: Vec<ObjectRef>,
    /// A UDP (HTTP/3 over QUIC) listener: its TLS chains use QUIC, its HTTP
    /// connection managers the HTTP/3 codec.
    pub udp: bool,
    /// A TCP listener with a UDP (HTTP/3) listener on the same address and
    /// port: its connection managers carry HTTP/3 options and its virtual
    /// hosts the `alt-svc` header, as Emissary writes them.
    pub http3_alt_svc: bool,
    pub tls_inspector: bool,
    pub proxy_protocol: bool,
    /// HCM stat prefix when the listener speaks HTTP.
    pub stats_prefix: String,
    pub xff_num_trusted_hops: u32,
    /// The Listener's `http2MaxConcurrentStreams`, over the Module's.
    pub http2_max_concurrent_streams: Option<u32>,
    pub chains: Vec<FilterChain>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterChain {
    pub name: String,
    /// SNI names; empty = any.
    pub server_names: Vec<String>,
    pub tls: Option<DownstreamTls>,
    pub kind: ChainKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ChainKind {
    /// `route_config` names the RouteConfiguration; chains whose Hosts and
    /// security model are the same share one (its name derives from them, not
    /// from the routes, so route changes never touch the listener).
    Http {
        route_config: String,
        vhosts: Vec<VirtualHost>,
    },
    Tcp {
        stat_prefix: String,
        targets: Vec<(String, u32)>,
        idle_timeout_ms: Option<u64>,
    },
}

/// TLS termination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownstreamTls {
    pub context: String,
    pub secret: String,
    pub alpn_protocols: Vec<String>,
    pub min_tls_version: Option<String>,
    pub max_tls_version: Option<String>,
    pub cipher_suites: Vec<String>,
    pub ecdh_curves: Vec<String>,
    pub ca_secret: Option<String>,
    pub require_client_certificate: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualHost {
    pub name: String,
    /// The Host this virtual host serves.
    pub host: ObjectRef,
    pub domains: Vec<String>,
    pub routes: Vec<RouteRef>,
    /// Responses carry Emissary's `alt-svc` header advertising HTTP/3 on
    /// port 443 (the virtual host is on a listener with `http3_alt_svc`).
    pub alt_svc: bool,
}

/// Emissary's HTTP/3 advertisement: RFC 9114 `h3` and draft 29, on port 443
/// whatever the listener's port, for a day; no `append_action`, so Envoy's
/// default (append to an upstream `alt-svc`).
pub const ALT_SVC: &str = r#"h3=":443"; ma=86400, h3-29=":443"; ma=86400"#;

/// One route of a virtual host: a shared route with a matcher and an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteRef {
    pub route: u32,
    pub matcher: Matcher,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Matcher {
    /// No condition on `x-forwarded-proto`.
    Always,
    /// `x-forwarded-proto: https` only.
    XfpHttps,
    /// Any request: the insecure variant (the secure one comes first), or
    /// the only variant when both would do the same.
    XfpHttp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Action {
    /// Do what the route says.
    Route,
    /// Redirect to HTTPS (authorization disabled for the redirect).
    HttpsRedirect,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StringMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Regex(String),
    Present,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyMatch {
    pub name: String,
    pub matcher: StringMatch,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// Mapping(s) this route came from.
    pub source: ObjectRef,
    pub group: String,
    pub path: PathMatch,
    pub case_sensitive: bool,
    pub headers: Vec<KeyMatch>,
    pub query_parameters: Vec<KeyMatch>,
    /// Canary share: the cumulative numerator out of 100 (absent = 100).
    pub runtime_fraction: Option<(u32, String)>,
    pub action: RouteAction,
    pub request_headers_to_add: Vec<HeaderAdd>,
    pub response_headers_to_add: Vec<HeaderAdd>,
    pub request_headers_to_remove: Vec<String>,
    pub response_headers_to_remove: Vec<String>,
    pub bypass_auth: bool,
    /// ext_authz context extensions, sorted by key.
    pub auth_context: Vec<(String, String)>,
    /// Rate-limit descriptors (only when a RateLimitService is active).
    pub rate_limits: Vec<Vec<LabelAction>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RouteAction {
    Forward(Box<Forward>),
    Redirect(HostRedirect),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forward {
    pub cluster: String,
    pub timeout_ms: u64,
    pub idle_timeout_ms: Option<u64>,
    pub prefix_rewrite: Option<String>,
    pub regex_rewrite: Option<(String, String)>,
    pub host_rewrite: Option<String>,
    pub auto_host_rewrite: Option<bool>,
    pub cors: Option<Cors>,
    pub retry_policy: Option<RetryPolicy>,
    /// Shadow cluster and the share of traffic mirrored (percent).
    pub mirror: Option<(String, u32)>,
    pub upgrades: Vec<String>,
    pub priority_high: bool,
    /// What a ring_hash / maglev cluster hashes on.
    pub hash_policy: Option<HashOn>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostRedirect {
    pub host: String,
    pub path_redirect: Option<String>,
    pub prefix_redirect: Option<String>,
    pub regex_redirect: Option<(String, String)>,
    pub response_code: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub enum DnsType {
    #[default]
    StrictDns,
    LogicalDns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub enum DnsFamily {
    #[default]
    V4Only,
    V6Only,
    All,
}

/// Objects, sorted and without repeats. A sorted `Vec`: the IR has one per
/// cluster, most with one object, where a `BTreeSet` would take a whole
/// B-tree node (about 800 bytes) each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SourceSet(Vec<ObjectRef>);

impl SourceSet {
    /// Adds `o`; false when it was there.
    pub fn insert(&mut self, o: ObjectRef) -> bool {
        match self.0.binary_search(&o) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, o);
                true
            }
        }
    }

    /// Removes `o`; false when it was not there.
    pub fn remove(&mut self, o: &ObjectRef) -> bool {
        match self.0.binary_search(o) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, o: &ObjectRef) -> bool {
        self.0.binary_search(o).is_ok()
    }

    /// Whether every object of `other` is here.
    pub fn is_superset(&self, other: &SourceSet) -> bool {
        other.0.iter().all(|o| self.contains(o))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ObjectRef> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<ObjectRef> for SourceSet {
    fn extend<I: IntoIterator<Item = ObjectRef>>(&mut self, iter: I) {
        for o in iter {
            self.insert(o);
        }
    }
}

impl<'a> IntoIterator for &'a SourceSet {
    type Item = &'a ObjectRef;
    type IntoIter = std::slice::Iter<'a, ObjectRef>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// An upstream: one DNS name and port, or an EDS service name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub sources: SourceSet,
    pub dns_type: DnsType,
    pub host: String,
    pub port: u16,
    pub tls: Option<UpstreamTls>,
    pub connect_timeout_ms: u64,
    pub dns_family: DnsFamily,
    pub http2: bool,
    pub circuit_breakers: Vec<CircuitBreaker>,
    pub keepalive: Option<Keepalive>,
    pub idle_timeout_ms: Option<u64>,
    pub max_connection_lifetime_ms: Option<u64>,
    pub respect_dns_ttl: bool,
    pub stats_name: String,
    /// Endpoint discovery by EDS under this service name (a key of
    /// [`Ir::endpoints`]); `None` = DNS on `host`.
    pub eds: Option<String>,
    pub lb_policy: LbPolicy,
    /// Active health checks (EDS clusters only).
    pub health_checks: Vec<HealthCheck>,
    /// `per_connection_buffer_limit_bytes` (`None`: Envoy's default). Not
    /// part of the name's hash: it comes from the Module, so every cluster
    /// of a translation has the same, and no two clusters differ by it alone.
    pub buffer_limit_bytes: Option<u64>,
}

/// TLS origination.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct UpstreamTls {
    pub sni: Option<String>,
    /// Client certificate (from the TLSContext's secret).
    pub client_secret: Option<String>,
    pub alpn_protocols: Vec<String>,
    pub min_tls_version: Option<String>,
    pub max_tls_version: Option<String>,
    pub cipher_suites: Vec<String>,
    pub ecdh_curves: Vec<String>,
    /// Validation of the upstream's certificate (a CA-only secret).
    pub ca_secret: Option<String>,
}

// Cluster names carry a hash of the cluster's settings. Settings added after
// the first release join that hash only when set, so the names of clusters
// that do not use them never change.
impl std::hash::Hash for Cluster {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.name.hash(h);
        self.sources.hash(h);
        self.dns_type.hash(h);
        self.host.hash(h);
        self.port.hash(h);
        self.tls.hash(h);
        self.connect_timeout_ms.hash(h);
        self.dns_family.hash(h);
        self.http2.hash(h);
        self.circuit_breakers.hash(h);
        self.keepalive.hash(h);
        self.idle_timeout_ms.hash(h);
        self.max_connection_lifetime_ms.hash(h);
        self.respect_dns_ttl.hash(h);
        self.stats_name.hash(h);
        if self.eds.is_some()
            || self.lb_policy != LbPolicy::default()
            || !self.health_checks.is_empty()
        {
            (&self.eds, self.lb_policy, &self.health_checks).hash(h);
        }
    }
}

impl std::hash::Hash for UpstreamTls {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.sni.hash(h);
        self.client_secret.hash(h);
        self.alpn_protocols.hash(h);
        self.min_tls_version.hash(h);
        self.max_tls_version.hash(h);
        if !self.cipher_suites.is_empty()
            || !self.ecdh_curves.is_empty()
            || self.ca_secret.is_some()
        {
            (&self.cipher_suites, &self.ecdh_curves, &self.ca_secret).hash(h);
        }
    }
}

/// A certificate and key, PEM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsSecret {
    pub name: String,
    pub source: ObjectRef,
    pub cert_chain: String,
    /// Serialized as [`redacted`]: a serialized IR (the CLI's
    /// `--output ir`, the daemon's live page) never shows a private key.
    #[serde(serialize_with = "serialize_redacted")]
    pub private_key: String,
    /// A CA bundle only (for client validation); no key.
    pub ca_only: bool,
    /// A certificate revocation list (PEM) checked with the CA bundle.
    pub crl: Option<String>,
}

/// What is shown instead of a private key: its size and the first eight
/// hex digits of its SHA-256, enough to tell two keys apart or to check one
/// against a file (`sha256sum`), nothing of the key itself; empty stays
/// empty.
pub fn redacted(key: &str) -> String {
    use sha2::{Digest as _, Sha256};
    if key.is_empty() {
        return String::new();
    }
    let digest = Sha256::digest(key.as_bytes());
    let prefix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("[redacted: {} bytes, sha256 {prefix}…]", key.len())
}

fn serialize_redacted<S: serde::Serializer>(key: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redacted(key))
}

/// An HTTP filter of the connection managers, in Emissary's order:
/// grpc_http1_bridge, grpc_web, grpc_stats, lua, gzip, buffer, rbac, cors,
/// ext_authz (or the fail-closed responder), ratelimit, router.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum HttpFilter {
    GrpcHttp1Bridge,
    GrpcWeb,
    GrpcStats(GrpcStats),
    Lua(String),
    Gzip(Gzip),
    Buffer {
        max_request_bytes: u64,
    },
    /// `ip_allow` (allow = true) or `ip_deny`.
    Rbac {
        allow: bool,
        principals: Vec<IpPrincipal>,
    },
    Cors,
    ExtAuthz(Box<ExtAuthz>),
    /// A broken AuthService: every request but the probes gets a 500.
    AuthFailClosed {
        source: ObjectRef,
    },
    RateLimit(RateLimit),
    Router {
        suppress_envoy_headers: bool,
        start_child_span: bool,
    },
}

/// External authorization (AuthService).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtAuthz {
    pub source: ObjectRef,
    pub proto: AuthProto,
    pub cluster: String,
    /// `http(s)://` + the cluster's host: the `server_uri` Envoy requires.
    pub uri: String,
    pub path_prefix: String,
    pub timeout_ms: u64,
    /// Request headers sent to the service (Emissary's defaults included), sorted.
    pub allowed_request_headers: Vec<String>,
    /// Response headers copied from the service (Emissary's defaults included), sorted.
    pub allowed_authorization_headers: Vec<String>,
    pub add_auth_headers: Vec<(String, String)>,
    pub include_body: Option<IncludeBody>,
    pub failure_mode_allow: bool,
    pub status_on_error: Option<u32>,
}

/// Rate limiting (RateLimitService).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimit {
    pub source: ObjectRef,
    pub cluster: String,
    pub domain: String,
    pub timeout_ms: u64,
    pub failure_mode_deny: bool,
    pub rate_limited_as_resource_exhausted: bool,
}
