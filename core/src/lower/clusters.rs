//! Clusters: a Mapping's `service` (scheme, `host[:port]`, namespace
//! qualification), resolver and TLS origination become one IR cluster, named
//! from its content and shared by every route that uses it.

use super::Lower;
use super::memo::{self, Effect};
use crate::diag::Diagnostic;
use crate::ir::{Cluster, DnsFamily, DnsType};
use crate::model::Mapping;
use std::sync::Arc;

impl Lower<'_> {
    /// The cluster of a Mapping's service, created on first use.
    pub(crate) fn cluster_for(&mut self, m: &Mapping) -> Option<String> {
        let obj = m.meta.obj_ref();
        let mut service = m.service.value.trim().to_string();
        let resolution = self.resolver_for(m)?;
        if let Some(lb) = &m.load_balancer
            && resolution.kind == crate::model::ResolverKind::KubernetesService
        {
            self.diags.push(
                Diagnostic::error(
                    "load-balancer-needs-endpoints",
                    "`load_balancer` needs an endpoint or Consul resolver (the Kubernetes Service resolver leaves balancing to the Service); the Mapping is ignored",
                )
                .with_object(obj)
                .with_path("spec.load_balancer")
                .with_span(Some(lb.span))
                .with_help("add `resolver: endpoint`, or remove `load_balancer`"),
            );
            return None;
        }
        let ctx = match &m.tls {
            Some(name) => match self.tls_context(&name.value) {
                Some(c) => Some(c),
                None => {
                    self.diags.push(
                        Diagnostic::error("tls-context-not-found", format!("TLSContext `{}` for TLS origination does not exist; the Mapping is ignored", name.value))
                            .with_object(obj)
                            .with_path("spec.tls")
                            .with_span(Some(name.span)),
                    );
                    return None;
                }
            },
            None => None,
        };
        if let Some(c) = ctx.filter(|c| c.secret.is_none()) {
            self.diags.push(
                Diagnostic::warning(
                    "tls-context-no-certificate",
                    format!(
                        "TLSContext `{}` has no secret; Emissary would ignore it and send cleartext, TLS is originated without a client certificate instead",
                        c.meta.name
                    ),
                )
                .with_object(obj.clone())
                .with_path("spec.tls")
                .with_span(m.tls.as_ref().map(|t| t.span)),
            );
        }
        let mut tls = ctx.is_some() || m.tls_plain;
        let lower = service.to_ascii_lowercase();
        if lower.starts_with("https://") {
            service = service[8..].to_string();
            tls = true;
        } else if lower.starts_with("http://") {
            service = service[7..].to_string();
            if ctx.is_some() {
                self.diags.push(
                    Diagnostic::warning(
                        "service-scheme-tls",
                        "service says http:// but a TLSContext is set; TLS is originated",
                    )
                    .with_object(obj.clone())
                    .with_path("spec.service")
                    .with_span(Some(m.service.span)),
                );
            }
        } else if let Some(i) = service.find("://") {
            self.diags.push(
                Diagnostic::warning(
                    "service-scheme",
                    format!(
                        "service scheme `{}` is not http or https; it is ignored",
                        &service[..i]
                    ),
                )
                .with_object(obj.clone())
                .with_path("spec.service")
                .with_span(Some(m.service.span)),
            );
            service = service[i + 3..].to_string();
        }
        let (host, port) = match parse_host_port(&service) {
            Ok(hp) => hp,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "service-invalid",
                        format!("service `{}`: {e}; the Mapping is ignored", m.service.value),
                    )
                    .with_object(obj)
                    .with_path("spec.service")
                    .with_span(Some(m.service.span)),
                );
                return None;
            }
        };
        let qualified = host.contains('.') || host.contains(':') || host == "localhost";
        // As Emissary: only the Kubernetes resolvers qualify a bare name
        // with the Mapping's namespace; a Consul service name is global.
        let kubernetes = matches!(
            resolution.kind,
            crate::model::ResolverKind::KubernetesService
                | crate::model::ResolverKind::KubernetesEndpoint
        );
        let host = if kubernetes
            && m.meta.namespace != self.opts.ambassador_namespace
            && !qualified
            && !self.module.use_ambassador_namespace_for_service_resolution
        {
            format!("{host}.{}", m.meta.namespace)
        } else {
            host
        };
        let explicit_port = port.is_some();
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let eds = match self.discovery(m, &resolution, &host, port, explicit_port)? {
            super::endpoints::Discovery::Dns => None,
            super::endpoints::Discovery::Eds(name) => Some(name),
        };
        let health_checks = if eds.is_some() {
            m.health_checks.clone()
        } else {
            if !m.health_checks.is_empty() {
                self.diags.push(
                    Diagnostic::warning(
                        "health-checks-need-endpoints",
                        "`health_checks` work only with an endpoint or Consul resolver; they are ignored",
                    )
                    .with_object(obj.clone())
                    .with_path("spec.health_checks"),
                );
            }
            Vec::new()
        };
        let lb_policy = m
            .load_balancer
            .as_ref()
            .or(self.module.load_balancer.as_ref())
            .map(|lb| lb.policy)
            .unwrap_or_default();
        let ipv4 = m.enable_ipv4.or(self.module.enable_ipv4).unwrap_or(true);
        let ipv6 = m.enable_ipv6.or(self.module.enable_ipv6).unwrap_or(false);
        let dns_family = match (ipv4, ipv6) {
            (true, true) => DnsFamily::All,
            (false, true) => DnsFamily::V6Only,
            _ => DnsFamily::V4Only,
        };
        let upstream_tls = if tls {
            Some(self.upstream_tls(ctx, &obj)?)
        } else {
            None
        };
        // The Module's `defaults` apply to HTTP Mappings only.
        let default_stats_name = (m.meta.kind == "Mapping")
            .then(|| self.module.defaults.stats_name.clone())
            .flatten();
        let stats_name = m
            .stats_name
            .clone()
            .or(default_stats_name)
            .unwrap_or_else(|| sanitize(&m.service.value));
        let mut c = Cluster {
            name: String::new(),
            sources: Default::default(),
            dns_type: if m.dns_type.as_deref() == Some("logical_dns") {
                DnsType::LogicalDns
            } else {
                DnsType::StrictDns
            },
            host: host.clone(),
            port,
            tls: upstream_tls,
            connect_timeout_ms: m.connect_timeout_ms.unwrap_or(3000),
            dns_family,
            http2: m.grpc,
            // Written (even empty) wins; otherwise the Module's. Clusters
            // that never take the Module's (rate limit, collectors) say `Some([])`.
            circuit_breakers: m
                .circuit_breakers
                .as_ref()
                .or(self.module.circuit_breakers.as_ref())
                .cloned()
                .unwrap_or_default(),
            // Every cluster takes the Module's keepalive and connection
            // timeouts unless it has its own (0 counts as not set, as in Emissary).
            keepalive: m.keepalive.clone().or(self.module.keepalive.clone()),
            idle_timeout_ms: m
                .cluster_idle_timeout_ms
                .filter(|v| *v != 0)
                .or(self.module.cluster_idle_timeout_ms),
            max_connection_lifetime_ms: m
                .cluster_max_connection_lifetime_ms
                .filter(|v| *v != 0)
                .or(self.module.cluster_max_connection_lifetime_ms),
            respect_dns_ttl: m.respect_dns_ttl,
            stats_name,
            eds,
            lb_policy,
            health_checks,
            buffer_limit_bytes: super::or_edge(
                self.module.limits.cluster_buffer_limit_bytes,
                crate::ir::edge::BUFFER_LIMIT_BYTES,
            ),
        };
        let digest = {
            use std::hash::{Hash, Hasher};
            let mut h = super::Fnv(0xcbf2_9ce4_8422_2325);
            c.hash(&mut h);
            m.cluster_tag.hash(&mut h);
            h.finish()
        };
        let name = format!(
            "cluster_{}_{}{}_{:08x}",
            sanitize(&host),
            port,
            if c.tls.is_some() { "_otls" } else { "" },
            digest as u32
        );
        c.name = name.clone();
        c.sources.insert(obj);
        let c = Arc::new(c);
        if let Some(j) = &mut self.journal {
            j.effects.push(Effect::Cluster(c.clone()));
        }
        memo::add_cluster(&mut self.ir.clusters, c);
        Some(name)
    }
}

/// Splits `host[:port]` (IPv6 in brackets); rejects paths and bad ports.
/// As Emissary (which parses the service as a URL): the host is lower-cased
/// (DNS names are case-insensitive, Kubernetes names are lower case) and
/// port 0 means no port. A named or out-of-range port is rejected, where
/// Emissary reports it and sends the traffic to port 80 (443 with TLS),
/// which is never what a named port means: the message says so.
pub(crate) fn parse_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let s = s.split(['/', '?', '#']).next().unwrap_or("");
    if s.is_empty() {
        return Err("no hostname".into());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or("unbalanced `[` in IPv6 address")?;
        match after.strip_prefix(':') {
            Some(p) => (h.to_string(), Some(p)),
            None if after.is_empty() => (h.to_string(), None),
            None => return Err("unexpected text after IPv6 address".into()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("no hostname".into());
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c == '@' || c == '%')
    {
        return Err(format!("`{host}` is not a valid hostname"));
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().map_err(|_| {
            format!(
                "port `{p}` is not a number between 0 and 65535 (Emissary 4 would send this traffic to port 80, or 443 with TLS)"
            )
        })?),
        None => None,
    };
    Ok((host.to_ascii_lowercase(), port.filter(|p| *p != 0)))
}

pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
