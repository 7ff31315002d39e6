//! The `ambassador` Module's `spec.config`: connection-manager and cluster
//! options, the built-in probe Mappings, retry and CORS defaults, the HTTP
//! filters it configures (gRPC, Lua, gzip, buffer, IP allow/deny), client
//! certificate forwarding, rate-limit label defaults, cluster defaults
//! (timeouts, keepalive, circuit breakers), Mapping `defaults` and bootstrap
//! settings (`admin_port`, `runtime_flags`). Keys Emissary accepts without
//! effect, and those stock Envoy cannot express, are reported.

use super::Meta;
use super::mapping::{circuit_breakers, keepalive, read_cors, read_retry_policy};
use super::read::{Cx, Fields, Spanned};
use crate::ir::{
    CircuitBreaker, Cors, GrpcStats, Gzip, HeaderAdd, IpPrincipal, Keepalive, LabelAction,
    RetryPolicy, RuntimeFlag, RuntimeValue,
};
use crate::source::Value;

/// The `ambassador` Module's `spec.config`, the fields this version translates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Module {
    pub meta: Option<Meta>,
    pub use_remote_address: Option<bool>,
    pub server_name: Option<String>,
    pub cluster_request_timeout_ms: Option<u64>,
    pub regex_max_size: Option<u64>,
    pub merge_slashes: bool,
    pub strip_matching_host_port: bool,
    pub reject_requests_with_escaped_slashes: bool,
    pub preserve_external_request_id: Option<bool>,
    pub enable_http10: Option<bool>,
    pub listener_idle_timeout_ms: Option<u64>,
    pub max_request_headers_kb: Option<u64>,
    pub headers_with_underscores_action: Option<String>,
    pub diagnostics_enabled: bool,
    pub retry_policy: Option<RetryPolicy>,
    pub cors: Option<Cors>,
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub use_ambassador_namespace_for_service_resolution: bool,
    pub proper_case: bool,
    /// Breakers of every Mapping, TCPMapping and AuthService cluster that has
    /// no `circuit_breakers` of its own (`None`: not written, or invalid).
    pub circuit_breakers: Option<Vec<CircuitBreaker>>,
    /// `cluster_idle_timeout_ms` of every cluster without its own (0: unset).
    pub cluster_idle_timeout_ms: Option<u64>,
    /// `cluster_max_connection_lifetime_ms` of every cluster without its own.
    pub cluster_max_connection_lifetime_ms: Option<u64>,
    /// `keepalive` of every cluster without its own.
    pub keepalive: Option<Keepalive>,
    /// `allow_chunked_length` of every HTTP connection manager.
    pub allow_chunked_length: Option<bool>,
    /// `add_linkerd_headers`: the default of Mappings and the AuthService.
    pub add_linkerd_headers: bool,
    /// `defaults`: what Mappings without their own use.
    pub defaults: MappingDefaults,
    /// `defaults.tls_secret_namespacing`: TLSContexts' `secret_namespacing` default.
    pub tls_secret_namespacing: Option<bool>,
    /// `runtime_flags`: the valid ones, for the bootstrap's static runtime layer.
    pub runtime_flags: Vec<RuntimeFlag>,
    /// `admin_port`: Envoy's admin port in a static bootstrap.
    pub admin_port: Option<u16>,
    /// Emissary's built-in Mappings: liveness, readiness, diagnostics.
    pub probes: [Probe; 3],
    pub filters: ModuleFilters,
    pub suppress_envoy_headers: bool,
    pub forward_client_cert_details: Option<String>,
    /// `set_current_client_cert_details`: subject, cert, chain, dns, uri.
    pub set_current_client_cert_details: Option<[bool; 5]>,
    pub buffer_limit_bytes: Option<u64>,
    pub default_label_domain: Option<String>,
    /// `default_labels`: per domain, the entries prepended to every label group.
    pub default_labels: Vec<(String, Vec<LabelAction>)>,
    pub access_log: super::AccessLogOptions,
    /// Default resolver name for Mappings without one.
    pub resolver: Option<Spanned<String>>,
    /// Default load balancer for Mappings without one.
    pub load_balancer: Option<super::LoadBalancer>,
    /// The edge limits of our own (`rs_` keys, which Emissary does not have).
    pub limits: ModuleLimits,
}

