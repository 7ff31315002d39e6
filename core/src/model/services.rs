//! The `AuthService` and `RateLimitService` kinds: the external services that
//! become the `ext_authz` and `ratelimit` HTTP filters.

use super::Meta;
use super::mapping::circuit_breakers;
use super::read::{Cx, Fields, Spanned};
use crate::ir::{AuthProto, CircuitBreaker, IncludeBody, LabelAction};
use crate::source::Value;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuthService {
    pub meta: Meta,
    /// The object has errors. Emissary then rejects every request (fail
    /// closed) rather than letting traffic through unauthenticated.
    pub broken: bool,
    pub auth_service: Spanned<String>,
    pub proto: AuthProto,
    pub path_prefix: Option<String>,
    pub timeout_ms: u64,
    pub connect_timeout_ms: Option<u64>,
    pub cluster_idle_timeout_ms: Option<u64>,
    pub cluster_max_connection_lifetime_ms: Option<u64>,
    /// Lower-cased, sorted, deduplicated.
    pub allowed_request_headers: Vec<String>,
    pub allowed_authorization_headers: Vec<String>,
    pub add_auth_headers: Vec<(String, String)>,
    pub include_body: Option<IncludeBody>,
    pub failure_mode_allow: bool,
    pub status_on_error: Option<u32>,
    pub add_linkerd_headers: Option<bool>,
    /// TLSContext name for TLS origination, or `tls: true`.
    pub tls: Option<Spanned<String>>,
    pub tls_plain: bool,
    pub stats_name: Option<String>,
    pub circuit_breakers: Option<Vec<CircuitBreaker>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RateLimitService {
    pub meta: Meta,
    pub service: Spanned<String>,
    /// `None`: the Module's `default_label_domain` (default `ambassador`).
    pub domain: Option<String>,
    pub timeout_ms: u64,
    pub failure_mode_deny: bool,
    pub rate_limited_as_resource_exhausted: bool,
    pub tls: Option<Spanned<String>>,
    pub tls_plain: bool,
    pub stats_name: Option<String>,
}

/// `tls`: a TLSContext name, or a boolean.
fn read_tls(cx: &mut Cx<'_>, f: &mut Fields<'_>) -> (Option<Spanned<String>>, bool) {
    let Some(n) = f.node("tls") else {
        return (None, false);
    };
    match &n.value {
        Value::Bool(b) => (None, *b),
        Value::Str(s) => (
            Some(Spanned {
                value: s.clone(),
                span: n.span,
            }),
            false,
        ),
        _ => {
            cx.error(
                "wrong-type",
                &f.path("tls"),
                Some(n.span),
                format!(
                    "`{}` must be a TLSContext name or a boolean, found {}",
                    f.path("tls"),
                    n.type_name()
                ),
            );
            (None, false)
        }
    }
}

/// Emissary accepts only `v3` for gRPC services; its default is `v2`.
fn protocol_version_v3(cx: &mut Cx<'_>, f: &mut Fields<'_>, what: &str) -> bool {
    let v = f.str(cx, "protocol_version");
    match v {
        Some(v) if v.value == "v3" => true,
        other => {
            let shown = other
                .as_ref()
                .map_or("v2 (the default)", |v| v.value.as_str());
            cx.diags.push(
                crate::diag::Diagnostic::error(
                    "protocol-version",
                    format!("{what} protocol_version {shown} is not supported; it must be \"v3\""),
                )
                .with_object(cx.obj.clone())
                .with_path(f.path("protocol_version"))
                .with_span(other.map(|v| v.span))
                .with_help("set `protocol_version: \"v3\"`"),
            );
            false
        }
    }
}

fn header_list(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Vec<String> {
    let mut v: Vec<String> = f
        .str_list(cx, key)
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value.to_ascii_lowercase())
        .collect();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn auth_service(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<AuthService> {
    let span = meta.span;
    let auth_service = f.required_str(cx, "auth_service", span);
    let proto = match f.str(cx, "proto") {
        None => AuthProto::Http,
        Some(p) => match p.value.as_str() {
            "http" => AuthProto::Http,
            "grpc" => AuthProto::Grpc,
            other => {
                cx.error(
                    "authservice-proto",
                    &f.path("proto"),
                    Some(p.span),
                    format!("proto `{other}` must be `http` or `grpc`"),
                );
                AuthProto::Http
            }
        },
    };
    if proto == AuthProto::Grpc {
        protocol_version_v3(cx, f, "AuthService");
    } else {
        f.ignore(&["protocol_version"]);
    }
    let include_body = f.object(cx, "include_body").map(|mut b| {
        let max = b.required_uint(cx, "max_bytes", u32::MAX as u64, span);
        let partial = b.bool(cx, "allow_partial");
        if partial.is_none() && !b.has("allow_partial") {
            cx.error(
                "missing-field",
                &b.path("allow_partial"),
                Some(span),
                format!("required field `{}` is missing", b.path("allow_partial")),
            );
        }
        b.finish(cx, "include_body");
        IncludeBody {
            max_bytes: max.map(|m| m.value).unwrap_or(0),
            allow_partial: partial.unwrap_or(false),
        }
    });
    let allow_request_body = f.bool(cx, "allow_request_body").unwrap_or(false);
    let include_body = match include_body {
        Some(b) => {
            if allow_request_body {
                cx.warning(
                    "authservice-body-conflict",
                    &f.path("allow_request_body"),
                    None,
                    "`allow_request_body` is ignored because `include_body` is set",
                );
            }
            Some(b)
        }
        // The older spelling: up to 4096 bytes, partial bodies allowed.
        None if allow_request_body => Some(IncludeBody {
            max_bytes: 4096,
            allow_partial: true,
        }),
        None => None,
    };
    let status_on_error = f.object(cx, "status_on_error").and_then(|mut s| {
        let code = s.uint(cx, "code", 599);
        s.finish(cx, "status_on_error");
        let known = |c: u64| {
            i32::try_from(c)
                .ok()
                .and_then(|c| crate::pb::envoy::r#type::v3::StatusCode::try_from(c).ok())
                .is_some()
        };
        match code {
            Some(c) if c.value >= 100 && known(c.value) => Some(c.value as u32),
            Some(c) => {
                cx.error(
                    "value-out-of-range",
                    &f.path("status_on_error.code"),
                    Some(c.span),
                    format!("status_on_error.code {} is not an HTTP status", c.value),
                );
                None
            }
            None => None,
        }
    });
    let add_auth_headers = f
        .str_map(cx, "add_auth_headers")
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect();
    let (tls, tls_plain) = read_tls(cx, f);
    let a = AuthService {
        broken: false,
        proto,
        path_prefix: f.str(cx, "path_prefix").map(|s| s.value),
        timeout_ms: f
            .uint(cx, "timeout_ms", u32::MAX as u64)
            .map_or(5000, |s| s.value),
        connect_timeout_ms: f
            .uint(cx, "connect_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        cluster_idle_timeout_ms: f
            .uint(cx, "cluster_idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        cluster_max_connection_lifetime_ms: f
            .uint(cx, "cluster_max_connection_lifetime_ms", u32::MAX as u64)
            .map(|s| s.value),
        allowed_request_headers: header_list(cx, f, "allowed_request_headers"),
        allowed_authorization_headers: header_list(cx, f, "allowed_authorization_headers"),
        add_auth_headers,
        include_body,
        failure_mode_allow: f.bool(cx, "failure_mode_allow").unwrap_or(false),
        status_on_error,
        add_linkerd_headers: f.bool(cx, "add_linkerd_headers"),
        tls,
        tls_plain,
        stats_name: f.str(cx, "stats_name").map(|s| s.value),
        circuit_breakers: circuit_breakers(cx, f).0,
        auth_service: auth_service?,
        meta,
    };
    if let Some(n) = f.node("allowed_headers") {
        cx.warning(
            "authservice-allowed-headers",
            &f.path("allowed_headers"),
            Some(n.span),
            "`allowed_headers` has no effect with Envoy v3 (as in Emissary); use `allowed_request_headers`",
        );
    }
    f.ignore(&["v3StatsName", "apiVersion", "v2ExplicitTLS"]);
    Some(a)
}

pub(crate) fn rate_limit_service(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    meta: Meta,
) -> Option<RateLimitService> {
    let span = meta.span;
    let service = f.required_str(cx, "service", span);
    let v3 = protocol_version_v3(cx, f, "RateLimitService");
    let mut exhausted = false;
    if let Some(mut g) = f.object(cx, "grpc") {
        exhausted = g
            .bool(cx, "rate_limited_as_resource_exhausted")
            .unwrap_or(false);
        g.finish(cx, "grpc");
    }
    let (tls, tls_plain) = read_tls(cx, f);
    let r = RateLimitService {
        domain: f.str(cx, "domain").map(|s| s.value),
        timeout_ms: f
            .uint(cx, "timeout_ms", u32::MAX as u64)
            .map_or(20, |s| s.value),
        failure_mode_deny: f.bool(cx, "failure_mode_deny").unwrap_or(false),
        rate_limited_as_resource_exhausted: exhausted,
        tls,
        tls_plain,
        stats_name: f.str(cx, "stats_name").map(|s| s.value),
        service: service?,
        meta,
    };
    f.ignore(&["v3StatsName", "v2ExplicitTLS"]);
    v3.then_some(r)
}

/// A Mapping label group: one rate-limit descriptor (a list of entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LabelGroup {
    pub name: String,
    pub actions: Vec<LabelAction>,
}

/// Mapping `labels`: rate-limit descriptor groups per domain, in input order.
pub type Labels = Vec<(String, Vec<LabelGroup>)>;

/// Reads Mapping `labels` (`{domain: [{group: [entry, …]}, …]}`). Entries
/// Emissary cannot translate are dropped with a warning, as Emissary drops
/// them; the Mapping is kept.
pub(crate) fn read_labels(cx: &mut Cx<'_>, f: &mut Fields<'_>) -> Labels {
    let mut out = Vec::new();
    let path = f.path("labels");
    let Some(domains) = f.entries(cx, "labels") else {
        return out;
    };
    for (dk, dv) in domains {
        let domain = dk.scalar_text();
        let dpath = format!("{path}.{domain}");
        let Value::Seq(groups) = &dv.value else {
            if !dv.is_null() {
                cx.error(
                    "wrong-type",
                    &dpath,
                    Some(dv.span),
                    format!("`{dpath}` must be a list of label groups"),
                );
            }
            continue;
        };
        let mut gs = Vec::new();
        for (gi, g) in groups.iter().enumerate() {
            let gpath = format!("{dpath}[{gi}]");
            let Some(entries) = g.as_map().filter(|e| e.len() == 1) else {
                cx.warning(
                    "mapping-label-invalid",
                    &gpath,
                    Some(g.span),
                    "a label group must be a mapping with exactly one key (the group's name); it is ignored",
                );
                continue;
            };
            let (name, specs) = &entries[0];
            let name = name.scalar_text();
            let specs: &[crate::source::Node] = match &specs.value {
                Value::Seq(s) => s,
                _ => {
                    cx.warning(
                        "mapping-label-invalid",
                        &gpath,
                        Some(specs.span),
                        format!("label group `{name}` must be a list of entries; it is ignored"),
                    );
                    continue;
                }
            };
            let mut actions = Vec::new();
            for (si, s) in specs.iter().enumerate() {
                let spath = format!("{gpath}.{name}[{si}]");
                match label_action_of(s) {
                    Ok(a) => actions.push(a),
                    Err(msg) => cx.warning(
                        "mapping-label-invalid",
                        &spath,
                        Some(s.span),
                        format!("{msg}; the entry is ignored"),
                    ),
                }
            }
            gs.push(LabelGroup { name, actions });
        }
        out.push((domain, gs));
    }
    out
}

pub(crate) fn label_action_of(s: &crate::source::Node) -> Result<LabelAction, String> {
    let text = |n: Option<&crate::source::Node>| {
        n.filter(|n| matches!(n.value, Value::Str(_) | Value::Int(_) | Value::Float(_)))
            .map(crate::source::Node::scalar_text)
    };
    match &s.value {
        Value::Str(v) => Ok(match v.as_str() {
            "source_cluster" => LabelAction::SourceCluster,
            "destination_cluster" => LabelAction::DestinationCluster,
            "remote_address" => LabelAction::RemoteAddress,
            _ => LabelAction::GenericKey {
                key: None,
                value: v.clone(),
            },
        }),
        Value::Map(entries) if entries.len() == 1 => {
            let (k, v) = &entries[0];
            match k.scalar_text().as_str() {
                "source_cluster" => Ok(LabelAction::SourceCluster),
                "destination_cluster" => Ok(LabelAction::DestinationCluster),
                "remote_address" => Ok(LabelAction::RemoteAddress),
                "generic_key" => match text(v.get("value")) {
                    Some(value) => Ok(LabelAction::GenericKey {
                        key: text(v.get("key")),
                        value,
                    }),
                    None => Err("`generic_key` needs a `value`".into()),
                },
                "request_headers" => match (text(v.get("key")), text(v.get("header_name"))) {
                    (Some(key), Some(header_name)) => {
                        Ok(LabelAction::RequestHeaders { key, header_name })
                    }
                    _ => Err("`request_headers` needs `key` and `header_name`".into()),
                },
                other => Err(format!(
                    "`{other}` is not a label entry (source_cluster, destination_cluster, remote_address, generic_key, request_headers)"
                )),
            }
        }
        _ => Err("a label entry must be a string or a mapping with exactly one key".into()),
    }
}
