//! Upstream discovery: the resolver kinds (KubernetesServiceResolver,
//! KubernetesEndpointResolver, ConsulResolver), a Mapping's `load_balancer`
//! and `health_checks`, and the core Kubernetes objects that carry endpoints
//! (`v1` Service, `v1` Endpoints, `discovery.k8s.io` EndpointSlice).

use super::Meta;
use super::read::{Cx, Fields};
use crate::diag::Span;
use crate::ir::{HashOn, HealthCheck, HealthCheckTarget, LbPolicy};
use crate::source::{Node, Value};

/// How a resolver finds the endpoints of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResolverKind {
    /// DNS on the Service name (Emissary's default).
    KubernetesService,
    /// EDS, fed from the Endpoints / EndpointSlices of the Service.
    KubernetesEndpoint,
    /// EDS, fed by Consul (service name `consul/<datacenter>/<service>`).
    Consul,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resolver {
    pub meta: Meta,
    pub kind: ResolverKind,
    /// Consul only.
    pub address: Option<String>,
    /// Consul only (required).
    pub datacenter: Option<String>,
}

pub(crate) fn resolver(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Resolver> {
    let kind = match meta.kind {
        "KubernetesServiceResolver" => ResolverKind::KubernetesService,
        "KubernetesEndpointResolver" => ResolverKind::KubernetesEndpoint,
        _ => ResolverKind::Consul,
    };
    let (mut address, mut datacenter) = (None, None);
    if kind == ResolverKind::Consul {
        address = f.str(cx, "address").map(|s| s.value);
        datacenter = f.str(cx, "datacenter").map(|s| s.value);
        if datacenter.as_deref().is_none_or(str::is_empty) {
            cx.error(
                "missing-field",
                &f.path("datacenter"),
                Some(meta.span),
                "a ConsulResolver needs a `datacenter`",
            );
            return None;
        }
    }
    Some(Resolver {
        meta,
        kind,
        address,
        datacenter,
    })
}

/// A Mapping's (or the Module's) `load_balancer`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoadBalancer {
    pub policy: LbPolicy,
    pub hash_on: Option<HashOn>,
    pub span: crate::diag::Span,
}

/// Reads `load_balancer` as Emissary validates it: round_robin and
/// least_request take nothing else; ring_hash and maglev take exactly one of
/// `cookie {name, path, ttl}`, `header`, `source_ip`.
pub(crate) fn load_balancer(cx: &mut Cx<'_>, f: &mut Fields<'_>) -> Option<LoadBalancer> {
    let node = f.node("load_balancer")?;
    let mut lb = f.object(cx, "load_balancer")?;
    let path = lb.path("");
    let path = path.trim_end_matches('.').to_string();
    let policy = lb.str(cx, "policy");
    let cookie = lb.object(cx, "cookie").map(|mut c| {
        let name = c.str(cx, "name").map(|s| s.value);
        let out = (
            name,
            c.str(cx, "path").map(|s| s.value),
            c.str(cx, "ttl").map(|s| s.value),
        );
        c.finish(cx, "load_balancer.cookie");
        out
    });
    let header = lb.str(cx, "header").map(|s| s.value);
    let source_ip = lb.bool(cx, "source_ip");
    lb.finish(cx, "load_balancer");
    let Some(policy) = policy else {
        cx.error(
            "missing-field",
            &format!("{path}.policy"),
            Some(node.span),
            "`load_balancer.policy` is required",
        );
        return None;
    };
    let policy_kind = match policy.value.as_str() {
        "round_robin" => LbPolicy::RoundRobin,
        "least_request" => LbPolicy::LeastRequest,
        "ring_hash" => LbPolicy::RingHash,
        "maglev" => LbPolicy::Maglev,
        other => {
            cx.error(
                "load-balancer-invalid",
                &format!("{path}.policy"),
                Some(policy.span),
                format!(
                    "load_balancer policy `{other}` is not one of round_robin, least_request, ring_hash, maglev"
                ),
            );
            return None;
        }
    };
    let mut hashes = Vec::new();
    if let Some((name, cpath, ttl)) = cookie {
        match name {
            Some(name) => hashes.push(HashOn::Cookie {
                name,
                path: cpath,
                ttl,
            }),
            None => {
                cx.error(
                    "load-balancer-invalid",
                    &format!("{path}.cookie.name"),
                    Some(node.span),
                    "`load_balancer.cookie` needs a `name`",
                );
                return None;
            }
        }
    }
    if let Some(h) = header {
        hashes.push(HashOn::Header(h));
    }
    if source_ip.is_some() {
        // Emissary counts the key, whatever its value.
        hashes.push(HashOn::SourceIp);
    }
    let hashing = matches!(policy_kind, LbPolicy::RingHash | LbPolicy::Maglev);
    if !hashing && !hashes.is_empty() {
        cx.error(
            "load-balancer-invalid",
            &path,
            Some(node.span),
            format!(
                "load_balancer policy `{}` takes no `cookie`, `header` or `source_ip`",
                policy.value
            ),
        );
        return None;
    }
    if hashing && hashes.len() != 1 {
        cx.error(
            "load-balancer-invalid",
            &path,
            Some(node.span),
            format!(
                "load_balancer policy `{}` needs exactly one of `cookie`, `header`, `source_ip`",
                policy.value
            ),
        );
        return None;
    }
    Some(LoadBalancer {
        policy: policy_kind,
        hash_on: hashes.pop(),
        span: node.span,
    })
}