/// The `rs_`-prefixed Module keys: edge limits Emissary leaves at Envoy's
/// defaults (see `docs/hardening.md`). The prefix keeps them apart from any
/// key Emissary has or may add. `None`: not written, the default applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModuleLimits {
    /// `rs_cluster_buffer_limit_bytes` (0: Envoy's default).
    pub cluster_buffer_limit_bytes: Option<u64>,
    /// `rs_http2_max_concurrent_streams` (0: Envoy's default).
    pub http2_max_concurrent_streams: Option<u64>,
    /// `rs_http2_initial_stream_window_size` (0: Envoy's default).
    pub http2_initial_stream_window_size: Option<u64>,
    /// `rs_http2_initial_connection_window_size` (0: Envoy's default).
    pub http2_initial_connection_window_size: Option<u64>,
    /// `rs_stream_idle_timeout_ms` (0: no timeout).
    pub stream_idle_timeout_ms: Option<u64>,
}

/// Reads the `rs_` keys of the Module's `config`.
fn limits(cx: &mut Cx<'_>, c: &mut Fields<'_>) -> ModuleLimits {
    const I32: u64 = i32::MAX as u64;
    let mut window = |cx: &mut Cx<'_>, key: &str| {
        let v = c.uint(cx, key, I32)?;
        if v.value != 0 && v.value < 65535 {
            cx.error(
                "module-value",
                &format!("spec.config.{key}"),
                Some(v.span),
                format!(
                    "`{key}` must be 0 (Envoy's default) or at least 65535, not {}",
                    v.value
                ),
            );
            return None;
        }
        Some(v.value)
    };
    let stream = window(cx, "rs_http2_initial_stream_window_size");
    let connection = window(cx, "rs_http2_initial_connection_window_size");
    ModuleLimits {
        cluster_buffer_limit_bytes: c
            .uint(cx, "rs_cluster_buffer_limit_bytes", u32::MAX as u64)
            .map(|s| s.value),
        http2_max_concurrent_streams: c
            .uint(cx, "rs_http2_max_concurrent_streams", I32)
            .map(|s| s.value),
        http2_initial_stream_window_size: stream,
        http2_initial_connection_window_size: connection,
        stream_idle_timeout_ms: c
            .uint(cx, "rs_stream_idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
    }
}

/// The Module's `defaults` for HTTP Mappings (`defaults.httpmapping.<key>`,
/// else `defaults.<key>`): a Mapping that writes the key, even empty, keeps its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingDefaults {
    pub add_request_headers: Vec<HeaderAdd>,
    pub add_response_headers: Vec<HeaderAdd>,
    pub remove_request_headers: Vec<String>,
    pub remove_response_headers: Vec<String>,
    pub stats_name: Option<String>,
}

/// One of the Module's built-in Mappings (`liveness_probe`, `readiness_probe`, `diagnostics`).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub enabled: bool,
    pub prefix: Option<String>,
    pub rewrite: Option<String>,
    pub service: Option<String>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            enabled: true,
            prefix: None,
            rewrite: None,
            service: None,
        }
    }
}

/// The HTTP filters the `ambassador` Module configures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModuleFilters {
    pub grpc_http1_bridge: bool,
    pub grpc_web: bool,
    pub grpc_stats: Option<GrpcStats>,
    pub lua_scripts: Option<String>,
    pub gzip: Option<Gzip>,
    pub buffer_max_request_bytes: Option<u64>,
    /// `ip_allow` (true) or `ip_deny` (false) with its principals.
    pub ip_rules: Option<(bool, Vec<IpPrincipal>)>,
}

