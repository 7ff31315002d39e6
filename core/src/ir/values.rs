//! Value types of the settings that the manifests spell and the Envoy
//! configuration carries over unchanged (load balancing, health checks,
//! retry and CORS policies, header additions, …). The IR owns them: `model`
//! reads them from the manifests and `xds` writes them as Envoy messages, so
//! neither of those two depends on the other.

use serde::Serialize;

/// Parses Emissary's duration strings into milliseconds (`"1s"`, `"250ms"`, `"1.5s"`, `"2m"`).
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        (s, 1000.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    if !v.is_finite() || !(0.0..=1.0e12).contains(&v) {
        return None;
    }
    Some((v * mult).round() as u64)
}

/// How the external authorization service is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum AuthProto {
    #[default]
    Http,
    Grpc,
}

/// `include_body`: buffer the request body and send it to the auth service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncludeBody {
    pub max_bytes: u64,
    pub allow_partial: bool,
}

/// One rate-limit descriptor entry of a Mapping label group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum LabelAction {
    SourceCluster,
    DestinationCluster,
    RemoteAddress,
    GenericKey { key: Option<String>, value: String },
    RequestHeaders { key: String, header_name: String },
}

/// A header to add: `value` with `append` (default true).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaderAdd {
    pub name: String,
    pub value: String,
    pub append: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RetryPolicy {
    pub retry_on: Option<String>,
    pub num_retries: Option<u64>,
    pub per_try_timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Cors {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub exposed_headers: Vec<String>,
    pub credentials: Option<bool>,
    pub max_age: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CircuitBreaker {
    pub priority_high: bool,
    pub max_connections: Option<u64>,
    pub max_pending_requests: Option<u64>,
    pub max_requests: Option<u64>,
    pub max_retries: Option<u64>,
}

/// One entry of the bootstrap's static runtime layer, from the Module's
/// `runtime_flags`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuntimeFlag {
    pub name: String,
    pub value: RuntimeValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum RuntimeValue {
    Int(u64),
    Bool(bool),
}

/// What the Module sets in Envoy's bootstrap (read only when Envoy starts).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct BootstrapSettings {
    /// `admin_port` (`None`: 8001).
    pub admin_port: Option<u16>,
    pub runtime_flags: Vec<RuntimeFlag>,
}

#[derive(Debug, Clone, PartialEq, Default, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Keepalive {
    pub time: Option<u64>,
    pub interval: Option<u64>,
    pub probes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GrpcStats {
    pub all_methods: bool,
    /// `services`: name and method names; takes precedence over `all_methods`.
    pub services: Option<Vec<(String, Vec<String>)>>,
    pub upstream_stats: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Gzip {
    pub memory_level: Option<u64>,
    pub min_content_length: Option<u64>,
    pub compression_level: Option<String>,
    pub compression_strategy: Option<String>,
    pub window_bits: Option<u64>,
    pub content_type: Vec<String>,
    pub disable_on_etag_header: Option<bool>,
    pub remove_accept_encoding_header: Option<bool>,
}

/// An `ip_allow`/`ip_deny` entry: the client address as seen through
/// `X-Forwarded-For` (`remote`) or the peer's own (`peer`), and a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpPrincipal {
    pub peer: bool,
    pub address: String,
    pub prefix_len: u32,
}

/// Envoy's load-balancing policy of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub enum LbPolicy {
    #[default]
    RoundRobin,
    LeastRequest,
    RingHash,
    Maglev,
}

/// What a ring_hash / maglev balancer hashes on (a route's hash policy).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HashOn {
    Cookie {
        name: String,
        path: Option<String>,
        ttl: Option<String>,
    },
    Header(String),
    SourceIp,
}

/// One active health check of an upstream (EDS clusters only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HealthCheck {
    pub timeout: String,
    pub interval: String,
    pub healthy_threshold: u64,
    pub unhealthy_threshold: u64,
    pub target: HealthCheckTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HealthCheckTarget {
    Http {
        path: String,
        host: Option<String>,
        add_request_headers: Vec<(String, String, bool)>,
        remove_request_headers: Vec<String>,
        /// Inclusive ranges, as written.
        expected_statuses: Vec<(u64, u64)>,
    },
    Grpc {
        service_name: String,
        authority: Option<String>,
    },
}