/// Reads `health_checks`. Like Emissary, one bad entry is reported and
/// dropped and the others are kept.
pub(crate) fn health_checks(cx: &mut Cx<'_>, f: &mut Fields<'_>) -> Vec<HealthCheck> {
    let key = if f.has("health_checks") {
        "health_checks"
    } else {
        "v3health_checks"
    };
    let Some(n) = f.node(key) else {
        return Vec::new();
    };
    let base = f.path(key);
    let Some(items) = n.as_seq() else {
        cx.error(
            "wrong-type",
            &base,
            Some(n.span),
            format!("`{base}` must be a list, found {}", n.type_name()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let path = format!("{base}[{i}]");
        if let Some(hc) = health_check(cx, it, &path) {
            if out.is_empty() {
                out.push(hc);
            } else {
                // Envoy (1.40) requires names on several health checks of
                // one cluster, which Emissary's schema cannot give.
                cx.warning(
                    "health-check-extra",
                    &path,
                    Some(it.span),
                    "only the first valid health check of a Mapping is used; Envoy needs names to tell several apart",
                );
            }
        }
    }
    out
}

fn duration(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str, default: &str) -> Option<String> {
    let Some(v) = f.str(cx, key) else {
        return Some(default.to_string());
    };
    if crate::ir::parse_duration_ms(&v.value).is_none() {
        cx.warning(
            "health-check-invalid",
            &f.path(key),
            Some(v.span),
            format!(
                "`{}` is not a duration such as `3s` or `250ms`; this health check is ignored",
                v.value
            ),
        );
        return None;
    }
    Some(v.value)
}

fn health_check(cx: &mut Cx<'_>, node: &Node, path: &str) -> Option<HealthCheck> {
    let mut f = Fields::new(cx, node, path);
    if !matches!(node.value, Value::Map(_)) {
        return None;
    }
    let timeout = duration(cx, &mut f, "timeout", "3s");
    let interval = duration(cx, &mut f, "interval", "5s");
    let healthy_threshold = f
        .uint(cx, "healthy_threshold", u32::MAX as u64)
        .map(|s| s.value)
        .unwrap_or(1);
    let unhealthy_threshold = f
        .uint(cx, "unhealthy_threshold", u32::MAX as u64)
        .map(|s| s.value)
        .unwrap_or(2);
    let target = match f.object(cx, "health_check") {
        Some(mut loc) => {
            let http = loc.object(cx, "http");
            let grpc = loc.object(cx, "grpc");
            let loc_path = loc.path("");
            let loc_path = loc_path.trim_end_matches('.').to_string();
            let target = match (http, grpc) {
                (Some(h), None) => http_check(cx, h, node.span),
                (None, Some(g)) => grpc_check(cx, g, node.span),
                (Some(_), Some(_)) => {
                    cx.warning(
                        "health-check-invalid",
                        &loc_path,
                        Some(node.span),
                        "`health_check` takes one of `http` and `grpc`, not both; this health check is ignored",
                    );
                    None
                }
                (None, None) => {
                    cx.warning(
                        "health-check-invalid",
                        &loc_path,
                        Some(node.span),
                        "`health_check` needs `http` or `grpc`; this health check is ignored",
                    );
                    None
                }
            };
            loc.finish(cx, "health_check");
            target
        }
        None => {
            cx.warning(
                "health-check-invalid",
                &format!("{path}.health_check"),
                Some(node.span),
                "`health_check` with `http` or `grpc` is required; this health check is ignored",
            );
            None
        }
    };
    f.finish(cx, "health_checks");
    Some(HealthCheck {
        timeout: timeout?,
        interval: interval?,
        healthy_threshold,
        unhealthy_threshold,
        target: target?,
    })
}

fn http_check(cx: &mut Cx<'_>, mut h: Fields<'_>, span: Span) -> Option<HealthCheckTarget> {
    let path_key = h.path("path");
    let path = h.str(cx, "path").map(|s| s.value);
    let host = h.str(cx, "hostname").map(|s| s.value);
    let mut add = Vec::new();
    if let Some(entries) = h.entries(cx, "add_request_headers") {
        for (k, v) in entries {
            let name = k.scalar_text();
            match &v.value {
                Value::Map(_) => {
                    let hp = format!("{}.{name}", h.path("add_request_headers"));
                    let mut hf = Fields::new(cx, v, &hp);
                    let value = hf.str(cx, "value").map(|s| s.value).unwrap_or_default();
                    let append = hf.bool(cx, "append").unwrap_or(true);
                    hf.finish(cx, "add_request_headers");
                    add.push((name, value, append));
                }
                Value::Seq(_) | Value::Null => cx.warning(
                    "health-check-invalid",
                    &h.path("add_request_headers"),
                    Some(v.span),
                    format!("header `{name}` must be a string or {{value, append}}; it is ignored"),
                ),
                _ => add.push((name, v.scalar_text(), true)),
            }
        }
    }
    let remove = h
        .str_list(cx, "remove_request_headers")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let mut statuses = Vec::new();
    if let Some(n) = h.node("expected_statuses") {
        let base = h.path("expected_statuses");
        for (i, it) in n.as_seq().unwrap_or_default().iter().enumerate() {
            let p = format!("{base}[{i}]");
            let mut r = Fields::new(cx, it, &p);
            let min = r.uint(cx, "min", 599);
            let max = r.uint(cx, "max", 599);
            r.finish(cx, "expected_statuses");
            match (min, max) {
                (Some(a), Some(b)) if a.value >= 100 && a.value <= b.value => {
                    statuses.push((a.value, b.value))
                }
                _ => cx.warning(
                    "health-check-invalid",
                    &p,
                    Some(it.span),
                    "an expected status range needs `min` and `max` between 100 and 599, with min <= max; it is ignored",
                ),
            }
        }
    }
    h.finish(cx, "health_check.http");
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        cx.warning(
            "health-check-invalid",
            &path_key,
            Some(span),
            "an HTTP health check needs a `path`; this health check is ignored",
        );
        return None;
    };
    Some(HealthCheckTarget::Http {
        path,
        host,
        add_request_headers: add,
        remove_request_headers: remove,
        expected_statuses: statuses,
    })
}

fn grpc_check(cx: &mut Cx<'_>, mut g: Fields<'_>, span: Span) -> Option<HealthCheckTarget> {
    let name_key = g.path("upstream_name");
    let name = g.str(cx, "upstream_name").map(|s| s.value);
    let authority = g.str(cx, "authority").map(|s| s.value);
    g.finish(cx, "health_check.grpc");
    let Some(service_name) = name else {
        cx.warning(
            "health-check-invalid",
            &name_key,
            Some(span),
            "a gRPC health check needs an `upstream_name`; this health check is ignored",
        );
        return None;
    };
    Some(HealthCheckTarget::Grpc {
        service_name,
        authority,
    })
}

/// A port of a Kubernetes Service.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    /// `targetPort`: a number or a port name (absent = `port`).
    pub target_port: Option<String>,
}

