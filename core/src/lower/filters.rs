//! The HTTP filters of the connection managers: the `ambassador` Module's
//! filters, AuthService (ext_authz) and RateLimitService (ratelimit), in
//! Emissary's order; and the per-route rate-limit descriptors.
//!
//! A broken AuthService (one with errors, or whose upstream cannot be built)
//! fails closed: every request but the readiness/liveness probes gets a 500,
//! as in Emissary, rather than passing unauthenticated.

use super::Lower;
use crate::diag::Diagnostic;
use crate::ir::{AuthProto, LabelAction};
use crate::ir::{ExtAuthz, HttpFilter, Ir, RateLimit};
use crate::model::{AuthService, Mapping, RateLimitService};

/// The header `add_linkerd_headers` adds: the upstream's `host:port`.
pub(crate) const LINKERD_HEADER: &str = "l5d-dst-override";

/// Request headers Emissary always sends to an HTTP auth service.
const AUTH_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "from",
    "proxy-authorization",
    "user-agent",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// Response headers of an HTTP auth service Emissary always copies.
const AUTH_RESPONSE_HEADERS: &[&str] = &[
    "authorization",
    "location",
    "proxy-authenticate",
    "set-cookie",
    "www-authenticate",
];

/// Builds `lw.ir.filters` (and the clusters of the external services).
pub(crate) fn filters(lw: &mut Lower<'_>) {
    let mut out = Vec::new();
    let mf = lw.module.filters.clone();
    if mf.grpc_http1_bridge {
        out.push(HttpFilter::GrpcHttp1Bridge);
    }
    if mf.grpc_web {
        out.push(HttpFilter::GrpcWeb);
    }
    if let Some(g) = mf.grpc_stats {
        out.push(HttpFilter::GrpcStats(g));
    }
    if let Some(code) = mf.lua_scripts {
        out.push(HttpFilter::Lua(code));
    }
    if let Some(g) = mf.gzip {
        out.push(HttpFilter::Gzip(g));
    }
    if let Some(max_request_bytes) = mf.buffer_max_request_bytes {
        out.push(HttpFilter::Buffer { max_request_bytes });
    }
    if let Some((allow, principals)) = mf.ip_rules {
        // An allow list without principals would deny everything; Emissary
        // then installs nothing, and so do we (the Module reader reported why).
        if !principals.is_empty() {
            out.push(HttpFilter::Rbac { allow, principals });
        }
    }
    // CORS first among the rest, so that preflights pass every later filter.
    out.push(HttpFilter::Cors);
    if let Some(f) = auth(lw) {
        out.push(f);
    }
    if let Some(f) = rate_limit(lw) {
        out.push(HttpFilter::RateLimit(f));
    }
    out.push(HttpFilter::Router {
        suppress_envoy_headers: lw.module.suppress_envoy_headers,
        start_child_span: false,
    });
    lw.ir.filters = out;
}

fn duplicates(
    lw: &mut Lower<'_>,
    metas: Vec<crate::diag::ObjectRef>,
    kind: &str,
    code: &'static str,
    note: &str,
) {
    let mut it = metas.into_iter();
    let Some(first) = it.next() else { return };
    for other in it {
        lw.diags.push(
            Diagnostic::error(
                code,
                format!(
                    "only one {kind} is supported; {first} is used and this one is ignored{note}"
                ),
            )
            .with_object(other),
        );
    }
}

fn auth(lw: &mut Lower<'_>) -> Option<HttpFilter> {
    let objs = lw.objs;
    duplicates(
        lw,
        objs.auth_services
            .iter()
            .map(|a| a.meta.obj_ref())
            .collect(),
        "AuthService",
        "authservice-duplicate",
        "",
    );
    let a: &AuthService = objs.auth_services.first()?;
    let source = a.meta.obj_ref();
    let fail_closed = |lw: &mut Lower<'_>, why: &str| {
        lw.diags.push(
            Diagnostic::error(
                "authservice-fail-closed",
                format!("{why}, so every request except the readiness and liveness probes is answered with 500 (as Emissary does) until it is fixed"),
            )
            .with_object(source.clone())
            .with_span(Some(crate::diag::Span {
                end: a.meta.span.start,
                ..a.meta.span
            })),
        );
        Some(HttpFilter::AuthFailClosed {
            source: source.clone(),
        })
    };
    if a.broken {
        return fail_closed(lw, "this AuthService has errors");
    }
    let upstream = Mapping {
        meta: a.meta.clone(),
        service: a.auth_service.clone(),
        tls: a.tls.clone(),
        tls_plain: a.tls_plain,
        grpc: a.proto == AuthProto::Grpc,
        connect_timeout_ms: a.connect_timeout_ms,
        cluster_idle_timeout_ms: a.cluster_idle_timeout_ms,
        cluster_max_connection_lifetime_ms: a.cluster_max_connection_lifetime_ms,
        stats_name: a.stats_name.clone(),
        circuit_breakers: a.circuit_breakers.clone(),
        ..Mapping::default()
    };
    let Some(cluster) = upstream_cluster(lw, &upstream, "spec.auth_service") else {
        return fail_closed(lw, "the AuthService's upstream cannot be used");
    };
    let c = &lw.ir.clusters[&cluster];
    let uri = format!(
        "{}://{}:{}",
        if c.tls.is_some() { "https" } else { "http" },
        c.host,
        c.port
    );
    let mut add_auth_headers = a.add_auth_headers.clone();
    if a.add_linkerd_headers
        .unwrap_or(lw.module.add_linkerd_headers)
    {
        // As Emissary: the AuthService's own service, host:port.
        add_auth_headers.retain(|(k, _)| !k.eq_ignore_ascii_case(LINKERD_HEADER));
        add_auth_headers.push((LINKERD_HEADER.into(), format!("{}:{}", c.host, c.port)));
    }
    let merged = |extra: &[String], defaults: &[&str]| {
        let mut v: Vec<String> = defaults
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    Some(HttpFilter::ExtAuthz(Box::new(ExtAuthz {
        source,
        proto: a.proto,
        cluster,
        uri,
        path_prefix: a.path_prefix.clone().unwrap_or_default(),
        timeout_ms: a.timeout_ms,
        allowed_request_headers: merged(&a.allowed_request_headers, AUTH_REQUEST_HEADERS),
        allowed_authorization_headers: merged(
            &a.allowed_authorization_headers,
            AUTH_RESPONSE_HEADERS,
        ),
        add_auth_headers,
        include_body: a.include_body.clone(),
        failure_mode_allow: a.failure_mode_allow,
        status_on_error: a.status_on_error,
    })))
}