/// Module keys Emissary reads (or keeps) without any effect on Envoy's
/// configuration, with what to use instead (reported as `module-field-inert`).
pub(super) const MODULE_INERT: &[(&str, &str)] = &[
    (
        "ambassador_id",
        "`ambassador_id` belongs in the Module's `spec`, not in `spec.config`",
    ),
    ("auth_enabled", "Emissary keeps it without reading it"),
    (
        "auth_service",
        "the ambassador Module does not configure authentication; use an AuthService",
    ),
    ("debug_mode", "Emissary keeps it without reading it"),
    (
        "diag_port",
        "the diagnostics service is served by this control plane's admin endpoint",
    ),
    (
        "envoy_validation_timeout",
        "it only bounds Emissary's own `envoy --mode validate` run",
    ),
    (
        "prune_unreachable_routes",
        "Emissary 4 keeps it without reading it",
    ),
    (
        "regex_type",
        "it did something in Emissary 1.x/2.x only; every regex is RE2",
    ),
    (
        "service_port",
        "the Listeners decide which ports Envoy listens on",
    ),
    (
        "statsd",
        "StatsD is configured with the STATSD_* environment variables, not the Module",
    ),
    (
        "tls",
        "Emissary reports it as deprecated and ignores it; use a TLSContext",
    ),
    (
        "use_proxy_proto",
        "PROXY protocol is a Listener's `protocol: HTTPPROXY`/`HTTPSPROXY` (or `protocolStack`)",
    ),
    (
        "x_forwarded_proto_redirect",
        "use a Listener `securityModel: XFP` and the Host's `requestPolicy.insecure.action: Redirect`",
    ),
    (
        "xff_num_trusted_hops",
        "the number of trusted X-Forwarded-For hops is a Listener's `l7Depth`",
    ),
];

/// Errors Emissary reports on the Module while the rest of it stays in
/// effect: they do not leave the Module out (unlike other errors in an object).
pub(crate) const ERRORS_KEEPING_MODULE: &[&str] = &[
    "module-circuit-breakers-invalid",
    "module-error-response-overrides",
    "module-field-inert",
    "module-header-case-overrides",
];

/// The Module keys the schema keeps as written whatever their type: their
/// reader names every problem.
pub(super) const MODULE_ANY: &[&str] = &[
    "add_linkerd_headers",
    "admin_port",
    "allow_chunked_length",
    "circuit_breakers",
    "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms",
    "defaults",
    "error_response_overrides",
    "header_case_overrides",
    "keepalive",
    "runtime_flags",
];

