//! Host, Listener, TLSContext, Module, TCPMapping and core `Secret`.

use super::Meta;
use super::mapping::{circuit_breakers, read_cors, read_retry_policy};
use super::read::{self, Cx, Fields, Spanned};
use crate::diag::Span;
use crate::ir::{CircuitBreaker, Cors, GrpcStats, Gzip, IpPrincipal, LabelAction, RetryPolicy};
use crate::source::Value;
use std::collections::BTreeMap;

/// What a Host does with cleartext requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InsecureAction {
    Redirect,
    Route,
    Reject,
}

/// TLS settings shared by TLSContext and Host `spec.tls`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsSettings {
    pub alpn_protocols: Vec<String>,
    pub min_tls_version: Option<String>,
    pub max_tls_version: Option<String>,
    pub cipher_suites: Vec<String>,
    pub ecdh_curves: Vec<String>,
    pub cert_required: Option<bool>,
    pub ca_secret: Option<String>,
    pub crl_secret: Option<String>,
    pub sni: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub meta: Meta,
    pub hostname: String,
    pub hostname_span: Option<Span>,
    /// `tlsSecret {name, namespace}`.
    pub tls_secret: Option<(Spanned<String>, Option<String>)>,
    /// `tlsContext {name}`.
    pub tls_context: Option<Spanned<String>>,
    /// Inline `tls {…}`.
    pub tls: Option<TlsSettings>,
    pub insecure_action: InsecureAction,
    pub insecure_additional_port: Option<u64>,
    pub mapping_selector: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecurityModel {
    Xfp,
    Secure,
    Insecure,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub meta: Meta,
    pub port: u16,
    pub port_span: Span,
    pub bind_address: String,
    /// Upper-case protocol stack, e.g. `[TLS, HTTP, TCP]`.
    pub protocol_stack: Vec<String>,
    pub security_model: SecurityModel,
    pub stats_prefix: Option<String>,
    pub l7_depth: u32,
    /// `None` = all namespaces; `Some(ns)` = only Hosts in that namespace.
    pub namespace: Option<String>,
    pub host_selector: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TlsContext {
    pub meta: Meta,
    pub hosts: Vec<String>,
    pub secret: Option<Spanned<String>>,
    pub secret_namespacing: Option<bool>,
    pub settings: TlsSettings,
}

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

#[derive(Debug, Clone, PartialEq)]
pub struct TcpMapping {
    pub meta: Meta,
    pub port: u16,
    pub port_span: Span,
    pub address: Option<String>,
    pub host: Option<String>,
    pub service: Spanned<String>,
    pub tls: Option<Spanned<String>>,
    pub tls_plain: bool,
    pub weight: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub circuit_breakers: Vec<CircuitBreaker>,
    pub resolver: Option<Spanned<String>>,
}

/// A `kubernetes.io/tls` Secret, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub meta: Meta,
    pub cert_chain: Option<String>,
    pub private_key: Option<String>,
    /// `ca.crt`, for client-certificate validation.
    pub ca_cert: Option<String>,
    /// `crl.pem`, a certificate revocation list.
    pub crl: Option<String>,
}

