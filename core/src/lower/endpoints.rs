//! Resolvers: which discovery a Mapping's cluster uses (DNS on the Service
//! name, or EDS fed from the input's Endpoints/EndpointSlices or by Consul),
//! and the endpoints of every EDS service name.
//!
//! Emissary always has five resolvers: `kubernetes-service` (the default),
//! `kubernetes-endpoint` and its alias `endpoint`, `consul` and its alias
//! `consul-endpoint` (datacenter `dc1`). A resolver object of the same name
//! replaces the built-in one; defining one name of an alias pair defines both.

use super::Lower;
use crate::diag::Diagnostic;
use crate::model::{Mapping, ResolverKind};

/// How a cluster finds its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolution {
    pub(crate) kind: ResolverKind,
    /// Consul's datacenter.
    pub(crate) datacenter: String,
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
        let user = |n: &str| objs.resolvers.iter().find(|r| r.meta.name == n);
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
        if res.kind == ResolverKind::KubernetesService || host.parse::<std::net::IpAddr>().is_ok() {
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
            self.not_replayable();
            self.ir.endpoints.entry(name.clone()).or_default();
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
        // Whether it warns depends on the groups lowered before.
        self.not_replayable();
        if !self.ir.endpoints.contains_key(&name) {
            let found = self.k8s_endpoints(&ns, &svc, port);
            if found.is_none() {
                self.diags.push(
                    Diagnostic::warning(
                        "endpoints-not-found",
                        format!("no Endpoints or EndpointSlice for Service `{ns}/{svc}` in the input; the cluster has no endpoints until they appear"),
                    )
                    .with_object(m.meta.obj_ref())
                    .with_path("spec.service")
                    .with_span(Some(m.service.span)),
                );
            }
            self.ir
                .endpoints
                .insert(name.clone(), found.unwrap_or_default());
        }
        Some(Discovery::Eds(name))
    }

    /// Marks the lowering being recorded as one that cannot be applied again.
    fn not_replayable(&mut self) {
        if let Some(j) = &mut self.journal {
            j.replayable = false;
        }
    }

    /// Addresses and target ports serving port `port` of Service `ns/svc`;
    /// `None` when the input has no endpoints for the Service at all.
    ///
    /// The Service's port maps to the endpoints' port by `targetPort` (a
    /// number or a name) or by the port's name; without the Service, the
    /// endpoints' port number must equal `port`.
    fn k8s_endpoints(&self, ns: &str, svc: &str, port: u16) -> Option<Vec<(String, u16)>> {
        let objs = self.objs;
        let sets: Vec<_> = objs
            .endpoints
            .iter()
            .filter(|e| e.meta.namespace == ns && e.service == svc)
            .flat_map(|e| &e.sets)
            .collect();
        if sets.is_empty() {
            return None;
        }
        let sp = objs
            .services
            .iter()
            .find(|s| s.meta.namespace == ns && s.meta.name == svc)
            .and_then(|s| s.ports.iter().find(|p| p.port == port));
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
}