pub(crate) fn module(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Module> {
    if meta.name != "ambassador" {
        cx.warning(
            "module-name",
            "metadata.name",
            Some(meta.span),
            format!(
                "Module `{}` is ignored: only the Module named `ambassador` configures Emissary",
                meta.name
            ),
        );
        f.ignore(&["config"]);
        return None;
    }
    let Some(mut c) = f.object(cx, "config") else {
        return Some(Module {
            meta: Some(meta),
            diagnostics_enabled: true,
            ..Default::default()
        });
    };
    let mut m = Module {
        use_remote_address: c.bool(cx, "use_remote_address"),
        server_name: c.str(cx, "server_name").map(|s| s.value),
        cluster_request_timeout_ms: c
            .uint(cx, "cluster_request_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        regex_max_size: c
            .uint(cx, "regex_max_size", u32::MAX as u64)
            .map(|s| s.value),
        merge_slashes: c.bool(cx, "merge_slashes").unwrap_or(false),
        strip_matching_host_port: c.bool(cx, "strip_matching_host_port").unwrap_or(false),
        reject_requests_with_escaped_slashes: c
            .bool(cx, "reject_requests_with_escaped_slashes")
            .unwrap_or(false),
        preserve_external_request_id: c.bool(cx, "preserve_external_request_id"),
        enable_http10: c.bool(cx, "enable_http10"),
        listener_idle_timeout_ms: c
            .uint(cx, "listener_idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        max_request_headers_kb: c.uint(cx, "max_request_headers_kb", 8192).map(|s| s.value),
        headers_with_underscores_action: c.str(cx, "headers_with_underscores_action").and_then(
            |s| {
                if matches!(s.value.as_str(), "ALLOW" | "REJECT_REQUEST" | "DROP_HEADER") {
                    Some(s.value)
                } else {
                    cx.error(
                        "module-value",
                        "spec.config.headers_with_underscores_action",
                        Some(s.span),
                        format!("`{}` must be ALLOW, REJECT_REQUEST or DROP_HEADER", s.value),
                    );
                    None
                }
            },
        ),
        diagnostics_enabled: true,
        retry_policy: c
            .object(cx, "retry_policy")
            .map(|r| read_retry_policy(cx, r)),
        cors: c.object(cx, "cors").map(|o| read_cors(cx, o)),
        enable_ipv4: c.bool(cx, "enable_ipv4"),
        enable_ipv6: c.bool(cx, "enable_ipv6"),
        use_ambassador_namespace_for_service_resolution: c
            .bool(cx, "use_ambassador_namespace_for_service_resolution")
            .unwrap_or(false),
        proper_case: c.bool(cx, "proper_case").unwrap_or(false),
        access_log: super::observability::access_log_options(cx, &mut c),
        resolver: c.str(cx, "resolver"),
        load_balancer: super::resolvers::load_balancer(cx, &mut c),
        limits: limits(cx, &mut c),
        meta: None,
        ..Default::default()
    };
    for (i, key) in ["liveness_probe", "readiness_probe", "diagnostics"]
        .into_iter()
        .enumerate()
    {
        if let Some(mut d) = c.object(cx, key) {
            let p = &mut m.probes[i];
            // As in Emissary, the object replaces the default `{enabled: true}`.
            p.enabled = match d.bool(cx, "enabled") {
                Some(e) => e,
                None => {
                    cx.warning(
                        "module-probe-disabled",
                        &c.path(key),
                        c.node(key).map(|n| n.span),
                        format!("`{key}` has no `enabled: true`, so its built-in Mapping is disabled (as in Emissary)"),
                    );
                    false
                }
            };
            p.prefix = d.str(cx, "prefix").map(|s| s.value);
            p.rewrite = d.str(cx, "rewrite").map(|s| s.value);
            p.service = d.str(cx, "service").map(|s| s.value);
            d.ignore(&["allow_non_local"]);
            d.finish(cx, key);
        }
    }
    m.diagnostics_enabled = m.probes[2].enabled;
    module_filters(cx, &mut c, &mut m);
    module_clusters(cx, &mut c, &mut m);
    module_defaults(cx, &mut c, &mut m);
    module_bootstrap(cx, &mut c, &mut m);
    module_unsupported(cx, &mut c, m.proper_case);
    c.finish(cx, "Module config");
    m.meta = Some(meta);
    Some(m)
}

/// The Module's HTTP filter options, router options and rate-limit defaults.
fn module_filters(cx: &mut Cx<'_>, c: &mut Fields<'_>, m: &mut Module) {
    let f = &mut m.filters;
    // Emissary installs these when the key is present, whatever its value.
    f.grpc_http1_bridge = c.node("enable_grpc_http11_bridge").is_some();
    f.grpc_web = c.node("enable_grpc_web").is_some();
    if let Some(mut g) = c.object(cx, "grpc_stats") {
        let services = g.node("services").map(|n| match &n.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|it| {
                    let name = it.get("name").map(crate::source::Node::scalar_text);
                    if name.is_none() {
                        cx.error(
                            "missing-field",
                            "spec.config.grpc_stats.services.name",
                            Some(it.span),
                            "every grpc_stats service needs a `name`",
                        );
                    }
                    let methods = match it.get("method_names").map(|n| &n.value) {
                        Some(Value::Seq(ms)) => ms.iter().map(|m| m.scalar_text()).collect(),
                        _ => Vec::new(),
                    };
                    name.map(|n| (n, methods))
                })
                .collect(),
            _ => {
                cx.error(
                    "wrong-type",
                    "spec.config.grpc_stats.services",
                    Some(n.span),
                    "`grpc_stats.services` must be a list of {name, method_names}",
                );
                Vec::new()
            }
        });
        f.grpc_stats = Some(GrpcStats {
            all_methods: g.bool(cx, "all_methods").unwrap_or(false),
            services,
            upstream_stats: g.bool(cx, "upstream_stats").unwrap_or(false),
        });
        g.finish(cx, "grpc_stats");
    }
    f.lua_scripts = c.str(cx, "lua_scripts").map(|s| s.value);
    if let Some(mut g) = c.object(cx, "gzip") {
        let level = enum_name(cx, &mut g, "compression_level", |v| {
            crate::pb::envoy::extensions::compression::gzip::compressor::v3::gzip::CompressionLevel::from_str_name(v).is_some()
        });
        let strategy = enum_name(cx, &mut g, "compression_strategy", |v| {
            crate::pb::envoy::extensions::compression::gzip::compressor::v3::gzip::CompressionStrategy::from_str_name(v).is_some()
        });
        let ranged = |cx: &mut Cx<'_>, g: &mut Fields<'_>, key: &str, lo: u64, hi: u64| {
            let v = g.uint(cx, key, hi)?;
            if v.value < lo {
                cx.error(
                    "value-out-of-range",
                    &g.path(key),
                    Some(v.span),
                    format!("`{}` must be between {lo} and {hi}", g.path(key)),
                );
                return None;
            }
            Some(v.value)
        };
        f.gzip = Some(Gzip {
            memory_level: ranged(cx, &mut g, "memory_level", 1, 9),
            min_content_length: g
                .uint(cx, "min_content_length", u32::MAX as u64)
                .map(|s| s.value),
            compression_level: level,
            compression_strategy: strategy,
            window_bits: ranged(cx, &mut g, "window_bits", 9, 15),
            content_type: g
                .str_list(cx, "content_type")
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.value)
                .collect(),
            disable_on_etag_header: g.bool(cx, "disable_on_etag_header"),
            remove_accept_encoding_header: g.bool(cx, "remove_accept_encoding_header"),
        });
        g.finish(cx, "gzip");
    }
    if let Some(mut b) = c.object(cx, "buffer") {
        let span = c.node("buffer").map(|n| n.span);
        f.buffer_max_request_bytes = b
            .required_uint(
                cx,
                "max_request_bytes",
                u32::MAX as u64,
                span.unwrap_or_default(),
            )
            .map(|s| s.value);
        if let Some(n) = b.node("max_request_time") {
            cx.warning(
                "module-field-not-translated",
                "spec.config.buffer.max_request_time",
                Some(n.span),
                "`max_request_time` is no longer supported by Envoy (nor Emissary); it is ignored",
            );
        }
        b.finish(cx, "buffer");
    }
    let allow = ip_principals(cx, c, "ip_allow");
    let deny = ip_principals(cx, c, "ip_deny");
    f.ip_rules = match (allow, deny) {
        (Some(_), Some(_)) => {
            cx.error(
                "module-ip-allow-deny",
                "spec.config.ip_deny",
                c.node("ip_deny").map(|n| n.span),
                "`ip_allow` and `ip_deny` cannot both be set",
            );
            None
        }
        (Some(a), None) => Some((true, a)),
        (None, Some(d)) => Some((false, d)),
        (None, None) => None,
    };
    m.suppress_envoy_headers = c.bool(cx, "suppress_envoy_headers").unwrap_or(false);
    m.buffer_limit_bytes = c
        .uint(cx, "buffer_limit_bytes", u32::MAX as u64)
        .map(|s| s.value);
    m.forward_client_cert_details = c.str(cx, "forward_client_cert_details").and_then(|v| {
        const VALID: &[&str] = &[
            "SANITIZE",
            "FORWARD_ONLY",
            "APPEND_FORWARD",
            "SANITIZE_SET",
            "ALWAYS_FORWARD_ONLY",
        ];
        if VALID.contains(&v.value.as_str()) {
            Some(v.value)
        } else {
            cx.error(
                "module-value",
                "spec.config.forward_client_cert_details",
                Some(v.span),
                format!("`{}` must be one of {}", v.value, VALID.join(", ")),
            );
            None
        }
    });
    if let Some(mut d) = c.object(cx, "set_current_client_cert_details") {
        let mut v = [false; 5];
        for (i, k) in ["subject", "cert", "chain", "dns", "uri"]
            .into_iter()
            .enumerate()
        {
            v[i] = d.bool(cx, k).unwrap_or(false);
        }
        d.finish(cx, "set_current_client_cert_details");
        m.set_current_client_cert_details = Some(v);
    }
    m.default_label_domain = c
        .str(cx, "default_label_domain")
        .map(|s| s.value)
        .filter(|s| !s.is_empty());
    if let Some(entries) = c.entries(cx, "default_labels") {
        for (dk, dv) in entries {
            let domain = dk.scalar_text();
            let path = format!("spec.config.default_labels.{domain}.defaults");
            let Some(Value::Seq(items)) = dv.get("defaults").map(|n| &n.value) else {
                cx.warning(
                    "module-default-labels",
                    &path,
                    Some(dv.span),
                    "default labels must be `{domain: {defaults: [entry, …]}}`; this domain is ignored",
                );
                continue;
            };
            let mut actions = Vec::new();
            for it in items {
                match super::services::label_action_of(it) {
                    Ok(a) => actions.push(a),
                    Err(msg) => cx.warning(
                        "mapping-label-invalid",
                        &path,
                        Some(it.span),
                        format!("{msg}; the entry is ignored"),
                    ),
                }
            }
            m.default_labels.push((domain, actions));
        }
    }
}

