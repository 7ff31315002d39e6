//! The `ambassador` Module's `spec.config`: connection-manager and cluster
//! options, the built-in probe Mappings, retry and CORS defaults, the HTTP
//! filters it configures (gRPC, Lua, gzip, buffer, IP allow/deny), client
//! certificate forwarding and rate-limit label defaults; fields known but not
//! translated yet are reported.

use super::Meta;
use super::mapping::{circuit_breakers, read_cors, read_retry_policy};
use super::read::{Cx, Fields, Spanned};
use crate::ir::{CircuitBreaker, Cors, GrpcStats, Gzip, IpPrincipal, LabelAction, RetryPolicy};
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
    pub circuit_breakers: Vec<CircuitBreaker>,
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

/// Known `ambassador` Module fields that this version accepts without translating.
pub(super) const MODULE_NOT_YET: &[&str] = &[
    "add_linkerd_headers",
    "admin_port",
    "allow_chunked_length",
    "auth_service",
    "circuit_breakers",
    "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms",
    "defaults",
    "envoy_validation_timeout",
    "error_response_overrides",
    "header_case_overrides",
    "keepalive",
    "statsd",
    "use_proxy_proto",
    "x_forwarded_proto_redirect",
    "xff_num_trusted_hops",
    "envoy_access_log",
    "ambassador_id",
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
        circuit_breakers: Vec::new(),
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
    m.circuit_breakers = circuit_breakers(cx, &mut c);
    module_filters(cx, &mut c, &mut m);
    for key in MODULE_NOT_YET {
        if let Some(n) = c.node(key) {
            cx.warning(
                "module-field-not-translated",
                &c.path(key),
                Some(n.span),
                format!("Module field `{key}` is not translated by this version; it is ignored"),
            );
        }
    }
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