fn tls_settings(cx: &mut Cx<'_>, f: &mut Fields<'_>, camel: bool) -> TlsSettings {
    let k = |snake: &'static str, camel_name: &'static str| if camel { camel_name } else { snake };
    let alpn = f
        .str_list(cx, k("alpn_protocols", "alpnProtocols"))
        .unwrap_or_default();
    let s = TlsSettings {
        alpn_protocols: alpn
            .into_iter()
            .flat_map(|s| {
                s.value
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect(),
        min_tls_version: tls_version(cx, f, k("min_tls_version", "minTlsVersion")),
        max_tls_version: tls_version(cx, f, k("max_tls_version", "maxTlsVersion")),
        cipher_suites: known_only(
            cx,
            f,
            k("cipher_suites", "cipherSuites"),
            "tls-cipher-unknown",
            |c| {
                let inner = c.strip_prefix('[').and_then(|c| c.strip_suffix(']'));
                inner
                    .unwrap_or(c)
                    .split('|')
                    .all(|n| CIPHERS.contains(&n.trim()))
            },
        ),
        ecdh_curves: known_only(
            cx,
            f,
            k("ecdh_curves", "ecdhCurves"),
            "tls-curve-unknown",
            |c| CURVES.contains(&c),
        ),
        cert_required: f.bool(cx, k("cert_required", "certRequired")),
        ca_secret: f.str(cx, k("ca_secret", "caSecret")).map(|s| s.value),
        crl_secret: f.str(cx, k("crl_secret", "crlSecret")).map(|s| s.value),
        sni: f.str(cx, "sni").map(|s| s.value),
    };
    f.ignore(&[
        k("redirect_cleartext_from", "redirectCleartextFrom"),
        k("cert_chain_file", "certChainFile"),
        k("private_key_file", "privateKeyFile"),
        k("cacert_chain_file", "cacertChainFile"),
        k("crl_file", "crlFile"),
        "v3CRLSecret",
    ]);
    s
}

/// The cipher suites Envoy's TLS library accepts (TLS 1.2 and below; TLS 1.3
/// suites are not configurable).
const CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-PSK-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-PSK-AES128-CBC-SHA",
    "ECDHE-PSK-AES256-CBC-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "PSK-AES128-CBC-SHA",
    "PSK-AES256-CBC-SHA",
    "DES-CBC3-SHA",
];

/// The ECDH curves Envoy's TLS library accepts.
const CURVES: &[&str] = &[
    "X25519",
    "P-256",
    "prime256v1",
    "P-384",
    "P-521",
    "X25519MLKEM768",
];

/// A list of names, without the ones Envoy would reject (each reported):
/// one unknown name would make Envoy refuse the whole configuration.
fn known_only(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    key: &str,
    code: &'static str,
    known: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in f.str_list(cx, key).unwrap_or_default() {
        if known(&s.value) {
            out.push(s.value);
        } else {
            cx.warning(
                code,
                &f.path(key),
                Some(s.span),
                format!(
                    "`{}` is not known to Envoy's TLS library; it is left out",
                    s.value
                ),
            );
        }
    }
    out
}

fn tls_version(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Option<String> {
    let v = f.str(cx, key)?;
    if matches!(v.value.as_str(), "v1.0" | "v1.1" | "v1.2" | "v1.3") {
        Some(v.value)
    } else {
        cx.error(
            "tls-version",
            &f.path(key),
            Some(v.span),
            format!(
                "`{}` is not a TLS version; use one of v1.0, v1.1, v1.2, v1.3",
                v.value
            ),
        );
        None
    }
}

pub(crate) fn host(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Host> {
    let hn = f.str(cx, "hostname");
    let tls_secret = f.object(cx, "tlsSecret").and_then(|mut o| {
        let name = o.str(cx, "name");
        let ns = o.str(cx, "namespace").map(|s| s.value);
        o.finish(cx, "tlsSecret");
        if name.is_none() {
            cx.error(
                "missing-field",
                "spec.tlsSecret.name",
                None,
                "`spec.tlsSecret.name` is required",
            );
        }
        name.map(|n| (n, ns))
    });
    let tls_context = f.object(cx, "tlsContext").and_then(|mut o| {
        let name = o.str(cx, "name");
        o.finish(cx, "tlsContext");
        name
    });
    let tls = f.object(cx, "tls").map(|mut o| {
        let s = tls_settings(cx, &mut o, true);
        o.finish(cx, "tls");
        s
    });
    let mut insecure_action = InsecureAction::Redirect;
    let mut insecure_additional_port = None;
    if let Some(mut rp) = f.object(cx, "requestPolicy") {
        if let Some(mut ins) = rp.object(cx, "insecure") {
            if let Some(a) = ins.str(cx, "action") {
                insecure_action = match a.value.as_str() {
                    "Redirect" => InsecureAction::Redirect,
                    "Route" => InsecureAction::Route,
                    "Reject" => InsecureAction::Reject,
                    other => {
                        cx.warning(
                            "host-insecure-action",
                            "spec.requestPolicy.insecure.action",
                            Some(a.span),
                            format!("insecure action `{other}` must be Redirect, Route or Reject; Redirect is used"),
                        );
                        InsecureAction::Redirect
                    }
                };
            }
            insecure_additional_port = ins.uint(cx, "additionalPort", 65535).map(|s| s.value);
            ins.finish(cx, "requestPolicy.insecure");
        }
        rp.finish(cx, "requestPolicy");
    }
    let mut mapping_selector = selector(cx, f, "mappingSelector");
    if mapping_selector.is_none() {
        mapping_selector = selector(cx, f, "selector");
    }
    f.ignore(&[
        "acmeProvider",
        "previewUrl",
        "tlsCertificateSource",
        "ambassadorId",
    ]);
    Some(Host {
        hostname: hn
            .as_ref()
            .map(|h| h.value.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "*".into()),
        hostname_span: hn.map(|h| h.span),
        tls_secret,
        tls_context,
        tls,
        insecure_action,
        insecure_additional_port,
        mapping_selector,
        meta,
    })
}

fn selector(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Option<BTreeMap<String, String>> {
    let mut o = f.object(cx, key)?;
    let labels = read::labels(cx, &mut o, "matchLabels");
    if let Some(n) = o.node("matchExpressions") {
        cx.warning(
            "selector-match-expressions",
            &o.path("matchExpressions"),
            Some(n.span),
            "matchExpressions are not supported by Emissary; only matchLabels are used",
        );
    }
    o.finish(cx, key);
    Some(labels)
}

pub(crate) fn listener(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Listener> {
    let span = meta.span;
    let port = f.required_uint(cx, "port", 65535, span);
    let protocol = f.str(cx, "protocol");
    let stack = f.str_list(cx, "protocolStack");
    let protocol_stack: Vec<String> = match (stack, protocol) {
        (Some(stack), p) => {
            if let Some(p) = p {
                cx.warning(
                    "listener-protocol-conflict",
                    "spec.protocol",
                    Some(p.span),
                    "`protocol` and `protocolStack` are both set; `protocolStack` is used",
                );
            }
            stack
                .into_iter()
                .map(|s| s.value.to_ascii_uppercase())
                .collect()
        }
        (None, Some(p)) => {
            let s: &[&str] = match p.value.to_ascii_uppercase().as_str() {
                "HTTP" => &["HTTP", "TCP"],
                "HTTPS" => &["TLS", "HTTP", "TCP"],
                "HTTPPROXY" => &["PROXY", "HTTP", "TCP"],
                "HTTPSPROXY" => &["TLS", "PROXY", "HTTP", "TCP"],
                "TCP" => &["TCP"],
                "TLS" => &["TLS", "TCP"],
                "UDP" => &["UDP"],
                _ => {
                    cx.error(
                        "listener-protocol",
                        "spec.protocol",
                        Some(p.span),
                        format!("protocol `{}` is not one of HTTP, HTTPS, HTTPPROXY, HTTPSPROXY, TCP, TLS, UDP", p.value),
                    );
                    return None;
                }
            };
            s.iter().map(|x| x.to_string()).collect()
        }
        (None, None) => {
            cx.error(
                "missing-field",
                "spec.protocol",
                Some(span),
                "one of `spec.protocol` and `spec.protocolStack` is required",
            );
            return None;
        }
    };
    for p in &protocol_stack {
        if !matches!(p.as_str(), "HTTP" | "TLS" | "PROXY" | "TCP" | "UDP") {
            cx.error(
                "listener-protocol",
                "spec.protocolStack",
                None,
                format!("unknown protocol `{p}` in protocolStack"),
            );
            return None;
        }
    }
    match protocol_stack.last().map(String::as_str) {
        Some("TCP") => {}
        Some("UDP") => {
            cx.error(
                "listener-udp",
                "spec.protocolStack",
                None,
                "UDP (HTTP/3) listeners are not supported by this version",
            );
            return None;
        }
        _ => {
            cx.error(
                "listener-protocol",
                "spec.protocolStack",
                None,
                "the last protocol of protocolStack must be TCP or UDP",
            );
            return None;
        }
    }
    let security_model = match f.str(cx, "securityModel") {
        Some(s) => match s.value.as_str() {
            "XFP" => SecurityModel::Xfp,
            "SECURE" => SecurityModel::Secure,
            "INSECURE" => SecurityModel::Insecure,
            other => {
                cx.error(
                    "listener-security-model",
                    "spec.securityModel",
                    Some(s.span),
                    format!("securityModel `{other}` must be XFP, SECURE or INSECURE"),
                );
                return None;
            }
        },
        None => {
            cx.error(
                "missing-field",
                "spec.securityModel",
                Some(span),
                "required field `spec.securityModel` is missing",
            );
            return None;
        }
    };
    let mut namespace = None;
    let mut host_selector = BTreeMap::new();
    match f.object(cx, "hostBinding") {
        Some(mut hb) => {
            let mut any = false;
            if let Some(mut ns) = hb.object(cx, "namespace") {
                any = true;
                match ns.str(cx, "from") {
                    Some(from) => match from.value.to_ascii_lowercase().as_str() {
                        "all" => namespace = None,
                        "self" => namespace = Some(meta.namespace.clone()),
                        _ => {
                            cx.error(
                                "listener-host-binding",
                                "spec.hostBinding.namespace.from",
                                Some(from.span),
                                format!(
                                    "hostBinding.namespace.from `{}` must be ALL or SELF",
                                    from.value
                                ),
                            );
                            return None;
                        }
                    },
                    None => {
                        cx.error(
                            "missing-field",
                            "spec.hostBinding.namespace.from",
                            Some(span),
                            "`spec.hostBinding.namespace.from` is required",
                        );
                        return None;
                    }
                }
                ns.finish(cx, "hostBinding.namespace");
            }
            if let Some(mut sel) = hb.object(cx, "selector") {
                any = true;
                host_selector = read::labels(cx, &mut sel, "matchLabels");
                sel.ignore(&["matchExpressions"]);
                sel.finish(cx, "hostBinding.selector");
            }
            hb.finish(cx, "hostBinding");
            if !any {
                cx.error(
                    "listener-host-binding",
                    "spec.hostBinding",
                    Some(span),
                    "hostBinding needs `namespace` or `selector`",
                );
                return None;
            }
        }
        None => {
            cx.error(
                "missing-field",
                "spec.hostBinding",
                Some(span),
                "required field `spec.hostBinding` is missing",
            );
            return None;
        }
    }
    let l7_depth = f
        .uint(cx, "l7Depth", u32::MAX as u64)
        .map(|s| s.value as u32)
        .unwrap_or(0);
    let stats_prefix = f.str(cx, "statsPrefix").map(|s| s.value);
    let bind_address = f
        .str(cx, "bind_address")
        .map(|s| s.value)
        .unwrap_or_else(|| "0.0.0.0".into());
    f.ignore(&["http2MaxConcurrentStreams"]);
    let port = port?;
    Some(Listener {
        port: port.value as u16,
        port_span: port.span,
        bind_address,
        protocol_stack,
        security_model,
        stats_prefix,
        l7_depth,
        namespace,
        host_selector,
        meta,
    })
}

pub(crate) fn tls_context(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<TlsContext> {
    let hosts = f
        .str_list(cx, "hosts")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let secret = f.str(cx, "secret");
    let secret_namespacing = f.bool(cx, "secret_namespacing");
    let settings = tls_settings(cx, f, false);
    f.ignore(&["v3CRLSecret", "is_fallback"]);
    Some(TlsContext {
        meta,
        hosts,
        secret,
        secret_namespacing,
        settings,
    })
}

/// Known `ambassador` Module fields that this version accepts without translating.
const MODULE_NOT_YET: &[&str] = &[
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

pub(crate) fn tcp_mapping(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<TcpMapping> {
    let span = meta.span;
    let port = f.required_uint(cx, "port", 65535, span);
    let service = f.required_str(cx, "service", span);
    let mut tls = None;
    let mut tls_plain = false;
    if let Some(n) = f.node("tls") {
        match &n.value {
            Value::Bool(b) => tls_plain = *b,
            Value::Str(s) => {
                tls = Some(Spanned {
                    value: s.clone(),
                    span: n.span,
                })
            }
            _ => cx.error(
                "wrong-type",
                "spec.tls",
                Some(n.span),
                format!(
                    "`spec.tls` must be a TLSContext name, found {}",
                    n.type_name()
                ),
            ),
        }
    }
    let m = TcpMapping {
        address: f.str(cx, "address").map(|s| s.value),
        host: f.str(cx, "host").map(|s| s.value),
        tls,
        tls_plain,
        weight: f.uint(cx, "weight", 100).map(|s| s.value),
        idle_timeout_ms: f
            .uint(cx, "idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        enable_ipv4: f.bool(cx, "enable_ipv4"),
        enable_ipv6: f.bool(cx, "enable_ipv6"),
        circuit_breakers: circuit_breakers(cx, f),
        resolver: f.str(cx, "resolver"),
        port: port.as_ref().map(|p| p.value as u16).unwrap_or(0),
        port_span: port.as_ref().map(|p| p.span).unwrap_or(span),
        service: service?,
        meta,
    };
    f.ignore(&["cluster_tag", "stats_name", "v2ExplicitTLS"]);
    port?;
    Some(m)
}

pub(crate) fn secret(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Secret> {
    let ty = f
        .str(cx, "type")
        .map(|s| s.value)
        .unwrap_or_else(|| "Opaque".into());
    f.ignore(&["immutable"]);
    let mut s = Secret {
        meta,
        cert_chain: None,
        private_key: None,
        ca_cert: None,
        crl: None,
    };
    if let Some(mut data) = f.object(cx, "data") {
        for (key, slot) in [
            ("tls.crt", 0),
            ("tls.key", 1),
            ("ca.crt", 2),
            ("user.key", 4),
            ("crl.pem", 3),
        ] {
            let Some(v) = data.str(cx, key) else { continue };
            let decoded = match base64_decode(&v.value) {
                Some(d) => d,
                None => {
                    cx.error(
                        "secret-base64",
                        &format!("data.{key}"),
                        Some(v.span),
                        format!("`data.{key}` is not valid base64"),
                    );
                    continue;
                }
            };
            match slot {
                0 => s.cert_chain = Some(decoded),
                1 => s.private_key = Some(decoded),
                2 => s.ca_cert = Some(decoded),
                3 => s.crl = Some(decoded),
                _ => {}
            }
        }
        data.finish(cx, "Secret data");
    }
    if let Some(mut sd) = f.object(cx, "stringData") {
        if let Some(v) = sd.str(cx, "tls.crt") {
            s.cert_chain = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "tls.key") {
            s.private_key = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "ca.crt") {
            s.ca_cert = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "crl.pem") {
            s.crl = Some(v.value);
        }
        sd.finish(cx, "Secret stringData");
    }
    if ty != "kubernetes.io/tls" && ty != "Opaque" && ty != "istio.io/key-and-cert" {
        return None;
    }
    Some(s)
}

/// Standard base64 (with or without padding, whitespace ignored) to UTF-8 text.
fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine as _;
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(clean.trim_end_matches('=').as_bytes())
        })
        .ok()?;
    String::from_utf8(bytes).ok()
}