/// Cluster defaults: every cluster without its own value takes the Module's.
fn module_clusters(cx: &mut Cx<'_>, c: &mut Fields<'_>, m: &mut Module) {
    // Emissary tests these for truth: 0 is the same as not set.
    let mut nonzero = |cx: &mut Cx<'_>, key: &str| {
        c.uint(cx, key, u32::MAX as u64)
            .map(|s| s.value)
            .filter(|v| *v != 0)
    };
    m.cluster_idle_timeout_ms = nonzero(cx, "cluster_idle_timeout_ms");
    m.cluster_max_connection_lifetime_ms = nonzero(cx, "cluster_max_connection_lifetime_ms");
    m.keepalive = keepalive(cx, c);
    let before = cx.diags.len();
    let (breakers, valid) = circuit_breakers(cx, c);
    if valid {
        m.circuit_breakers = breakers;
    } else {
        // One error, with the details folded in: it keeps the Module (see
        // `ERRORS_KEEPING_MODULE`), the details' own codes would not.
        let details: Vec<_> = cx.diags.drain(before..).collect();
        let mut why = Vec::new();
        for d in details {
            if d.severity == crate::diag::Severity::Error {
                why.push(d.message);
            } else {
                cx.diags.push(d);
            }
        }
        cx.error(
            "module-circuit-breakers-invalid",
            &c.path("circuit_breakers"),
            c.node("circuit_breakers").map(|n| n.span),
            format!(
                "the Module's `circuit_breakers` are invalid ({}), so they are ignored: clusters keep Envoy's default thresholds. Emissary 4 would instead reject every Mapping and TCPMapping without `circuit_breakers` of its own (its built-in probe Mappings too)",
                why.join("; ")
            ),
        );
    }
    m.allow_chunked_length = c.bool(cx, "allow_chunked_length");
    m.add_linkerd_headers = c.bool(cx, "add_linkerd_headers").unwrap_or(false);
}