/// A `v1` Service: only its ports matter for endpoint routing.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub meta: Meta,
    pub ports: Vec<ServicePort>,
}

/// One address with the ports it serves, from Endpoints or an EndpointSlice.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSet {
    pub addresses: Vec<String>,
    /// (name, port)
    pub ports: Vec<(Option<String>, u16)>,
}

/// The ready endpoints of one Service, from a `v1` Endpoints or a
/// `discovery.k8s.io` EndpointSlice (whose Service is its
/// `kubernetes.io/service-name` label).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    pub meta: Meta,
    pub service: String,
    pub sets: Vec<EndpointSet>,
}

fn port_list(cx: &mut Cx<'_>, n: &Node, base: &str) -> Vec<(Option<String>, u16)> {
    let mut out = Vec::new();
    for (i, p) in n.as_seq().unwrap_or_default().iter().enumerate() {
        let path = format!("{base}[{i}]");
        let mut pf = Fields::new(cx, p, &path);
        let name = pf
            .str(cx, "name")
            .map(|s| s.value)
            .filter(|s| !s.is_empty());
        let port = pf.uint(cx, "port", 65535);
        let proto = pf.str(cx, "protocol").map(|s| s.value);
        pf.ignore(&["appProtocol"]);
        pf.finish(cx, "port");
        if proto.as_deref().is_some_and(|p| p != "TCP") {
            continue;
        }
        if let Some(port) = port {
            out.push((name, port.value as u16));
        }
    }
    out
}

