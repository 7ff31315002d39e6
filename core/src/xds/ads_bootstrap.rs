//! The dynamic Bootstrap an Envoy needs to take its whole configuration from
//! the daemon over ADS: a node identity, one static cluster (HTTP/2) pointing
//! at the ADS server, LDS and CDS through ADS, and an admin listener.
//!
//! Pure: the host decides addresses and ports and writes the file.

use super::{ads_source, any, duration_ms, socket_address};
use crate::pb::envoy::config::bootstrap::v3 as bs;
use crate::pb::envoy::config::cluster::v3 as cl;
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::endpoint::v3 as ep;
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
            ..Default::default()
        }),
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
}