/// `defaults`: for HTTP Mappings `defaults.httpmapping.<key>`, else
/// `defaults.<key>` (Emissary's `lookup_default`); for TLSContexts
/// `defaults.tls_secret_namespacing`.
fn module_defaults(cx: &mut Cx<'_>, c: &mut Fields<'_>, m: &mut Module) {
    let Some(mut d) = c.object(cx, "defaults") else {
        return;
    };
    m.tls_secret_namespacing = d.bool(cx, "tls_secret_namespacing");
    let mut hm = d.object(cx, "httpmapping");
    // The Fields that holds `key`: the class's own block first.
    fn holder<'a, 'n>(
        hm: &'a mut Option<Fields<'n>>,
        d: &'a mut Fields<'n>,
        key: &str,
    ) -> &'a mut Fields<'n> {
        match hm {
            Some(h) if h.has(key) => {
                // Emissary never looks at the top-level value then.
                d.ignore(&[key]);
                h
            }
            _ => d,
        }
    }
    let list = |cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str| -> Vec<String> {
        f.str_list(cx, key)
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.value)
            .collect()
    };
    let defaults = &mut m.defaults;
    let f = holder(&mut hm, &mut d, "add_request_headers");
    defaults.add_request_headers = super::mapping::header_adds(cx, f, "add_request_headers");
    let f = holder(&mut hm, &mut d, "add_response_headers");
    defaults.add_response_headers = super::mapping::header_adds(cx, f, "add_response_headers");
    let f = holder(&mut hm, &mut d, "remove_request_headers");
    defaults.remove_request_headers = list(cx, f, "remove_request_headers");
    let f = holder(&mut hm, &mut d, "remove_response_headers");
    defaults.remove_response_headers = list(cx, f, "remove_response_headers");
    let f = holder(&mut hm, &mut d, "stats_name");
    defaults.stats_name = f.str(cx, "stats_name").map(|s| s.value);
    if let Some(h) = hm {
        h.finish(cx, "the Module's HTTP Mapping defaults");
    }
    d.finish(cx, "the Module's defaults");
}

