//! IR clusters → Envoy `Cluster`s (DNS discovery with the endpoint inline, or
//! EDS: by ADS, or `STATIC` with the input's endpoints in the static
//! Bootstrap), load-balancing policy, health checks, TLS origination; and secrets.

use super::{Mode, any, duration_ms, sds, tls_params};
use crate::ir::{self, DnsFamily, DnsType};
use crate::ir::{HealthCheck, HealthCheckTarget, LbPolicy};
use crate::pb::envoy::config::cluster::v3 as cl;
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use crate::pb::envoy::extensions::upstreams::http::v3 as uhttp;
use std::collections::BTreeMap;

// `respect_dns_ttl` is deprecated in Envoy's API but still honoured; Emissary sets it.
#[allow(deprecated)]
pub(crate) fn build(
    c: &ir::Cluster,
    endpoints: &BTreeMap<String, Vec<(String, u16)>>,
    mode: Mode,
) -> cl::Cluster {
    let dns_lookup_family = match c.dns_family {
        DnsFamily::V4Only => cl::cluster::DnsLookupFamily::V4Only,
        DnsFamily::V6Only => cl::cluster::DnsLookupFamily::V6Only,
        DnsFamily::All => cl::cluster::DnsLookupFamily::All,
    } as i32;
    let ty = match (&c.eds, mode, c.dns_type) {
        (Some(_), Mode::Ads, _) => cl::cluster::DiscoveryType::Eds,
        (Some(_), Mode::Static, _) => cl::cluster::DiscoveryType::Static,
        (None, _, DnsType::StrictDns) => cl::cluster::DiscoveryType::StrictDns,
        (None, _, DnsType::LogicalDns) => cl::cluster::DiscoveryType::LogicalDns,
    } as i32;
    let lb_policy = match c.lb_policy {
        LbPolicy::RoundRobin => cl::cluster::LbPolicy::RoundRobin,
        LbPolicy::LeastRequest => cl::cluster::LbPolicy::LeastRequest,
        LbPolicy::RingHash => cl::cluster::LbPolicy::RingHash,
        LbPolicy::Maglev => cl::cluster::LbPolicy::Maglev,
    } as i32;
    let load_assignment = match (&c.eds, mode) {
        (Some(_), Mode::Ads) => None,
        (Some(name), Mode::Static) => Some(super::endpoint::load_assignment(
            &c.name,
            endpoints.get(name).map(Vec::as_slice).unwrap_or_default(),
        )),
        (None, _) => Some(super::endpoint::load_assignment(
            &c.name,
            &[(c.host.clone(), c.port)],
        )),
    };
    let mut out = cl::Cluster {
        name: c.name.clone(),
        alt_stat_name: c.stats_name.clone(),
        cluster_discovery_type: Some(cl::cluster::ClusterDiscoveryType::Type(ty)),
        connect_timeout: Some(duration_ms(c.connect_timeout_ms)),
        lb_policy,
        dns_lookup_family: if c.eds.is_some() {
            0
        } else {
            dns_lookup_family
        },
        respect_dns_ttl: c.respect_dns_ttl && c.eds.is_none(),
        per_connection_buffer_limit_bytes: c.buffer_limit_bytes.map(super::u32_value),
        load_assignment,
        eds_cluster_config: match (&c.eds, mode) {
            (Some(name), Mode::Ads) => Some(cl::cluster::EdsClusterConfig {
                eds_config: Some(super::ads_source()),
                service_name: name.clone(),
            }),
            _ => None,
        },
        health_checks: c.health_checks.iter().map(health_check).collect(),
        ..Default::default()
    };
    if let Some(t) = &c.tls {
        let ctx = tls::UpstreamTlsContext {
            sni: t.sni.clone().unwrap_or_default(),
            common_tls_context: Some(tls::CommonTlsContext {
                tls_params: tls_params(
                    &t.min_tls_version,
                    &t.max_tls_version,
                    &t.cipher_suites,
                    &t.ecdh_curves,
                ),
                alpn_protocols: t.alpn_protocols.clone(),
                tls_certificate_sds_secret_configs: t
                    .client_secret
                    .iter()
                    .map(|s| sds(s, mode))
                    .collect(),
                validation_context_type: t.ca_secret.as_ref().map(|ca| {
                    tls::common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                        sds(ca, mode),
                    )
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        out.transport_socket = Some(core::TransportSocket {
            name: "envoy.transport_sockets.tls".into(),
            config_type: Some(core::transport_socket::ConfigType::TypedConfig(any(&ctx))),
        });
    }
    if c.http2 || c.idle_timeout_ms.is_some() || c.max_connection_lifetime_ms.is_some() {
        let protocol_config = if c.http2 {
            uhttp::http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                Default::default(),
            )
        } else {
            uhttp::http_protocol_options::explicit_http_config::ProtocolConfig::HttpProtocolOptions(
                Default::default(),
            )
        };
        let opts = uhttp::HttpProtocolOptions {
            common_http_protocol_options: (c.idle_timeout_ms.is_some()
                || c.max_connection_lifetime_ms.is_some())
            .then(|| core::HttpProtocolOptions {
                idle_timeout: c.idle_timeout_ms.map(duration_ms),
                max_connection_duration: c.max_connection_lifetime_ms.map(duration_ms),
                ..Default::default()
            }),
            upstream_protocol_options: Some(
                uhttp::http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                    uhttp::http_protocol_options::ExplicitHttpConfig {
                        protocol_config: Some(protocol_config),
                    },
                ),
            ),
            ..Default::default()
        };
        out.typed_extension_protocol_options.insert(
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions".into(),
            any(&opts),
        );
    }
    if !c.circuit_breakers.is_empty() {
        out.circuit_breakers = Some(cl::CircuitBreakers {
            thresholds: c
                .circuit_breakers
                .iter()
                .map(|b| cl::circuit_breakers::Thresholds {
                    priority: if b.priority_high {
                        core::RoutingPriority::High as i32
                    } else {
                        0
                    },
                    max_connections: b.max_connections.map(super::u32_value),
                    max_pending_requests: b.max_pending_requests.map(super::u32_value),
                    max_requests: b.max_requests.map(super::u32_value),
                    max_retries: b.max_retries.map(super::u32_value),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        });
    }
    if let Some(k) = &c.keepalive {
        out.upstream_connection_options = Some(cl::UpstreamConnectionOptions {
            tcp_keepalive: Some(core::TcpKeepalive {
                keepalive_probes: k.probes.map(super::u32_value),
                keepalive_time: k.time.map(super::u32_value),
                keepalive_interval: k.interval.map(super::u32_value),
            }),
            ..Default::default()
        });
    }
    out
}

pub(crate) fn secret(s: &ir::TlsSecret) -> tls::Secret {
    let ds = |text: &str| core::DataSource {
        specifier: Some(core::data_source::Specifier::InlineString(text.to_string())),
        ..Default::default()
    };
    let ty = if s.ca_only {
        tls::secret::Type::ValidationContext(tls::CertificateValidationContext {
            trusted_ca: Some(ds(&s.cert_chain)),
            crl: s.crl.as_deref().map(ds),
            ..Default::default()
        })
    } else {
        tls::secret::Type::TlsCertificate(tls::TlsCertificate {
            certificate_chain: Some(ds(&s.cert_chain)),
            private_key: Some(ds(&s.private_key)),
            ..Default::default()
        })
    };
    tls::Secret {
        name: s.name.clone(),
        r#type: Some(ty),
    }
}

/// One active health check, with Emissary's defaults already applied.
fn health_check(h: &HealthCheck) -> core::HealthCheck {
    let checker = match &h.target {
        HealthCheckTarget::Http {
            path,
            host,
            add_request_headers,
            remove_request_headers,
            expected_statuses,
        } => core::health_check::HealthChecker::HttpHealthCheck(
            core::health_check::HttpHealthCheck {
                host: host.clone().unwrap_or_default(),
                path: path.clone(),
                request_headers_to_add: add_request_headers
                    .iter()
                    .map(|(k, v, append)| core::HeaderValueOption {
                        header: Some(core::HeaderValue {
                            key: k.clone(),
                            value: v.clone(),
                            ..Default::default()
                        }),
                        append_action: if *append {
                            core::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd
                        } else {
                            core::header_value_option::HeaderAppendAction::OverwriteIfExistsOrAdd
                        } as i32,
                        ..Default::default()
                    })
                    .collect(),
                request_headers_to_remove: remove_request_headers.clone(),
                // Envoy's ranges end exclusive; Emissary's are inclusive.
                expected_statuses: expected_statuses
                    .iter()
                    .map(|(a, b)| crate::pb::envoy::r#type::v3::Int64Range {
                        start: *a as i64,
                        end: *b as i64 + 1,
                    })
                    .collect(),
                ..Default::default()
            },
        ),
        HealthCheckTarget::Grpc {
            service_name,
            authority,
        } => core::health_check::HealthChecker::GrpcHealthCheck(
            core::health_check::GrpcHealthCheck {
                service_name: service_name.clone(),
                authority: authority.clone().unwrap_or_default(),
                ..Default::default()
            },
        ),
    };
    core::HealthCheck {
        timeout: super::parse_duration(&h.timeout),
        interval: super::parse_duration(&h.interval),
        healthy_threshold: Some(super::u32_value(h.healthy_threshold)),
        unhealthy_threshold: Some(super::u32_value(h.unhealthy_threshold)),
        health_checker: Some(checker),
        ..Default::default()
    }
}
