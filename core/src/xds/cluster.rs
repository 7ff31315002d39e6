//! IR clusters → Envoy `Cluster`s (DNS discovery, endpoints inline) and secrets.

use super::pb::envoy::config::cluster::v3 as cl;
use super::pb::envoy::config::core::v3 as core;
use super::pb::envoy::config::endpoint::v3 as ep;
use super::pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use super::pb::envoy::extensions::upstreams::http::v3 as uhttp;
use super::{Mode, any, duration_ms, sds, socket_address, tls_params};
use crate::ir::{self, DnsFamily, DnsType};

// `respect_dns_ttl` is deprecated in Envoy's API but still honoured; Emissary sets it.
#[allow(deprecated)]
pub(crate) fn build(c: &ir::Cluster, mode: Mode) -> cl::Cluster {
    let dns_lookup_family = match c.dns_family {
        DnsFamily::V4Only => cl::cluster::DnsLookupFamily::V4Only,
        DnsFamily::V6Only => cl::cluster::DnsLookupFamily::V6Only,
        DnsFamily::All => cl::cluster::DnsLookupFamily::All,
    } as i32;
    let ty = match c.dns_type {
        DnsType::StrictDns => cl::cluster::DiscoveryType::StrictDns,
        DnsType::LogicalDns => cl::cluster::DiscoveryType::LogicalDns,
    } as i32;
    let mut out = cl::Cluster {
        name: c.name.clone(),
        alt_stat_name: c.stats_name.clone(),
        cluster_discovery_type: Some(cl::cluster::ClusterDiscoveryType::Type(ty)),
        connect_timeout: Some(duration_ms(c.connect_timeout_ms)),
        dns_lookup_family,
        respect_dns_ttl: c.respect_dns_ttl,
        load_assignment: Some(ep::ClusterLoadAssignment {
            cluster_name: c.name.clone(),
            endpoints: vec![ep::LocalityLbEndpoints {
                lb_endpoints: vec![ep::LbEndpoint {
                    host_identifier: Some(ep::lb_endpoint::HostIdentifier::Endpoint(
                        ep::Endpoint {
                            address: Some(socket_address(&c.host, c.port)),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Some(t) = &c.tls {
        let ctx = tls::UpstreamTlsContext {
            sni: t.sni.clone().unwrap_or_default(),
            common_tls_context: Some(tls::CommonTlsContext {
                tls_params: tls_params(&t.min_tls_version, &t.max_tls_version, &[], &[]),
                alpn_protocols: t.alpn_protocols.clone(),
                tls_certificate_sds_secret_configs: t
                    .client_secret
                    .iter()
                    .map(|s| sds(s, mode))
                    .collect(),
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