/// The runtime keys Emissary passes from `runtime_flags` to Envoy: integers
/// greater than zero.
const RUNTIME_INT_FLAGS: &[&str] = &[
    "http.max_requests_per_io_cycle",
    "overload.premature_reset_min_stream_lifetime_seconds",
    "overload.premature_reset_total_stream_count",
];
/// The boolean runtime key Emissary means to pass (its check reads the wrong
/// value, so it rarely does; we pass it).
const RUNTIME_GOAWAY_FLAG: &str = "envoy.restart_features.send_goaway_for_premature_rst_streams";

/// `admin_port` and `runtime_flags`: Envoy reads them from its bootstrap,
/// that is when it starts.
fn module_bootstrap(cx: &mut Cx<'_>, c: &mut Fields<'_>, m: &mut Module) {
    m.admin_port = c.uint(cx, "admin_port", 65535).and_then(|p| {
        if p.value == 0 {
            cx.error(
                "module-value",
                "spec.config.admin_port",
                Some(p.span),
                "`admin_port` must be a port between 1 and 65535",
            );
            None
        } else {
            Some(p.value as u16)
        }
    });
    if m.admin_port.is_some() {
        cx.info(
            "module-bootstrap-only",
            "spec.config.admin_port",
            c.node("admin_port").map(|n| n.span),
            "`admin_port` is written to bootstraps built from this configuration (`emissary translate --output bootstrap`); the Envoy that `emissary serve` supervises takes its admin port from `--envoy-admin-port` (EMISSARY_ENVOY_ADMIN_PORT), and any Envoy reads it only when it starts",
        );
    }
    let Some(entries) = c.entries(cx, "runtime_flags") else {
        return;
    };
    if !entries.is_empty() {
        cx.info(
            "module-bootstrap-only",
            "spec.config.runtime_flags",
            c.node("runtime_flags").map(|n| n.span),
            "`runtime_flags` are written to bootstraps built from this configuration (`emissary translate --output bootstrap`), which Envoy reads when it starts; the bootstrap of an Envoy that takes its configuration over ADS (`emissary serve`, `emissary ads-bootstrap`) does not have them",
        );
    }
    for (k, v) in entries {
        let name = k.scalar_text();
        let path = format!("spec.config.runtime_flags.{name}");
        let value = if RUNTIME_INT_FLAGS.contains(&name.as_str()) {
            match v.value {
                Value::Int(i) if i > 0 => Ok(RuntimeValue::Int(i as u64)),
                _ => Err("must be an integer greater than zero"),
            }
        } else if name == RUNTIME_GOAWAY_FLAG {
            match v.value {
                Value::Bool(b) => Ok(RuntimeValue::Bool(b)),
                _ => Err("must be a boolean"),
            }
        } else {
            cx.warning(
                "module-runtime-flag",
                &path,
                Some(k.span),
                format!(
                    "runtime flag `{name}` is ignored: Emissary passes only {}, {} to Envoy",
                    RUNTIME_INT_FLAGS.join(", "),
                    RUNTIME_GOAWAY_FLAG
                ),
            );
            continue;
        };
        match value {
            Ok(value) => m.runtime_flags.push(RuntimeFlag { name, value }),
            Err(why) => cx.warning(
                "module-runtime-flag",
                &path,
                Some(v.span),
                format!("runtime flag `{name}` {why}; it is ignored (as in Emissary)"),
            ),
        }
    }
}

/// Keys with no effect on Envoy's configuration, in Emissary or here.
fn module_unsupported(cx: &mut Cx<'_>, c: &mut Fields<'_>, proper_case: bool) {
    if let Some(n) = c.node("error_response_overrides") {
        cx.error(
            "module-error-response-overrides",
            "spec.config.error_response_overrides",
            Some(n.span),
            "error_response_overrides is not supported in Emissary 4 and will be ignored; the rest of the Module applies",
        );
    }
    header_case_overrides(cx, c, proper_case);
    for (key, hint) in MODULE_INERT {
        if let Some(n) = c.node(key) {
            let mut msg = format!(
                "Module field `{key}` has no effect on Envoy's configuration (nor in Emissary 4): {hint}"
            );
            if *key == "envoy_validation_timeout"
                && !matches!(n.value, Value::Int(_))
                && n.scalar_text().trim().parse::<i64>().is_err()
            {
                msg.push_str("; Emissary also reports that the value is not an integer");
            }
            if *key == "tls" {
                cx.error("module-field-inert", &c.path(key), Some(n.span), msg);
            } else {
                cx.info("module-field-inert", &c.path(key), Some(n.span), msg);
            }
        }
    }
}

