//! The dynamic Bootstrap an Envoy needs to take its whole configuration from
//! the daemon over ADS: a node identity, one static cluster (HTTP/2) pointing
//! at the ADS server, LDS and CDS through ADS, an admin listener (on
//! loopback unless the host says otherwise), and the overload manager
//! ([`Overload`], also used by the static Bootstrap).
//!
//! Pure: the host decides addresses, ports and limits and writes the file.

use super::{ads_source, any, duration_ms, socket_address};
use crate::pb::envoy::config::bootstrap::v3 as bs;
use crate::pb::envoy::config::cluster::v3 as cl;
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::endpoint::v3 as ep;
use crate::pb::envoy::config::overload::v3 as ov;
use crate::pb::envoy::extensions::resource_monitors::downstream_connections::v3::DownstreamConnectionsConfig;
use crate::pb::envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig;
use crate::pb::envoy::extensions::upstreams::http::v3 as uhttp;

/// Name of the static cluster that reaches the ADS server.
pub const XDS_CLUSTER: &str = "emissary_xds";

/// Which ADS protocol variant Envoy asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdsProtocol {
    /// State of the world (`api_type: GRPC`).
    Sotw,
    /// Incremental (`api_type: DELTA_GRPC`).
    Delta,
}

/// Default of [`Overload::max_downstream_connections`].
pub const DEFAULT_MAX_DOWNSTREAM_CONNECTIONS: u64 = 50_000;
/// Default of [`Overload::max_heap_bytes`] when the host knows no better
/// (2 GiB, the figure of Envoy's edge best practices).
pub const DEFAULT_MAX_HEAP_BYTES: u64 = 2 << 30;

/// Heap pressure (share of [`Overload::max_heap_bytes`]) at which Envoy
/// returns free memory to the system and stops keeping connections alive.
pub const SHRINK_HEAP_AT: f64 = 0.95;
/// Heap pressure at which Envoy answers new requests with 503.
pub const STOP_ACCEPTING_REQUESTS_AT: f64 = 0.98;

/// Envoy's overload manager: what it watches and how far it lets it grow.
/// Both limits live in the Bootstrap, so changing them takes a restart of
/// Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overload {
    /// Active downstream connections over all listeners
    /// (`envoy.resource_monitors.global_downstream_max_connections`); a
    /// connection beyond it is closed as soon as it is accepted. `None`: no
    /// limit (Envoy warns at start).
    pub max_downstream_connections: Option<u64>,
    /// Heap size the `fixed_heap` monitor measures against: at
    /// [`SHRINK_HEAP_AT`] Envoy shrinks its heap and disables HTTP
    /// keep-alive, at [`STOP_ACCEPTING_REQUESTS_AT`] it stops accepting
    /// requests. `None`: no heap actions.
    pub max_heap_bytes: Option<u64>,
}

impl Default for Overload {
    fn default() -> Self {
        Overload {
            max_downstream_connections: Some(DEFAULT_MAX_DOWNSTREAM_CONNECTIONS),
            max_heap_bytes: Some(DEFAULT_MAX_HEAP_BYTES),
        }
    }
}

const GLOBAL_CONNECTIONS: &str = "envoy.resource_monitors.global_downstream_max_connections";
const FIXED_HEAP: &str = "envoy.resource_monitors.fixed_heap";

/// The Bootstrap's `overload_manager` for `o`; `None` when it sets no limit.
pub fn overload_manager(o: &Overload) -> Option<ov::OverloadManager> {
    let mut monitors = Vec::new();
    let mut actions = Vec::new();
    if let Some(n) = o.max_downstream_connections {
        monitors.push(ov::ResourceMonitor {
            name: GLOBAL_CONNECTIONS.into(),
            config_type: Some(ov::resource_monitor::ConfigType::TypedConfig(any(
                &DownstreamConnectionsConfig {
                    max_active_downstream_connections: i64::try_from(n).unwrap_or(i64::MAX),
                },
            ))),
        });
    }
    if let Some(bytes) = o.max_heap_bytes {
        monitors.push(ov::ResourceMonitor {
            name: FIXED_HEAP.into(),
            config_type: Some(ov::resource_monitor::ConfigType::TypedConfig(any(
                &FixedHeapConfig {
                    max_heap_size_bytes: bytes,
                    ..Default::default()
                },
            ))),
        });
        let action = |name: &str, at: f64| ov::OverloadAction {
            name: name.into(),
            triggers: vec![ov::Trigger {
                name: FIXED_HEAP.into(),
                trigger_oneof: Some(ov::trigger::TriggerOneof::Threshold(ov::ThresholdTrigger {
                    value: at,
                })),
            }],
            ..Default::default()
        };
        actions.push(action("envoy.overload_actions.shrink_heap", SHRINK_HEAP_AT));
        actions.push(action(
            "envoy.overload_actions.disable_http_keepalive",
            SHRINK_HEAP_AT,
        ));
        actions.push(action(
            "envoy.overload_actions.stop_accepting_requests",
            STOP_ACCEPTING_REQUESTS_AT,
        ));
    }
    (!monitors.is_empty()).then(|| ov::OverloadManager {
        refresh_interval: Some(duration_ms(250)),
        resource_monitors: monitors,
        actions,
        ..Default::default()
    })
}

