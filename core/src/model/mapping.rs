//! The `Mapping` kind (getambassador.io v3alpha1 and v2).

use super::Meta;
use super::read::{Cx, Fields, Spanned};
use crate::diag::Span;
use crate::ir::{CircuitBreaker, Cors, HeaderAdd, HealthCheck, Keepalive, RetryPolicy};

/// A header or query-parameter match.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMatch {
    pub name: String,
    /// `None` = present match (query parameters only).
    pub value: Option<String>,
    pub regex: bool,
    pub span: Span,
}

/// An HTTP redirect instead of a route.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Redirect {
    pub path_redirect: Option<String>,
    pub prefix_redirect: Option<String>,
    pub regex_redirect: Option<(String, String)>,
    pub response_code: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    pub meta: Meta,
    pub prefix: Spanned<String>,
    pub prefix_regex: bool,
    pub prefix_exact: bool,
    pub service: Spanned<String>,
    /// `None` = default `/`; `Some("")` disables rewriting.
    pub rewrite: Option<String>,
    pub regex_rewrite: Option<(Spanned<String>, String)>,
    /// Hostname glob (`hostname`, or `host` converted from v2); `host_regex` keeps a regex.
    pub hostname: Option<Spanned<String>>,
    pub host_regex: bool,
    pub headers: Vec<KeyMatch>,
    pub query_parameters: Vec<KeyMatch>,
    pub method: Option<String>,
    pub method_regex: bool,
    pub case_sensitive: Option<bool>,
    pub precedence: i64,
    pub weight: Option<Spanned<f64>>,
    pub shadow: bool,
    pub timeout_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub cluster_idle_timeout_ms: Option<u64>,
    pub cluster_max_connection_lifetime_ms: Option<u64>,
    pub retry_policy: Option<RetryPolicy>,
    pub cors: Option<Cors>,
    pub add_request_headers: Vec<HeaderAdd>,
    pub add_response_headers: Vec<HeaderAdd>,
    pub remove_request_headers: Vec<String>,
    pub remove_response_headers: Vec<String>,
    /// Which of `add_request_headers`, `add_response_headers`,
    /// `remove_request_headers`, `remove_response_headers` the Mapping
    /// writes (even empty): the others take the Module's `defaults`.
    pub headers_written: [bool; 4],
    /// `add_linkerd_headers` (`None`: the Module's value).
    pub add_linkerd_headers: Option<bool>,
    pub host_redirect: bool,
    pub redirect: Redirect,
    pub allow_upgrade: Vec<String>,
    pub grpc: bool,
    pub host_rewrite: Option<String>,
    pub auto_host_rewrite: Option<bool>,
    /// `None`: not written, the Module's apply; `Some([])`: none.
    pub circuit_breakers: Option<Vec<CircuitBreaker>>,
    pub keepalive: Option<Keepalive>,
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub dns_type: Option<String>,
    pub respect_dns_ttl: bool,
    pub stats_name: Option<String>,
    pub cluster_tag: Option<String>,
    /// Name of the TLSContext used for TLS origination.
    pub tls: Option<Spanned<String>>,
    /// v2 `tls: true`: originate TLS without a TLSContext.
    pub tls_plain: bool,
    pub bypass_auth: bool,
    /// `auth_context_extensions`, sorted by key.
    pub auth_context_extensions: Vec<(String, String)>,
    /// `labels`: rate-limit descriptors per domain.
    pub labels: super::Labels,
    pub priority: Option<String>,
    pub resolver: Option<Spanned<String>>,
    pub load_balancer: Option<super::LoadBalancer>,
    pub health_checks: Vec<HealthCheck>,
}

impl Mapping {
    /// The upstream part of a TCPMapping, expressed as a Mapping for cluster building.
    pub(crate) fn for_tcp(t: &super::TcpMapping) -> Mapping {
        Mapping {
            meta: t.meta.clone(),
            service: t.service.clone(),
            tls: t.tls.clone(),
            tls_plain: t.tls_plain,
            enable_ipv4: t.enable_ipv4,
            enable_ipv6: t.enable_ipv6,
            circuit_breakers: t.circuit_breakers.clone(),
            resolver: t.resolver.clone(),
            ..Default::default()
        }
    }
}

