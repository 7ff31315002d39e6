//! IR listeners → Envoy `Listener`s with HTTP connection managers or tcp_proxy.

use super::route::Routes;
use super::{Mode, any, duration_ms, sds, socket_address, tls_params};
use crate::ir::{self, ChainKind};
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::listener::v3 as ls;
use crate::pb::envoy::extensions::filters::listener::proxy_protocol::v3 as proxy_protocol;
use crate::pb::envoy::extensions::filters::listener::tls_inspector::v3 as tls_inspector;
use crate::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm;
use crate::pb::envoy::extensions::filters::network::tcp_proxy::v3 as tcp;
use crate::pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use std::collections::BTreeMap;

/// Route configurations by name, filled while listeners are built.
pub(crate) type RouteConfigs =
    BTreeMap<String, crate::pb::envoy::config::route::v3::RouteConfiguration>;

pub(crate) fn build(
    l: &ir::Listener,
    ir: &ir::Ir,
    routes: &Routes<'_>,
    configs: &mut RouteConfigs,
    mode: Mode,
) -> ls::Listener {
    let mut listener_filters = Vec::new();
    if l.proxy_protocol {
        listener_filters.push(ls::ListenerFilter {
            name: "envoy.filters.listener.proxy_protocol".into(),
            config_type: Some(ls::listener_filter::ConfigType::TypedConfig(any(
                &proxy_protocol::ProxyProtocol::default(),
            ))),
            ..Default::default()
        });
    }
    if l.tls_inspector {
        listener_filters.push(ls::ListenerFilter {
            name: "envoy.filters.listener.tls_inspector".into(),
            config_type: Some(ls::listener_filter::ConfigType::TypedConfig(any(
                &tls_inspector::TlsInspector::default(),
            ))),
            ..Default::default()
        });
    }
    let filter_chains = l
        .chains
        .iter()
        .map(|c| {
            let filter = match &c.kind {
                ChainKind::Http {
                    route_config,
                    vhosts,
                } => {
                    if !configs.contains_key(route_config) {
                        configs.insert(route_config.clone(), routes.config(route_config, vhosts));
                    }
                    let m = http_connection_manager(l, ir, &configs[route_config], mode);
                    ls::Filter {
                        name: "envoy.filters.network.http_connection_manager".into(),
                        config_type: Some(ls::filter::ConfigType::TypedConfig(any(&m))),
                    }
                }
                ChainKind::Tcp {
                    stat_prefix,
                    targets,
                    idle_timeout_ms,
                } => {
                    let spec = if targets.len() == 1 {
                        tcp::tcp_proxy::ClusterSpecifier::Cluster(targets[0].0.clone())
                    } else {
                        tcp::tcp_proxy::ClusterSpecifier::WeightedClusters(
                            tcp::tcp_proxy::WeightedCluster {
                                clusters: targets
                                    .iter()
                                    .map(|(n, w)| tcp::tcp_proxy::weighted_cluster::ClusterWeight {
                                        name: n.clone(),
                                        weight: *w,
                                        ..Default::default()
                                    })
                                    .collect(),
                            },
                        )
                    };
                    let t = tcp::TcpProxy {
                        stat_prefix: stat_prefix.clone(),
                        cluster_specifier: Some(spec),
                        idle_timeout: idle_timeout_ms.map(duration_ms),
                        ..Default::default()
                    };
                    ls::Filter {
                        name: "envoy.filters.network.tcp_proxy".into(),
                        config_type: Some(ls::filter::ConfigType::TypedConfig(any(&t))),
                    }
                }
            };
            let transport_socket = c.tls.as_ref().map(|t| core::TransportSocket {
                name: "envoy.transport_sockets.tls".into(),
                config_type: Some(core::transport_socket::ConfigType::TypedConfig(any(
                    &downstream_tls(t, mode),
                ))),
            });
            let filter_chain_match =
                (c.tls.is_some() || !c.server_names.is_empty()).then(|| ls::FilterChainMatch {
                    server_names: c.server_names.clone(),
                    transport_protocol: if c.tls.is_some() {
                        "tls".into()
                    } else {
                        String::new()
                    },
                    ..Default::default()
                });
            ls::FilterChain {
                name: c.name.clone(),
                filter_chain_match,
                filters: vec![filter],
                transport_socket,
                ..Default::default()
            }
        })
        .collect();
    ls::Listener {
        name: l.name.clone(),
        address: Some(socket_address(&l.address, l.port)),
        listener_filters,
        filter_chains,
        traffic_direction: if ir.tracing.is_some() {
            core::TrafficDirection::Outbound as i32
        } else {
            0
        },
        per_connection_buffer_limit_bytes: ir.http.buffer_limit_bytes.map(super::u32_value),
        ..Default::default()
    }
}

