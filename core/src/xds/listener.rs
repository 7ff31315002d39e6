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
use crate::pb::envoy::extensions::transport_sockets::quic::v3 as quic;
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
            let transport_socket = c.tls.as_ref().map(|t| {
                let context = downstream_tls(t, mode);
                // QUIC wraps the same TLS context.
                let (name, config) = if l.udp {
                    (
                        "envoy.transport_sockets.quic",
                        any(&quic::QuicDownstreamTransport {
                            downstream_tls_context: Some(context),
                            ..Default::default()
                        }),
                    )
                } else {
                    ("envoy.transport_sockets.tls", any(&context))
                };
                core::TransportSocket {
                    name: name.into(),
                    config_type: Some(core::transport_socket::ConfigType::TypedConfig(config)),
                }
            });
            let filter_chain_match =
                (c.tls.is_some() || !c.server_names.is_empty()).then(|| ls::FilterChainMatch {
                    server_names: c.server_names.clone(),
                    transport_protocol: if c.tls.is_some() {
                        if l.udp { "quic" } else { "tls" }.into()
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
    let mut address = socket_address(&l.address, l.port);
    if l.udp
        && let Some(core::address::Address::SocketAddress(sa)) = &mut address.address
    {
        sa.protocol = core::socket_address::Protocol::Udp as i32;
    }
    ls::Listener {
        name: l.name.clone(),
        address: Some(address),
        // Emissary's QUIC listener settings.
        udp_listener_config: l.udp.then(|| ls::UdpListenerConfig {
            quic_options: Some(Default::default()),
            downstream_socket_config: Some(core::UdpSocketConfig {
                prefer_gro: Some(pbjson_types::BoolValue { value: true }),
                ..Default::default()
            }),
            ..Default::default()
        }),
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
    let http2 = ir::Http2Limits {
        max_concurrent_streams: l
            .http2_max_concurrent_streams
            .or(s.http2.max_concurrent_streams),
        ..s.http2
    };
    let http2_protocol_options = (http2 != ir::Http2Limits::default()).then(|| {
        let u = |v: Option<u32>| v.map(|value| pbjson_types::UInt32Value { value });
        core::Http2ProtocolOptions {
            max_concurrent_streams: u(http2.max_concurrent_streams),
            initial_stream_window_size: u(http2.initial_stream_window_size),
            initial_connection_window_size: u(http2.initial_connection_window_size),
            ..Default::default()
        }
    });
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
        http_protocol_options: (s.accept_http_10 || s.proper_case || s.allow_chunked_length.is_some()).then(|| core::Http1ProtocolOptions {
            accept_http_10: s.accept_http_10,
            allow_chunked_length: s.allow_chunked_length.unwrap_or(false),
            header_key_format: s.proper_case.then(|| core::http1_protocol_options::HeaderKeyFormat {
                header_format: Some(core::http1_protocol_options::header_key_format::HeaderFormat::ProperCaseWords(Default::default())),
            }),
            ..Default::default()
        }),
        common_http_protocol_options: common,
        http2_protocol_options,
        // Emissary writes HTTP/3 options on the UDP listener and on its TCP
        // companion (where, with the automatic codec, they change nothing).
        http3_protocol_options: (l.udp || l.http3_alt_svc).then(Default::default),
        codec_type: if l.udp {
            hcm::http_connection_manager::CodecType::Http3 as i32
        } else {
            0
        },
        stream_idle_timeout: s.stream_idle_timeout_ms.map(duration_ms),
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

#[cfg(test)]
mod tests {
    use crate::ir::edge;
    use crate::{Inputs, Options, SourceFile};

    const LISTENERS: &str = r#"
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: h2, namespace: default}
spec: {port: 8443, protocol: HTTP, securityModel: XFP, http2MaxConcurrentStreams: 7, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: m, namespace: default}
spec: {hostname: "*", prefix: /, service: backend:80}
"#;

    /// The listeners and clusters (as JSON) of `LISTENERS` plus `module`.
    fn build(module: &str) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        let text = format!("{LISTENERS}---\n{module}");
        let t = crate::translate(&Inputs {
            files: vec![SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Options::default(),
        });
        assert!(!t.has_errors(), "{}", t.render_diagnostics());
        let r = t.resources(super::Mode::Ads);
        (json(&r.listeners), json(&r.clusters))
    }

    fn json<T: serde::Serialize>(v: &[T]) -> Vec<serde_json::Value> {
        v.iter().map(|x| serde_json::to_value(x).unwrap()).collect()
    }

    fn hcm(l: &serde_json::Value) -> &serde_json::Value {
        &l["filter_chains"][0]["filters"][0]["typed_config"]
    }

    fn by_port(ls: &[serde_json::Value], port: u64) -> &serde_json::Value {
        ls.iter()
            .find(|l| l["address"]["socket_address"]["port_value"] == port)
            .unwrap()
    }

    #[test]
    fn edge_defaults_without_a_module() {
        let (ls, cs) = build("");
        assert_eq!(ls.len(), 2);
        for l in &ls {
            assert_eq!(
                l["per_connection_buffer_limit_bytes"],
                edge::BUFFER_LIMIT_BYTES
            );
            let h = hcm(l);
            assert_eq!(h["common_http_protocol_options"]["idle_timeout"], "3600s");
            assert_eq!(h["stream_idle_timeout"], "300s");
            assert_eq!(
                h["http2_protocol_options"]["initial_stream_window_size"],
                65536
            );
            assert_eq!(
                h["http2_protocol_options"]["initial_connection_window_size"],
                1048576
            );
            assert!(h.get("request_timeout").is_none(), "{h}");
        }
        // The Listener's own limit wins over the default.
        let streams =
            |p| hcm(by_port(&ls, p))["http2_protocol_options"]["max_concurrent_streams"].clone();
        assert_eq!(streams(8080), 100);
        assert_eq!(streams(8443), 7);
        assert!(!cs.is_empty());
        for c in &cs {
            assert_eq!(c["per_connection_buffer_limit_bytes"], 32768, "{c}");
        }
    }

    #[test]
    fn module_values_win_and_zero_leaves_envoys_default() {
        let (ls, cs) = build(
            r#"apiVersion: getambassador.io/v3alpha1
kind: Module
metadata: {name: ambassador, namespace: default}
spec:
  config:
    buffer_limit_bytes: 4096
    listener_idle_timeout_ms: 30000
    rs_cluster_buffer_limit_bytes: 0
    rs_http2_max_concurrent_streams: 12
    rs_http2_initial_stream_window_size: 0
    rs_http2_initial_connection_window_size: 2097152
    rs_stream_idle_timeout_ms: 0
"#,
        );
        let l = by_port(&ls, 8080);
        assert_eq!(l["per_connection_buffer_limit_bytes"], 4096);
        let h = hcm(l);
        assert_eq!(h["common_http_protocol_options"]["idle_timeout"], "30s");
        assert_eq!(h["stream_idle_timeout"], "0s");
        let h2 = &h["http2_protocol_options"];
        assert_eq!(h2["max_concurrent_streams"], 12);
        assert!(h2.get("initial_stream_window_size").is_none(), "{h2}");
        assert_eq!(h2["initial_connection_window_size"], 2097152);
        assert_eq!(
            hcm(by_port(&ls, 8443))["http2_protocol_options"]["max_concurrent_streams"],
            7
        );
        for c in &cs {
            assert!(c.get("per_connection_buffer_limit_bytes").is_none(), "{c}");
        }
        // Emissary writes no listener limit for `buffer_limit_bytes: 0`.
        let (ls, _) = build(
            "apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {name: ambassador, namespace: default}\nspec: {config: {buffer_limit_bytes: 0}}\n",
        );
        assert!(ls[0].get("per_connection_buffer_limit_bytes").is_none());
    }

    #[test]
    fn a_window_below_envoys_minimum_is_an_error() {
        let text = format!(
            "{LISTENERS}---\napiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {{name: ambassador, namespace: default}}\nspec: {{config: {{rs_http2_initial_stream_window_size: 1000}}}}\n"
        );
        let t = crate::translate(&Inputs {
            files: vec![SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Options::default(),
        });
        assert!(
            t.diagnostics.iter().any(|d| d.code == "module-value"
                && d.message.contains("rs_http2_initial_stream_window_size")),
            "{}",
            t.render_diagnostics()
        );
        // The default stays.
        let r = t.resources(super::super::Mode::Ads);
        let h = serde_json::to_value(&r.listeners[0]).unwrap();
        assert_eq!(
            hcm(&h)["http2_protocol_options"]["initial_stream_window_size"],
            65536
        );
    }

    /// HTTP/3 on 8443 (TCP and UDP) and plain HTTPS on 9443, one Host: the
    /// same Hosts and security model on both TCP listeners, yet only 8443
    /// advertises HTTP/3, so they must not share a route configuration.
    #[test]
    fn alt_svc_route_configurations_are_not_shared() {
        let text = r#"apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: https, namespace: default}
spec: {port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: other, namespace: default}
spec: {port: 9443, protocol: HTTPS, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: quic, namespace: default}
spec: {port: 8443, protocolStack: [TLS, HTTP, UDP], securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: web, namespace: default}
spec: {hostname: web.example.com, tlsSecret: {name: cert}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: m, namespace: default}
spec: {hostname: "*", prefix: /, service: backend:80}
"#;
        let t = crate::translate(&Inputs {
            files: vec![SourceFile {
                name: "m.yaml".into(),
                text: text.into(),
            }],
            options: Options {
                placeholder_secrets: true,
                ..Options::default()
            },
        });
        assert!(!t.has_errors(), "{}", t.render_diagnostics());
        let r = t.resources(super::Mode::Ads);
        let ls = json(&r.listeners);
        let rds = |l: &serde_json::Value| -> Vec<String> {
            l["filter_chains"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    c["filters"][0]["typed_config"]["rds"]["route_config_name"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let named = |n: &str| ls.iter().find(|l| l["name"] == n).unwrap();
        let (h3, plain, udp) = (
            rds(named("listener-8443")),
            rds(named("listener-9443")),
            rds(named("listener-udp-8443")),
        );
        assert_eq!(h3.len(), 2);
        for name in &h3 {
            assert!(!plain.contains(name) && !udp.contains(name), "{name}");
        }
        let rcs = json(&r.routes);
        for rc in &rcs {
            let name = rc["name"].as_str().unwrap().to_string();
            for vh in rc["virtual_hosts"].as_array().unwrap() {
                let alt = &vh["response_headers_to_add"][0]["header"];
                if h3.contains(&name) {
                    assert_eq!(alt["key"], "alt-svc", "{rc}");
                    assert_eq!(alt["value"], crate::ir::ALT_SVC);
                } else {
                    assert!(vh.get("response_headers_to_add").is_none(), "{rc}");
                }
            }
        }
        // The QUIC listener: UDP socket, QUIC options, QUIC transport, HTTP/3 codec.
        let q = named("listener-udp-8443");
        assert_eq!(q["address"]["socket_address"]["protocol"], "UDP");
        assert!(q["udp_listener_config"]["quic_options"].is_object(), "{q}");
        let c = &q["filter_chains"][0];
        assert_eq!(c["filter_chain_match"]["transport_protocol"], "quic");
        assert_eq!(
            c["transport_socket"]["name"],
            "envoy.transport_sockets.quic"
        );
        assert_eq!(c["filters"][0]["typed_config"]["codec_type"], "HTTP3");
        assert!(q.get("listener_filters").is_none(), "{q}");
    }
}