/// The cluster of an external service, through the Mappings' cluster
/// machinery. Unlike a Mapping's, an AuthService's or RateLimitService's
/// short service name is not qualified with its namespace (Emissary's rule:
/// it resolves in Emissary's own namespace). Diagnostics about
/// `spec.service` are re-pointed at `field`.
fn upstream_cluster(lw: &mut Lower<'_>, m: &Mapping, field: &str) -> Option<String> {
    let before = lw.diags.len();
    let obj = m.meta.obj_ref();
    let mut unqualified = m.clone();
    unqualified.meta.namespace = lw.opts.ambassador_namespace.clone();
    let stand_in = unqualified.meta.obj_ref();
    let cluster = lw.cluster_for(&unqualified);
    for d in &mut lw.diags[before..] {
        if d.object.as_ref() == Some(&stand_in) {
            d.object = Some(obj.clone());
        }
        if d.path == "spec.service" {
            d.path = field.to_string();
        }
        d.message = d
            .message
            .replace("the Mapping is ignored", "the service is not used");
    }
    if let Some(c) = cluster.as_ref().and_then(|c| lw.ir.clusters.get_mut(c))
        && stand_in != obj
        && c.sources.contains(&stand_in)
    {
        let c = std::sync::Arc::make_mut(c);
        c.sources.remove(&stand_in);
        c.sources.insert(obj);
    }
    cluster
}

fn rate_limit(lw: &mut Lower<'_>) -> Option<RateLimit> {
    let objs = lw.objs;
    duplicates(
        lw,
        objs.rate_limit_services
            .iter()
            .map(|r| r.meta.obj_ref())
            .collect(),
        "RateLimitService",
        "ratelimitservice-duplicate",
        " (Emissary 4 uses none of them: no rate limiting at all)",
    );
    let r: &RateLimitService = objs.rate_limit_services.first()?;
    let upstream = Mapping {
        meta: r.meta.clone(),
        service: r.service.clone(),
        tls: r.tls.clone(),
        tls_plain: r.tls_plain,
        grpc: true,
        stats_name: r.stats_name.clone(),
        // Emissary gives the Module's breakers to Mappings and the AuthService only.
        circuit_breakers: Some(Vec::new()),
        ..Mapping::default()
    };
    let cluster = upstream_cluster(lw, &upstream, "spec.service")?;
    Some(RateLimit {
        source: r.meta.obj_ref(),
        cluster,
        domain: r
            .domain
            .clone()
            .or_else(|| lw.module.default_label_domain.clone())
            .unwrap_or_else(|| "ambassador".into()),
        timeout_ms: r.timeout_ms,
        failure_mode_deny: r.failure_mode_deny,
        rate_limited_as_resource_exhausted: r.rate_limited_as_resource_exhausted,
    })
}

/// The rate-limit domain when a RateLimitService is active.
pub(crate) fn rate_limit_domain(ir: &Ir) -> Option<&str> {
    ir.filters.iter().find_map(|f| match f {
        HttpFilter::RateLimit(r) => Some(r.domain.as_str()),
        _ => None,
    })
}

/// A Mapping's rate-limit descriptors for `domain`, with the Module's
/// `default_labels` prepended to each group (Emissary's rules).
pub(crate) fn route_rate_limits(
    lw: &Lower<'_>,
    m: &Mapping,
    domain: &str,
) -> Vec<Vec<LabelAction>> {
    let defaults_for = |d: &str| {
        lw.module
            .default_labels
            .iter()
            .find(|(k, _)| k == d)
            .map(|(_, v)| v.as_slice())
    };
    if m.labels.is_empty() {
        let default_domain = lw
            .module
            .default_label_domain
            .as_deref()
            .unwrap_or("ambassador");
        return match defaults_for(default_domain) {
            Some(d) if default_domain == domain && !d.is_empty() => vec![d.to_vec()],
            _ => Vec::new(),
        };
    }
    let Some((_, groups)) = m.labels.iter().find(|(d, _)| d == domain) else {
        return Vec::new();
    };
    let defaults = defaults_for(domain).unwrap_or_default();
    groups
        .iter()
        .map(|g| {
            if g.name.starts_with("v0_ratelimit_") {
                g.actions.clone()
            } else {
                defaults.iter().chain(&g.actions).cloned().collect()
            }
        })
        .filter(|a: &Vec<LabelAction>| !a.is_empty())
        .collect()
}