/// `header_case_overrides`: Emissary's checks, then the reason it cannot
/// apply (stock Envoy has no `header_key_format.custom`).
fn header_case_overrides(cx: &mut Cx<'_>, c: &mut Fields<'_>, proper_case: bool) {
    let Some(n) = c.node("header_case_overrides") else {
        return;
    };
    let path = c.path("header_case_overrides");
    let Value::Seq(items) = &n.value else {
        cx.error(
            "module-header-case-overrides",
            &path,
            Some(n.span),
            "Ambassador module config 'header_case_overrides' must be an array; it is ignored",
        );
        return;
    };
    if items.is_empty() {
        return;
    }
    if proper_case {
        cx.error(
            "module-header-case-overrides",
            &path,
            Some(n.span),
            "Only one of 'proper_case' or 'header_case_overrides' fields may be set on the Ambassador module. Honoring proper_case and ignoring header_case_overrides.",
        );
        return;
    }
    let mut valid = 0;
    for it in items {
        if matches!(it.value, Value::Str(_)) {
            valid += 1;
        } else {
            cx.error(
                "module-header-case-overrides",
                &path,
                Some(it.span),
                format!(
                    "Skipping non-string header in 'header_case_overrides': {}",
                    it.scalar_text()
                ),
            );
        }
    }
    if valid == 0 {
        cx.error(
            "module-header-case-overrides",
            &path,
            Some(n.span),
            "Could not parse any valid string headers in 'header_case_overrides'",
        );
        return;
    }
    cx.error(
        "module-header-case-overrides",
        &path,
        Some(n.span),
        "`header_case_overrides` needs Emissary's own Envoy build (header_key_format `custom` rules), which stock Envoy does not have; it is ignored",
    );
}

fn enum_name(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    key: &str,
    known: impl Fn(&str) -> bool,
) -> Option<String> {
    let v = f.str(cx, key)?;
    if known(&v.value) {
        Some(v.value)
    } else {
        cx.error(
            "module-value",
            &f.path(key),
            Some(v.span),
            format!(
                "`{}` is not a valid {key} (Envoy's gzip enum names)",
                v.value
            ),
        );
        None
    }
}

/// `ip_allow`/`ip_deny`: a list of `{remote: CIDR}` or `{peer: CIDR}`.
fn ip_principals(cx: &mut Cx<'_>, c: &mut Fields<'_>, key: &str) -> Option<Vec<IpPrincipal>> {
    let n = c.node(key)?;
    let path = c.path(key);
    let Value::Seq(items) = &n.value else {
        cx.error(
            "wrong-type",
            &path,
            Some(n.span),
            format!("`{path}` must be a list of {{remote: CIDR}} or {{peer: CIDR}}"),
        );
        return None;
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let entries = it.as_map().unwrap_or_default();
        if entries.len() != 1 {
            cx.error(
                "module-ip-principal",
                &ipath,
                Some(it.span),
                "each principal must be a separate list element with one key, `remote` or `peer`",
            );
            continue;
        }
        let (k, v) = &entries[0];
        let peer = match k.scalar_text().as_str() {
            "remote" => false,
            "peer" => true,
            other => {
                cx.error(
                    "module-ip-principal",
                    &ipath,
                    Some(k.span),
                    format!("principal type `{other}` must be `remote` or `peer`"),
                );
                continue;
            }
        };
        match parse_cidr(&v.scalar_text()) {
            Ok((address, prefix_len)) => out.push(IpPrincipal {
                peer,
                address,
                prefix_len,
            }),
            Err(e) => cx.error("module-ip-principal", &ipath, Some(v.span), e),
        }
    }
    Some(out)
}

/// `10.0.0.0/8`, `::1`, `2001:db8::/32` → (canonical address, prefix length).
pub(crate) fn parse_cidr(spec: &str) -> Result<(String, u32), String> {
    let (addr, len) = match spec.split_once('/') {
        Some((a, l)) => (
            a,
            Some(
                l.parse::<u32>()
                    .map_err(|_| format!("CIDR range `{spec}` has an invalid length"))?,
            ),
        ),
        None => (spec, None),
    };
    let ip: std::net::IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("`{addr}` is not an IP address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    if len > max {
        return Err(format!("prefix length {len} is too long for `{addr}`"));
    }
    Ok((ip.to_string(), len))
}