fn str_at(n: &Node, key: &str) -> Option<String> {
    n.get(key).and_then(Node::as_str).map(str::to_string)
}

/// Reads a core `Service`, `Endpoints` or `EndpointSlice`. Fields that play
/// no part in routing are skipped without a word.
pub(crate) fn k8s_object(cx: &mut Cx<'_>, top: &mut Fields<'_>, meta: Meta) -> K8sObject {
    match meta.kind {
        "Service" => {
            let mut ports = Vec::new();
            if let Some(spec) = top.node("spec")
                && let Some(items) = spec.get("ports").and_then(Node::as_seq)
            {
                for p in items {
                    let Some(port) = p.get("port").and_then(|n| match &n.value {
                        Value::Int(i) => u16::try_from(*i).ok(),
                        _ => None,
                    }) else {
                        continue;
                    };
                    if str_at(p, "protocol").is_some_and(|x| x != "TCP") {
                        continue;
                    }
                    ports.push(ServicePort {
                        name: str_at(p, "name").filter(|s| !s.is_empty()),
                        port,
                        target_port: p.get("targetPort").map(Node::scalar_text),
                    });
                }
            }
            top.ignore(&["status"]);
            K8sObject::Service(Service { meta, ports })
        }
        "Endpoints" => {
            let mut sets = Vec::new();
            if let Some(subsets) = top.node("subsets") {
                for (i, s) in subsets.as_seq().unwrap_or_default().iter().enumerate() {
                    let addresses = s
                        .get("addresses")
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|a| str_at(a, "ip"))
                        .collect();
                    let ports = match s.get("ports") {
                        Some(p) => port_list(cx, p, &format!("subsets[{i}].ports")),
                        None => Vec::new(),
                    };
                    sets.push(EndpointSet { addresses, ports });
                }
            }
            let service = meta.name.clone();
            K8sObject::Endpoints(Endpoints {
                meta,
                service,
                sets,
            })
        }
        _ => {
            let address_type = top.node("addressType").and_then(Node::as_str);
            let ports = match top.node("ports") {
                Some(p) => port_list(cx, p, "ports"),
                None => Vec::new(),
            };
            let mut sets = Vec::new();
            if address_type.is_none_or(|t| t == "IPv4" || t == "IPv6") {
                for e in top
                    .node("endpoints")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                {
                    // Only endpoints that are not known to be unready.
                    let ready = e
                        .get("conditions")
                        .and_then(|c| c.get("ready"))
                        .is_none_or(|r| !matches!(r.value, Value::Bool(false)));
                    if !ready {
                        continue;
                    }
                    let addresses = e
                        .get("addresses")
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Node::as_str)
                        .map(str::to_string)
                        .collect();
                    sets.push(EndpointSet {
                        addresses,
                        ports: ports.clone(),
                    });
                }
            }
            let service = meta
                .labels
                .get("kubernetes.io/service-name")
                .cloned()
                .unwrap_or_default();
            if service.is_empty() {
                cx.warning(
                    "endpointslice-no-service",
                    "metadata.labels",
                    Some(meta.span),
                    "this EndpointSlice has no `kubernetes.io/service-name` label, so no Service uses it",
                );
            }
            K8sObject::Endpoints(Endpoints {
                meta,
                service,
                sets,
            })
        }
    }
}

/// What [`k8s_object`] read.
pub(crate) enum K8sObject {
    Service(Service),
    Endpoints(Endpoints),
}