const IGNORED: &[&str] = &[
    "docs",
    "bypass_error_response_overrides",
    "v3StatsName",
    "use_websocket",
    // Written by Emissary's conversion webhook to remember v2 forms; its
    // translator does not read them either.
    "v2BoolHeaders",
    "v2BoolQueryParameters",
    "v2ExplicitTLS",
];

pub(crate) fn mapping(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Mapping> {
    let span = meta.span;
    let prefix = f.required_str(cx, "prefix", span);
    let service = f.required_str(cx, "service", span);

    let mut headers = key_matches(cx, f, "headers", false, meta.v2);
    headers.extend(key_matches(cx, f, "regex_headers", true, false));
    let mut query_parameters = key_matches(cx, f, "query_parameters", false, meta.v2);
    query_parameters.extend(key_matches(cx, f, "regex_query_parameters", true, false));

    // hostname / host / host_regex, and `:authority` in headers.
    let mut hostname = f.str(cx, "hostname");
    let host = f.str(cx, "host");
    let host_regex_flag = f.bool(cx, "host_regex").unwrap_or(false);
    let mut host_regex = false;
    if let Some(h) = host {
        if hostname.is_some() {
            cx.warning(
                "mapping-host-and-hostname",
                &f.path("host"),
                Some(h.span),
                "both `host` and `hostname` are set; `hostname` is used and `host` is ignored",
            );
        } else if host_regex_flag {
            host_regex = true;
            hostname = Some(h);
        } else if h.contains('*') {
            cx.error(
                "mapping-host-glob",
                &f.path("host"),
                Some(h.span),
                format!("`host` is an exact match and `{}` contains `*`, which can match nothing; use `hostname` for globs", h.value),
            );
            return None;
        } else {
            hostname = Some(h);
        }
    }
    if let Some(pos) = headers
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case(":authority") && !h.regex)
    {
        let h = headers.remove(pos);
        let value = h.value.unwrap_or_default();
        if value.contains('*') {
            cx.error(
                "mapping-host-glob",
                &format!("{}.:authority", f.path("headers")),
                Some(h.span),
                format!("`:authority` exact match `{value}` contains `*`, which can match nothing"),
            );
            return None;
        }
        if hostname.is_none() {
            hostname = Some(Spanned {
                value,
                span: h.span,
            });
        }
    }

    let rewrite = f.str(cx, "rewrite").map(|s| s.value);
    let regex_rewrite = f.object(cx, "regex_rewrite").and_then(|mut rr| {
        let pattern = rr.str(cx, "pattern");
        let substitution = rr
            .str(cx, "substitution")
            .map(|s| s.value)
            .unwrap_or_default();
        rr.finish(cx, "regex_rewrite");
        pattern.map(|p| (p, substitution))
    });
    if regex_rewrite.is_some() && rewrite.as_deref().is_some_and(|r| r != "/") {
        cx.warning(
            "mapping-rewrite-conflict",
            &f.path("rewrite"),
            None,
            "both `rewrite` and `regex_rewrite` are set; `regex_rewrite` is used and `rewrite` is ignored",
        );
    }

    let method = f.str(cx, "method").map(|s| s.value);
    let method_regex = f.bool(cx, "method_regex").unwrap_or(false);

    let retry_policy = f
        .object(cx, "retry_policy")
        .map(|r| read_retry_policy(cx, r));
    let cors = f.object(cx, "cors").map(|c| read_cors(cx, c));

    let headers_written = [
        "add_request_headers",
        "add_response_headers",
        "remove_request_headers",
        "remove_response_headers",
    ]
    .map(|k| f.has(k));
    let add_request_headers = header_adds(cx, f, "add_request_headers");
    let add_response_headers = header_adds(cx, f, "add_response_headers");
    let remove_request_headers = f
        .str_list(cx, "remove_request_headers")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let remove_response_headers = f
        .str_list(cx, "remove_response_headers")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();

    let host_redirect = f.bool(cx, "host_redirect").unwrap_or(false);
    let mut redirect = Redirect {
        path_redirect: f.str(cx, "path_redirect").map(|s| s.value),
        prefix_redirect: f.str(cx, "prefix_redirect").map(|s| s.value),
        regex_redirect: f.object(cx, "regex_redirect").and_then(|mut rr| {
            let p = rr.str(cx, "pattern").map(|s| s.value);
            let s = rr
                .str(cx, "substitution")
                .map(|s| s.value)
                .unwrap_or_default();
            rr.finish(cx, "regex_redirect");
            p.map(|p| (p, s))
        }),
        response_code: None,
    };
    if let Some(code) = f.uint(cx, "redirect_response_code", 999) {
        if matches!(code.value, 301 | 302 | 303 | 307 | 308) {
            redirect.response_code = Some(code.value as u32);
        } else {
            cx.warning(
                "mapping-redirect-code",
                &f.path("redirect_response_code"),
                Some(code.span),
                format!(
                    "redirect_response_code {} is not one of 301, 302, 303, 307, 308; 301 is used",
                    code.value
                ),
            );
        }
    }
    // Emissary keeps one of path_redirect > prefix_redirect > regex_redirect.
    let exclusive = [
        ("path_redirect", redirect.path_redirect.is_some()),
        ("prefix_redirect", redirect.prefix_redirect.is_some()),
        ("regex_redirect", redirect.regex_redirect.is_some()),
    ];
    let set: Vec<&str> = exclusive.iter().filter(|x| x.1).map(|x| x.0).collect();
    if set.len() > 1 {
        cx.warning(
            "mapping-redirect-conflict",
            &f.path(set[1]),
            None,
            format!(
                "`{}` and `{}` cannot both be set; `{}` is used",
                set[0], set[1], set[0]
            ),
        );
        if redirect.path_redirect.is_some() {
            redirect.prefix_redirect = None;
            redirect.regex_redirect = None;
        } else {
            redirect.regex_redirect = None;
        }
    }

    let mut allow_upgrade: Vec<String> = f
        .str_list(cx, "allow_upgrade")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    if f.node("use_websocket")
        .is_some_and(|n| matches!(n.value, crate::source::Value::Bool(true)))
        && !allow_upgrade.iter().any(|u| u == "websocket")
    {
        allow_upgrade.push("websocket".into());
    }

    let circuit_breakers = circuit_breakers(cx, f).0;
    let keepalive = keepalive(cx, f);

    let dns_type = f.str(cx, "dns_type").and_then(|d| {
        let v = d.value.to_ascii_lowercase();
        if v == "strict_dns" || v == "logical_dns" {
            Some(v)
        } else {
            cx.warning(
                "mapping-dns-type",
                &f.path("dns_type"),
                Some(d.span),
                format!(
                    "dns_type `{}` is not `strict_dns` or `logical_dns`; `strict_dns` is used",
                    d.value
                ),
            );
            None
        }
    });

    // tls: a TLSContext name (v3) or, in v2, `true`.
    let mut tls = None;
    let mut tls_plain = false;
    if let Some(n) = f.node("tls") {
        match &n.value {
            crate::source::Value::Bool(b) => tls_plain = *b,
            crate::source::Value::Str(s) => {
                tls = Some(Spanned {
                    value: s.clone(),
                    span: n.span,
                })
            }
            _ => cx.error(
                "wrong-type",
                &f.path("tls"),
                Some(n.span),
                format!(
                    "`spec.tls` must be a TLSContext name, found {}",
                    n.type_name()
                ),
            ),
        }
    }

    for (key, msg) in [
        (
            "outlier_detection",
            "outlier_detection is not supported by Emissary; the Mapping is ignored",
        ),
        (
            "error_response_overrides",
            "error_response_overrides is not supported by Emissary 4; the Mapping is ignored",
        ),
    ] {
        if let Some(n) = f.node(key) {
            cx.error("mapping-field-unsupported", &f.path(key), Some(n.span), msg);
            return None;
        }
    }
    for key in ["envoy_override", "modules", "rate_limits"] {
        if let Some(n) = f.node(key) {
            cx.info(
                "field-inert",
                &f.path(key),
                Some(n.span),
                format!("`{key}` has no effect: Emissary 4 does not use it either"),
            );
        }
    }
    f.ignore(IGNORED);

    let m = Mapping {
        prefix_regex: f.bool(cx, "prefix_regex").unwrap_or(false),
        prefix_exact: f.bool(cx, "prefix_exact").unwrap_or(false),
        rewrite,
        regex_rewrite,
        hostname,
        host_regex,
        headers,
        query_parameters,
        method,
        method_regex,
        case_sensitive: f.bool(cx, "case_sensitive"),
        precedence: f.int(cx, "precedence").unwrap_or(0),
        weight: f.number(cx, "weight"),
        shadow: f.bool(cx, "shadow").unwrap_or(false),
        timeout_ms: f.uint(cx, "timeout_ms", u32::MAX as u64).map(|s| s.value),
        connect_timeout_ms: f
            .uint(cx, "connect_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        idle_timeout_ms: f
            .uint(cx, "idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        cluster_idle_timeout_ms: f
            .uint(cx, "cluster_idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        cluster_max_connection_lifetime_ms: f
            .uint(cx, "cluster_max_connection_lifetime_ms", u32::MAX as u64)
            .map(|s| s.value),
        retry_policy,
        cors,
        add_request_headers,
        add_response_headers,
        remove_request_headers,
        remove_response_headers,
        headers_written,
        add_linkerd_headers: f.bool(cx, "add_linkerd_headers"),
        host_redirect,
        redirect,
        allow_upgrade,
        grpc: f.bool(cx, "grpc").unwrap_or(false),
        host_rewrite: f.str(cx, "host_rewrite").map(|s| s.value),
        auto_host_rewrite: f.bool(cx, "auto_host_rewrite"),
        circuit_breakers,
        keepalive,
        enable_ipv4: f.bool(cx, "enable_ipv4"),
        enable_ipv6: f.bool(cx, "enable_ipv6"),
        dns_type,
        respect_dns_ttl: f.bool(cx, "respect_dns_ttl").unwrap_or(false),
        stats_name: f.str(cx, "stats_name").map(|s| s.value),
        cluster_tag: f.str(cx, "cluster_tag").map(|s| s.value),
        tls,
        tls_plain,
        bypass_auth: f.bool(cx, "bypass_auth").unwrap_or(false),
        auth_context_extensions: {
            let mut v: Vec<(String, String)> = f
                .str_map(cx, "auth_context_extensions")
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.value, v.value))
                .collect();
            v.sort();
            v
        },
        labels: super::services::read_labels(cx, f),
        priority: f.str(cx, "priority").map(|s| s.value),
        resolver: f.str(cx, "resolver"),
        load_balancer: super::resolvers::load_balancer(cx, f),
        health_checks: super::resolvers::health_checks(cx, f),
        prefix: prefix?,
        service: service?,
        meta,
    };
    Some(m)
}

fn key_matches(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    key: &str,
    regex: bool,
    v2: bool,
) -> Vec<KeyMatch> {
    let Some(entries) = f.entries(cx, key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let name = k.scalar_text();
        match &v.value {
            crate::source::Value::Bool(true) => {
                // v2 `x-foo: true` means "present": Emissary converts it to regex `.*`.
                if !v2 {
                    cx.warning(
                        "mapping-header-bool",
                        &format!("{}.{name}", f.path(key)),
                        Some(v.span),
                        format!("`{name}: true` is the getambassador.io/v2 spelling of a presence match; read as regex `.*`"),
                    );
                }
                out.push(KeyMatch {
                    name,
                    value: Some(".*".into()),
                    regex: true,
                    span: k.span,
                });
            }
            crate::source::Value::Str(_)
            | crate::source::Value::Int(_)
            | crate::source::Value::Float(_)
            | crate::source::Value::Bool(false) => out.push(KeyMatch {
                name,
                value: Some(v.scalar_text()),
                regex,
                span: k.span,
            }),
            _ => cx.error(
                "wrong-type",
                &format!("{}.{name}", f.path(key)),
                Some(v.span),
                format!(
                    "`{}.{name}` must be a string, found {}",
                    f.path(key),
                    v.type_name()
                ),
            ),
        }
    }
    out
}

pub(crate) fn header_adds(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Vec<HeaderAdd> {
    let Some(entries) = f.entries(cx, key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let name = k.scalar_text();
        let path = format!("{}.{name}", f.path(key));
        match &v.value {
            crate::source::Value::Map(_) => {
                let mut hf = Fields::new(cx, v, &path);
                let value = hf.str(cx, "value").map(|s| s.value);
                let append = hf.bool(cx, "append").unwrap_or(true);
                hf.finish(cx, key);
                match value {
                    Some(value) => out.push(HeaderAdd {
                        name,
                        value,
                        append,
                    }),
                    None => cx.error(
                        "missing-field",
                        &format!("{path}.value"),
                        Some(v.span),
                        format!("`{path}.value` is required"),
                    ),
                }
            }
            crate::source::Value::Seq(_) | crate::source::Value::Null => cx.error(
                "wrong-type",
                &path,
                Some(v.span),
                format!(
                    "`{path}` must be a string or {{value, append}}, found {}",
                    v.type_name()
                ),
            ),
            _ => out.push(HeaderAdd {
                name,
                value: v.scalar_text(),
                append: true,
            }),
        }
    }
    out
}

pub(crate) fn read_retry_policy(cx: &mut Cx<'_>, mut r: Fields<'_>) -> RetryPolicy {
    let rp = RetryPolicy {
        retry_on: r.str(cx, "retry_on").map(|s| s.value),
        num_retries: r.uint(cx, "num_retries", u32::MAX as u64).map(|s| s.value),
        per_try_timeout: r.str(cx, "per_try_timeout").map(|s| s.value),
    };
    r.finish(cx, "retry_policy");
    rp
}

pub(crate) fn read_cors(cx: &mut Cx<'_>, mut c: Fields<'_>) -> Cors {
    let list = |cx: &mut Cx<'_>, c: &mut Fields<'_>, k: &str| -> Vec<String> {
        // v2 allowed comma-separated strings; split them.
        c.str_list(cx, k)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|s| {
                s.value
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let cors = Cors {
        origins: list(cx, &mut c, "origins"),
        methods: list(cx, &mut c, "methods"),
        headers: list(cx, &mut c, "headers"),
        exposed_headers: list(cx, &mut c, "exposed_headers"),
        credentials: c.bool(cx, "credentials"),
        max_age: c.str(cx, "max_age").map(|s| s.value),
    };
    c.finish(cx, "cors");
    cors
}

/// `keepalive: {time, interval, probes}` (Mapping and Module).
pub(crate) fn keepalive(cx: &mut Cx<'_>, f: &mut Fields<'_>) -> Option<Keepalive> {
    f.object(cx, "keepalive").map(|mut k| {
        let ka = Keepalive {
            time: k.uint(cx, "time", u32::MAX as u64).map(|s| s.value),
            interval: k.uint(cx, "interval", u32::MAX as u64).map(|s| s.value),
            probes: k.uint(cx, "probes", u32::MAX as u64).map(|s| s.value),
        };
        k.finish(cx, "keepalive");
        ka
    })
}

/// `circuit_breakers`: `None` when not written; `Some([])` when written
/// empty (no breakers, as in Emissary). The flag is false when the value
/// has errors (Emissary rejects such breakers).
pub(crate) fn circuit_breakers(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
) -> (Option<Vec<CircuitBreaker>>, bool) {
    let Some(n) = f.node("circuit_breakers") else {
        return (None, true);
    };
    let errors_before = cx.diags.len();
    let Some(items) = n.as_seq() else {
        cx.error(
            "wrong-type",
            &f.path("circuit_breakers"),
            Some(n.span),
            format!(
                "`{}` must be a list, found {}",
                f.path("circuit_breakers"),
                n.type_name()
            ),
        );
        return (None, false);
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("{}[{i}]", f.path("circuit_breakers"));
        let mut b = Fields::new(cx, it, &path);
        let priority = b.str(cx, "priority");
        let priority_high = match priority.as_ref().map(|p| p.value.to_ascii_lowercase()) {
            None => false,
            Some(p) if p == "default" => false,
            Some(p) if p == "high" => true,
            Some(p) => {
                cx.error(
                    "wrong-value",
                    &format!("{path}.priority"),
                    priority.map(|p| p.span),
                    format!("priority `{p}` must be `default` or `high`"),
                );
                false
            }
        };
        let cb = CircuitBreaker {
            priority_high,
            max_connections: b
                .uint(cx, "max_connections", u32::MAX as u64)
                .map(|s| s.value),
            max_pending_requests: b
                .uint(cx, "max_pending_requests", u32::MAX as u64)
                .map(|s| s.value),
            max_requests: b.uint(cx, "max_requests", u32::MAX as u64).map(|s| s.value),
            max_retries: b.uint(cx, "max_retries", u32::MAX as u64).map(|s| s.value),
        };
        b.finish(cx, "circuit_breakers");
        out.push(cb);
    }
    let valid = !cx.diags[errors_before..]
        .iter()
        .any(|d| d.severity == crate::diag::Severity::Error);
    (Some(out), valid)
}
