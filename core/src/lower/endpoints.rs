//! Resolvers: which discovery a Mapping's cluster uses (DNS on the Service
//! name, or EDS fed from the input's Endpoints/EndpointSlices or by Consul),
//! and the endpoints of every EDS service name.
//!
//! Lowering only names the EDS service names it uses ([`EdsName`], in the
//! order it first asks for each); [`resolve`] fills in their endpoints
//! afterwards, in one step over the Endpoints and EndpointSlices. So no
//! Mapping group's lowering depends on them, and a translation whose only
//! change is to Endpoints or EndpointSlices can keep the lowering before and
//! resolve the endpoints again.
//!
//! Emissary always has five resolvers: `kubernetes-service` (the default),
//! `kubernetes-endpoint` and its alias `endpoint`, `consul` and its alias
//! `consul-endpoint` (datacenter `dc1`). A resolver object of the same name
//! replaces the built-in one; defining one name of an alias pair defines both.

use super::Lower;
use super::memo::Effect;
use crate::diag::{Diagnostic, ObjectRef, Span};
use crate::hash::FixedHashMap;
use crate::model::{Endpoints, Mapping, Objects, ResolverKind, Service};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a cluster finds its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolution {
    pub(crate) kind: ResolverKind,
    /// Consul's datacenter.
    pub(crate) datacenter: String,
}

/// An EDS service name that lowering uses.
#[derive(Debug, Clone)]
pub(crate) struct EdsName {
    pub(crate) name: String,
    /// Where a `k8s/` name's endpoints come from; `None` for Consul's.
    pub(crate) k8s: Option<K8sService>,
}

/// A Service port whose endpoints are read from the input, and the Mapping
/// that asked for it first (which a missing-endpoints warning names).
#[derive(Debug, Clone)]
pub(crate) struct K8sService {
    pub(crate) namespace: String,
    pub(crate) service: String,
    pub(crate) port: u16,
    pub(crate) object: ObjectRef,
    pub(crate) span: Span,
}

/// The EDS side of a cluster.
pub(crate) enum Discovery {
    /// DNS on the host (the Kubernetes Service resolver, or an IP address).
    Dns,
    /// EDS under this service name.
    Eds(String),
}

impl Lower<'_> {
    /// The resolver a Mapping names (or the Module's default); `None` when the
    /// name is unknown (reported: Emissary drops such a Mapping too).
    pub(crate) fn resolver_for(&mut self, m: &Mapping) -> Option<Resolution> {
        let (name, span, path) = match (&m.resolver, &self.module.resolver) {
            (Some(r), _) => (r.value.clone(), Some(r.span), "spec.resolver"),
            (None, Some(r)) => (r.value.clone(), None, "spec"),
            (None, None) => ("kubernetes-service".to_string(), None, "spec"),
        };
        let objs = self.objs;
        // By name, in any namespace: the first in Emissary's load order.
        let user = |n: &str| {
            objs.resolvers
                .iter()
                .filter(|r| r.meta.name == n)
                .min_by(|a, b| a.meta.load_cmp(&b.meta))
        };
        let partner = match name.as_str() {
            "endpoint" => Some("kubernetes-endpoint"),
            "kubernetes-endpoint" => Some("endpoint"),
            "consul" => Some("consul-endpoint"),
            "consul-endpoint" => Some("consul"),
            _ => None,
        };
        if let Some(r) = user(&name).or_else(|| partner.and_then(user)) {
            return Some(Resolution {
                kind: r.kind,
                datacenter: r.datacenter.clone().unwrap_or_default(),
            });
        }
        let kind = match name.as_str() {
            "kubernetes-service" => ResolverKind::KubernetesService,
            "endpoint" | "kubernetes-endpoint" => ResolverKind::KubernetesEndpoint,
            "consul" | "consul-endpoint" => ResolverKind::Consul,
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "resolver-not-found",
                        format!("resolver `{name}` does not exist; the Mapping is ignored"),
                    )
                    .with_object(m.meta.obj_ref())
                    .with_path(path)
                    .with_span(span)
                    .with_help("use kubernetes-service, kubernetes-endpoint (endpoint), consul, or the name of a resolver object"),
                );
                return None;
            }
        };
        Some(Resolution {
            kind,
            datacenter: "dc1".into(),
        })
    }

    /// The discovery of a cluster for `host:port` under a resolver; records
    /// the endpoints of a new EDS service name in the IR. `None` when the
    /// Mapping cannot be used with that resolver (reported).
    pub(crate) fn discovery(
        &mut self,
        m: &Mapping,
        res: &Resolution,
        host: &str,
        port: u16,
        explicit_port: bool,
    ) -> Option<Discovery> {
        if res.kind == ResolverKind::KubernetesService {
            return Some(Discovery::Dns);
        }
        // An address is routed to as it is, except under Consul, which (as
        // in Emissary) refuses any name with a dot: an IPv4 address is no
        // Consul service.
        if res.kind != ResolverKind::Consul && host.parse::<std::net::IpAddr>().is_ok() {
            return Some(Discovery::Dns);
        }
        if res.kind == ResolverKind::Consul {
            if host.contains('.') {
                self.diags.push(
                    Diagnostic::error(
                        "consul-service-invalid",
                        format!("the Consul resolver takes a plain service name, not `{host}`; the Mapping is ignored"),
                    )
                    .with_object(m.meta.obj_ref())
                    .with_path("spec.service")
                    .with_span(Some(m.service.span)),
                );
                return None;
            }
            if explicit_port {
                self.diags.push(
                    Diagnostic::warning(
                        "consul-service-port",
                        "the Consul resolver takes the port from Consul; the port in `service` is ignored",
                    )
                    .with_object(m.meta.obj_ref())
                    .with_path("spec.service")
                    .with_span(Some(m.service.span)),
                );
            }
            let name = format!("consul/{}/{host}", res.datacenter);
            self.use_eds(name.clone(), || None);
            return Some(Discovery::Eds(name));
        }
        // `svc` or `svc.ns[.anything]`.
        let (svc, ns) = match host.split_once('.') {
            Some((svc, rest)) => (
                svc.to_string(),
                rest.split('.').next().unwrap_or_default().to_string(),
            ),
            None if self.module.use_ambassador_namespace_for_service_resolution => {
                (host.to_string(), self.opts.ambassador_namespace.clone())
            }
            None => (host.to_string(), m.meta.namespace.clone()),
        };
        let name = format!("k8s/{ns}/{svc}/{port}");
        self.use_eds(name.clone(), || {
            Some(K8sService {
                namespace: ns,
                service: svc,
                port,
                object: m.meta.obj_ref(),
                span: m.service.span,
            })
        });
        Some(Discovery::Eds(name))
    }

    /// Names the EDS service name `name` in the IR, with `k8s` telling
    /// where its endpoints come from if it is new (recorded when a group's
    /// lowering is).
    fn use_eds(&mut self, name: String, k8s: impl FnOnce() -> Option<K8sService>) {
        if self.ir.endpoints.contains_key(&name) && self.journal.is_none() {
            return;
        }
        let e = Arc::new(EdsName { name, k8s: k8s() });
        if let Some(j) = &mut self.journal {
            j.effects.push(Effect::Eds(e.clone()));
        }
        add_eds(&mut self.ir.endpoints, &mut self.eds, e);
    }
}