/// Everything that varies between two dynamic Bootstraps.
#[derive(Debug, Clone)]
pub struct AdsBootstrap {
    pub node_id: String,
    pub node_cluster: String,
    pub ads_host: String,
    pub ads_port: u16,
    pub admin_host: String,
    pub admin_port: u16,
    pub protocol: AdsProtocol,
    /// `re2.max_program_size.error_level` in the runtime. The core checks every
    /// regex against the Module's `regex_max_size` before Envoy sees it, so
    /// this only needs to be at least as large as any Module allows.
    pub regex_max_size: u32,
    /// The overload manager's limits.
    pub overload: Overload,
}

impl Default for AdsBootstrap {
    fn default() -> Self {
        AdsBootstrap {
            node_id: "emissary".into(),
            node_cluster: "emissary".into(),
            ads_host: "127.0.0.1".into(),
            ads_port: 18000,
            admin_host: "127.0.0.1".into(),
            admin_port: super::ADMIN_PORT,
            protocol: AdsProtocol::Sotw,
            regex_max_size: 200,
            overload: Overload::default(),
        }
    }
}

/// The Bootstrap for an Envoy that takes listeners, routes, clusters and
/// secrets from the ADS server at `ads_host:ads_port`.
pub fn ads_bootstrap(p: &AdsBootstrap) -> bs::Bootstrap {
    use crate::pb::google::protobuf::{Struct, Value, value::Kind};
    let api_type = match p.protocol {
        AdsProtocol::Sotw => core::api_config_source::ApiType::Grpc,
        AdsProtocol::Delta => core::api_config_source::ApiType::DeltaGrpc,
    } as i32;
    let h2 = uhttp::HttpProtocolOptions {
        upstream_protocol_options: Some(
            uhttp::http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                uhttp::http_protocol_options::ExplicitHttpConfig {
                    protocol_config: Some(
                        uhttp::http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                            Default::default(),
                        ),
                    ),
                },
            ),
        ),
        ..Default::default()
    };
    let mut xds = cl::Cluster {
        name: XDS_CLUSTER.into(),
        cluster_discovery_type: Some(cl::cluster::ClusterDiscoveryType::Type(
            cl::cluster::DiscoveryType::Static as i32,
        )),
        connect_timeout: Some(duration_ms(1000)),
        load_assignment: Some(ep::ClusterLoadAssignment {
            cluster_name: XDS_CLUSTER.into(),
            endpoints: vec![ep::LocalityLbEndpoints {
                lb_endpoints: vec![ep::LbEndpoint {
                    host_identifier: Some(ep::lb_endpoint::HostIdentifier::Endpoint(
                        ep::Endpoint {
                            address: Some(socket_address(&p.ads_host, p.ads_port)),
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
    xds.typed_extension_protocol_options.insert(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions".into(),
        any(&h2),
    );
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "re2.max_program_size.error_level".to_string(),
        Value {
            kind: Some(Kind::NumberValue(f64::from(p.regex_max_size))),
        },
    );
    bs::Bootstrap {
        node: Some(core::Node {
            id: p.node_id.clone(),
            cluster: p.node_cluster.clone(),
            ..Default::default()
        }),
        dynamic_resources: Some(bs::bootstrap::DynamicResources {
            lds_config: Some(ads_source()),
            cds_config: Some(ads_source()),
            ads_config: Some(core::ApiConfigSource {
                api_type,
                transport_api_version: core::ApiVersion::V3 as i32,
                grpc_services: vec![core::GrpcService {
                    target_specifier: Some(core::grpc_service::TargetSpecifier::EnvoyGrpc(
                        core::grpc_service::EnvoyGrpc {
                            cluster_name: XDS_CLUSTER.into(),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                set_node_on_first_message_only: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        static_resources: Some(bs::bootstrap::StaticResources {
            clusters: vec![xds],
            ..Default::default()
        }),
        admin: Some(bs::Admin {
            address: Some(socket_address(&p.admin_host, p.admin_port)),
            // The daemon watches Envoy through its admin: it must answer
            // when the connection limit is reached.
            ignore_global_conn_limit: true,
            ..Default::default()
        }),
        overload_manager: overload_manager(&p.overload),
        layered_runtime: Some(bs::LayeredRuntime {
            layers: vec![bs::RuntimeLayer {
                name: "static_layer".into(),
                layer_specifier: Some(bs::runtime_layer::LayerSpecifier::StaticLayer(Struct {
                    fields,
                })),
            }],
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_and_ports_reach_the_json() {
        let b = ads_bootstrap(&AdsBootstrap {
            node_id: "n1".into(),
            ads_port: 18123,
            admin_port: 19001,
            protocol: AdsProtocol::Delta,
            ..Default::default()
        });
        let j = serde_json::to_value(&b).unwrap();
        let ads = &j["dynamic_resources"]["ads_config"];
        assert_eq!(ads["api_type"], "DELTA_GRPC");
        assert_eq!(ads["transport_api_version"], "V3");
        assert_eq!(j["node"]["id"], "n1");
        assert_eq!(
            j["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"]
                [0]["endpoint"]["address"]["socket_address"]["port_value"],
            18123
        );
        assert_eq!(j["admin"]["address"]["socket_address"]["port_value"], 19001);
        let opts = &j["static_resources"]["clusters"][0]["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        assert!(
            opts["explicit_http_config"]["http2_protocol_options"].is_object(),
            "{opts}"
        );
        let sotw = serde_json::to_value(ads_bootstrap(&AdsBootstrap::default())).unwrap();
        assert_eq!(sotw["dynamic_resources"]["ads_config"]["api_type"], "GRPC");
        assert_eq!(
            sotw["dynamic_resources"]["lds_config"],
            sotw["dynamic_resources"]["cds_config"]
        );
    }

    #[test]
    fn overload_manager_limits_connections_and_heap_by_default() {
        let j = serde_json::to_value(ads_bootstrap(&AdsBootstrap::default())).unwrap();
        assert_eq!(
            j["admin"]["address"]["socket_address"]["address"],
            "127.0.0.1"
        );
        assert_eq!(j["admin"]["ignore_global_conn_limit"], true);
        let om = &j["overload_manager"];
        assert_eq!(om["refresh_interval"], "0.250s");
        let monitors = om["resource_monitors"].as_array().unwrap();
        assert_eq!(monitors.len(), 2, "{om}");
        assert_eq!(monitors[0]["name"], GLOBAL_CONNECTIONS);
        let c = &monitors[0]["typed_config"];
        assert_eq!(
            c["@type"],
            "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig"
        );
        assert_eq!(c["max_active_downstream_connections"], "50000");
        assert_eq!(monitors[1]["name"], FIXED_HEAP);
        assert_eq!(
            monitors[1]["typed_config"]["max_heap_size_bytes"],
            (2u64 << 30).to_string()
        );
        let actions: Vec<(String, f64)> = om["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["triggers"][0]["name"], FIXED_HEAP);
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["triggers"][0]["threshold"]["value"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                ("envoy.overload_actions.shrink_heap".to_string(), 0.95),
                (
                    "envoy.overload_actions.disable_http_keepalive".to_string(),
                    0.95
                ),
                (
                    "envoy.overload_actions.stop_accepting_requests".to_string(),
                    0.98
                ),
            ]
        );
    }

    #[test]
    fn overload_limits_are_overridable_and_can_be_turned_off() {
        let only_connections = ads_bootstrap(&AdsBootstrap {
            overload: Overload {
                max_downstream_connections: Some(5),
                max_heap_bytes: None,
            },
            ..Default::default()
        });
        let j = serde_json::to_value(&only_connections).unwrap();
        let monitors = j["overload_manager"]["resource_monitors"]
            .as_array()
            .unwrap();
        assert_eq!(monitors.len(), 1);
        assert_eq!(
            monitors[0]["typed_config"]["max_active_downstream_connections"],
            "5"
        );
        assert!(j["overload_manager"].get("actions").is_none(), "{j}");
        let heap = ads_bootstrap(&AdsBootstrap {
            overload: Overload {
                max_downstream_connections: None,
                max_heap_bytes: Some(123 << 20),
            },
            ..Default::default()
        });
        let j = serde_json::to_value(&heap).unwrap();
        let monitors = j["overload_manager"]["resource_monitors"]
            .as_array()
            .unwrap();
        assert_eq!(monitors.len(), 1);
        assert_eq!(
            monitors[0]["typed_config"]["max_heap_size_bytes"],
            (123u64 << 20).to_string()
        );
        let none = ads_bootstrap(&AdsBootstrap {
            overload: Overload {
                max_downstream_connections: None,
                max_heap_bytes: None,
            },
            ..Default::default()
        });
        assert!(none.overload_manager.is_none());
        // Past i64, the limit saturates instead of wrapping.
        let huge = overload_manager(&Overload {
            max_downstream_connections: Some(u64::MAX),
            max_heap_bytes: None,
        })
        .unwrap();
        let c: DownstreamConnectionsConfig = match &huge.resource_monitors[0].config_type {
            Some(ov::resource_monitor::ConfigType::TypedConfig(a)) => a.unpack().unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(c.max_active_downstream_connections, i64::MAX);
    }
}