fn downstream_tls(t: &ir::DownstreamTls, mode: Mode) -> tls::DownstreamTlsContext {
    tls::DownstreamTlsContext {
        common_tls_context: Some(tls::CommonTlsContext {
            tls_params: tls_params(
                &t.min_tls_version,
                &t.max_tls_version,
                &t.cipher_suites,
                &t.ecdh_curves,
            ),
            tls_certificate_sds_secret_configs: vec![sds(&t.secret, mode)],
            alpn_protocols: t.alpn_protocols.clone(),
            validation_context_type: t.ca_secret.as_ref().map(|ca| {
                tls::common_tls_context::ValidationContextType::ValidationContextSdsSecretConfig(
                    sds(ca, mode),
                )
            }),
            ..Default::default()
        }),
        require_client_certificate: t
            .require_client_certificate
            .then_some(pbjson_types::BoolValue { value: true }),
        ..Default::default()
    }
}

/// The HCM of a chain, with its route configuration inline or named for RDS, per `mode`.
fn http_connection_manager(
    l: &ir::Listener,
    ir: &ir::Ir,
    rc: &crate::pb::envoy::config::route::v3::RouteConfiguration,
    mode: Mode,
) -> hcm::HttpConnectionManager {
    let s = &ir.http;
    let route_specifier = match mode {
        Mode::Static => hcm::http_connection_manager::RouteSpecifier::RouteConfig(rc.clone()),
        Mode::Ads => hcm::http_connection_manager::RouteSpecifier::Rds(hcm::Rds {
            config_source: Some(super::ads_source()),
            route_config_name: rc.name.clone(),
        }),
    };
    let access_log = super::observability::access_logs(&ir.access_logs);
    let http_filters = super::filters::http_filters(ir);
    let common =
        (s.idle_timeout_ms.is_some() || s.headers_with_underscores_action.is_some()).then(|| {
            core::HttpProtocolOptions {
                idle_timeout: s.idle_timeout_ms.map(duration_ms),
                headers_with_underscores_action: match s.headers_with_underscores_action.as_deref()
                {
                    Some("REJECT_REQUEST") => {
                        core::http_protocol_options::HeadersWithUnderscoresAction::RejectRequest
                            as i32
                    }
                    Some("DROP_HEADER") => {
                        core::http_protocol_options::HeadersWithUnderscoresAction::DropHeader as i32
                    }
                    _ => 0,
                },
                ..Default::default()
            }
        });
    hcm::HttpConnectionManager {
        stat_prefix: l.stats_prefix.clone(),
        route_specifier: Some(route_specifier),
        http_filters,
        access_log,
        tracing: ir.tracing.as_ref().map(super::observability::tracing),
        generate_request_id: ir
            .tracing
            .is_some()
            .then_some(pbjson_types::BoolValue { value: true }),
        normalize_path: Some(pbjson_types::BoolValue { value: true }),
        use_remote_address: Some(pbjson_types::BoolValue { value: s.use_remote_address }),
        xff_num_trusted_hops: l.xff_num_trusted_hops,
        server_name: s.server_name.clone().unwrap_or_default(),
        merge_slashes: s.merge_slashes,
        strip_matching_host_port: s.strip_matching_host_port,
        path_with_escaped_slashes_action: if s.reject_requests_with_escaped_slashes {
            hcm::http_connection_manager::PathWithEscapedSlashesAction::RejectRequest as i32
        } else {
            0
        },
        preserve_external_request_id: s.preserve_external_request_id,
        http_protocol_options: (s.accept_http_10 || s.proper_case).then(|| core::Http1ProtocolOptions {
            accept_http_10: s.accept_http_10,
            header_key_format: s.proper_case.then(|| core::http1_protocol_options::HeaderKeyFormat {
                header_format: Some(core::http1_protocol_options::header_key_format::HeaderFormat::ProperCaseWords(Default::default())),
            }),
            ..Default::default()
        }),
        common_http_protocol_options: common,
        max_request_headers_kb: s.max_request_headers_kb.map(super::u32_value),
        forward_client_cert_details: s
            .forward_client_cert_details
            .as_deref()
            .and_then(hcm::http_connection_manager::ForwardClientCertDetails::from_str_name)
            .map_or(0, |v| v as i32),
        set_current_client_cert_details: s.set_current_client_cert_details.map(
            |[subject, cert, chain, dns, uri]| {
                hcm::http_connection_manager::SetCurrentClientCertDetails {
                    subject: Some(pbjson_types::BoolValue { value: subject }),
                    cert,
                    chain,
                    dns,
                    uri,
                    ..Default::default()
                }
            },
        ),
        ..Default::default()
    }
}