/// Adds an EDS service name to the IR's (with no endpoints yet) and to the
/// names to resolve, unless it is there.
pub(crate) fn add_eds(
    endpoints: &mut BTreeMap<String, Vec<(String, u16)>>,
    eds: &mut Vec<Arc<EdsName>>,
    e: Arc<EdsName>,
) {
    if !endpoints.contains_key(&e.name) {
        endpoints.insert(e.name.clone(), Vec::new());
        eds.push(e);
    }
}

/// Sets the endpoints of every `k8s/` name in `eds` (in the order lowering
/// first used them) from the input's Endpoints and EndpointSlices, and
/// warns, on the Mapping that asked first, about each Service the input has
/// none for.
pub(crate) fn resolve(
    objs: &Objects,
    eds: &[Arc<EdsName>],
    endpoints: &mut BTreeMap<String, Vec<(String, u16)>>,
    diags: &mut Vec<Diagnostic>,
) {
    // Lookups only, never iterated.
    let mut by_service: FixedHashMap<(&str, &str), Vec<&Endpoints>> = FixedHashMap::default();
    for e in &objs.endpoints {
        by_service
            .entry((e.meta.namespace.as_str(), e.service.as_str()))
            .or_default()
            .push(e);
    }
    let mut services: FixedHashMap<(&str, &str), &Service> = FixedHashMap::default();
    for s in &objs.services {
        services
            .entry((s.meta.namespace.as_str(), s.meta.name.as_str()))
            .or_insert(s);
    }
    for e in eds {
        let Some(k) = &e.k8s else { continue };
        let key = (k.namespace.as_str(), k.service.as_str());
        let found = k8s_endpoints(
            by_service.get(&key).map(Vec::as_slice).unwrap_or_default(),
            services.get(&key).copied(),
            k.port,
        );
        if found.is_none() {
            diags.push(
                Diagnostic::warning(
                    "endpoints-not-found",
                    format!("no Endpoints or EndpointSlice for Service `{}/{}` in the input; the cluster has no endpoints until they appear", k.namespace, k.service),
                )
                .with_object(k.object.clone())
                .with_path("spec.service")
                .with_span(Some(k.span)),
            );
        }
        let found = found.unwrap_or_default();
        match endpoints.get_mut(&e.name) {
            Some(v) => *v = found,
            None => {
                endpoints.insert(e.name.clone(), found);
            }
        }
    }
}

/// Addresses and target ports serving port `port` of Service `ns/svc`;
/// `None` when the input has no endpoints for the Service at all.
///
/// The Service's port maps to the endpoints' port by `targetPort` (a
/// number or a name) or by the port's name; without the Service, the
/// endpoints' port number must equal `port`.
fn k8s_endpoints(
    objects: &[&Endpoints],
    service: Option<&Service>,
    port: u16,
) -> Option<Vec<(String, u16)>> {
    let sets: Vec<_> = objects.iter().flat_map(|e| &e.sets).collect();
    if sets.is_empty() {
        return None;
    }
    let sp = service.and_then(|s| s.ports.iter().find(|p| p.port == port));
    let matches = |name: &Option<String>, number: u16| match sp {
        Some(sp) => {
            let by_target = match &sp.target_port {
                Some(t) => match t.parse::<u16>() {
                    Ok(n) => n == number,
                    Err(_) => name.as_deref() == Some(t.as_str()),
                },
                None => number == sp.port,
            };
            by_target || (sp.name.is_some() && *name == sp.name)
        }
        None => number == port,
    };
    let mut out: Vec<(String, u16)> = Vec::new();
    for set in sets {
        for (name, number) in &set.ports {
            if matches(name, *number) {
                out.extend(set.addresses.iter().map(|a| (a.clone(), *number)));
            }
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}
