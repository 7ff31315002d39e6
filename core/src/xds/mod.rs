//! IR → Envoy v3 messages: listeners, route configurations, clusters,
//! endpoints and secrets, sorted by name; plus the static Bootstrap form.
//!
//! Two modes: [`Mode::Ads`] (what the daemon serves: HCMs name their routes
//! for RDS, certificates come by SDS) and [`Mode::Static`] (one Bootstrap that
//! Envoy runs as is: routes inline, secrets static).

pub mod ads_bootstrap;
mod cluster;
mod encode;
mod endpoint;
mod filters;
mod listener;
mod observability;
mod route;

use crate::pb;
use pb::envoy::config::bootstrap::v3 as bs;
use pb::envoy::config::cluster::v3::Cluster;
use pb::envoy::config::core::v3 as core;
use pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use pb::envoy::config::listener::v3::Listener;
use pb::envoy::config::route::v3::RouteConfiguration;
use pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use serde::Serialize;

pub use crate::pb::any;

use crate::ir::Ir;

pub use encode::{
    CLUSTER, ENDPOINT, Encoded, Encoder, LISTENER, Parallel, ROUTE, Resource, SECRET, Serial,
    TYPE_ORDER, TypeResources, TypeStats, content_digest, is_wildcard_type, type_short_name,
};

/// How resources refer to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Routes by RDS, secrets by SDS, over ADS.
    Ads,
    /// Routes inline in each HCM, secrets in `static_resources`.
    Static,
}

/// The Envoy resources of one translation, each list sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    pub listeners: Vec<Listener>,
    pub routes: Vec<RouteConfiguration>,
    pub clusters: Vec<Cluster>,
    pub endpoints: Vec<ClusterLoadAssignment>,
    pub secrets: Vec<tls::Secret>,
}

/// Builds every Envoy resource of the IR.
pub fn build(ir: &Ir, mode: Mode) -> Resources {
    let mut res = build_parts(ir, Some(mode), route::Routes::new(ir));
    res.clusters = ir.clusters.values().map(|c| cluster(ir, c, mode)).collect();
    res
}

/// One cluster of the IR, as [`build`] makes it. In [`Mode::Ads`] the result
/// depends on `c` alone (endpoints travel by EDS), so [`Encoder`] keeps the
/// encoded cluster of an unchanged `c` from one translation to the next.
pub fn cluster(ir: &Ir, c: &crate::ir::Cluster, mode: Mode) -> Cluster {
    cluster::build(c, &ir.endpoints, mode)
}

/// The frame [`Encoder`] fills: [`build`] in [`Mode::Ads`] with no clusters
/// and no endpoints (it builds them one by one with [`cluster`] and
/// `endpoint::load_assignment`) and virtual hosts without routes (it
/// encodes them one by one and splices them in: the routes of each
/// configuration are, per virtual host in order, those of the first HTTP
/// chain that names it, [`route_layout`]).
fn skeleton(ir: &Ir) -> Resources {
    build_parts(ir, None, route::Routes::new(ir).skeleton())
}

/// The IR virtual hosts of each route configuration, by name: those of the
/// first HTTP chain that names it, as [`build`] uses them.
fn route_layout(ir: &Ir) -> std::collections::BTreeMap<&str, &[crate::ir::VirtualHost]> {
    let mut out = std::collections::BTreeMap::new();
    for l in &ir.listeners {
        for c in &l.chains {
            if let crate::ir::ChainKind::Http {
                route_config,
                vhosts,
            } = &c.kind
            {
                out.entry(route_config.as_str())
                    .or_insert(vhosts.as_slice());
            }
        }
    }
    out
}

/// Listeners, route configurations, endpoints and secrets; `None` is
/// [`Mode::Ads`] without the endpoints.
fn build_parts(ir: &Ir, mode: Option<Mode>, routes: route::Routes<'_>) -> Resources {
    let with_endpoints = mode.is_some();
    let mode = mode.unwrap_or(Mode::Ads);
    let mut configs = listener::RouteConfigs::new();
    let listeners = ir
        .listeners
        .iter()
        .map(|l| listener::build(l, ir, &routes, &mut configs, mode))
        .collect();
    Resources {
        listeners,
        // In static mode every HCM carries its routes inline.
        routes: if mode == Mode::Ads {
            configs.into_values().collect()
        } else {
            Vec::new()
        },
        clusters: Vec::new(),
        // In static mode the endpoints are inline in `STATIC` clusters.
        endpoints: if mode == Mode::Ads && with_endpoints {
            endpoint::build(ir)
        } else {
            Vec::new()
        },
        secrets: ir.secrets.values().map(cluster::secret).collect(),
    }
}

/// Admin port of the generated bootstrap (Emissary's).
pub const ADMIN_PORT: u16 = 8001;

/// A complete static Bootstrap from resources built in [`Mode::Static`].
pub fn bootstrap(ir: &Ir, res: Resources) -> bs::Bootstrap {
    use pb::google::protobuf::{Struct, Value, value::Kind};
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "re2.max_program_size.error_level".to_string(),
        Value {
            kind: Some(Kind::NumberValue(ir.http.regex_max_size as f64)),
        },
    );
    for f in &ir.bootstrap.runtime_flags {
        fields.insert(f.name.clone(), runtime_value(f.value));
    }
    bs::Bootstrap {
        node: Some(core::Node {
            id: "emissary".into(),
            cluster: "emissary".into(),
            ..Default::default()
        }),
        static_resources: Some(bs::bootstrap::StaticResources {
            listeners: res.listeners,
            clusters: res.clusters,
            secrets: res.secrets,
        }),
        admin: Some(bs::Admin {
            address: Some(socket_address(
                "127.0.0.1",
                ir.bootstrap.admin_port.unwrap_or(ADMIN_PORT),
            )),
            ignore_global_conn_limit: true,
            ..Default::default()
        }),
        // The defaults: a static Bootstrap has no host to measure the machine.
        overload_manager: ads_bootstrap::overload_manager(&Default::default()),
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

/// A runtime layer value of the Module's `runtime_flags`.
pub(crate) fn runtime_value(v: crate::ir::RuntimeValue) -> pb::google::protobuf::Value {
    use pb::google::protobuf::{Value, value::Kind};
    Value {
        kind: Some(match v {
            crate::ir::RuntimeValue::Int(i) => Kind::NumberValue(i as f64),
            crate::ir::RuntimeValue::Bool(b) => Kind::BoolValue(b),
        }),
    }
}

/// A wrapped `uint32` from one of the model's bounded integers.
pub(crate) fn u32_value(v: u64) -> pbjson_types::UInt32Value {
    pbjson_types::UInt32Value {
        value: u32::try_from(v).unwrap_or(u32::MAX),
    }
}

pub(crate) fn duration_ms(ms: u64) -> pbjson_types::Duration {
    pbjson_types::Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// Emissary's duration strings as Envoy durations (see [`crate::ir::parse_duration_ms`]).
pub(crate) fn parse_duration(s: &str) -> Option<pbjson_types::Duration> {
    crate::ir::parse_duration_ms(s).map(duration_ms)
}

pub(crate) fn socket_address(host: &str, port: u16) -> core::Address {
    core::Address {
        address: Some(core::address::Address::SocketAddress(core::SocketAddress {
            address: host.to_string(),
            port_specifier: Some(core::socket_address::PortSpecifier::PortValue(u32::from(
                port,
            ))),
            ..Default::default()
        })),
    }
}

pub(crate) fn ads_source() -> core::ConfigSource {
    core::ConfigSource {
        config_source_specifier: Some(core::config_source::ConfigSourceSpecifier::Ads(
            Default::default(),
        )),
        resource_api_version: core::ApiVersion::V3 as i32,
        ..Default::default()
    }
}

pub(crate) fn sds(name: &str, mode: Mode) -> tls::SdsSecretConfig {
    tls::SdsSecretConfig {
        name: name.to_string(),
        sds_config: (mode == Mode::Ads).then(ads_source),
    }
}

pub(crate) fn tls_params(
    min: &Option<String>,
    max: &Option<String>,
    ciphers: &[String],
    curves: &[String],
) -> Option<tls::TlsParameters> {
    let v = |s: &Option<String>| match s.as_deref() {
        Some("v1.0") => tls::tls_parameters::TlsProtocol::TlSv10 as i32,
        Some("v1.1") => tls::tls_parameters::TlsProtocol::TlSv11 as i32,
        Some("v1.2") => tls::tls_parameters::TlsProtocol::TlSv12 as i32,
        Some("v1.3") => tls::tls_parameters::TlsProtocol::TlSv13 as i32,
        _ => 0,
    };
    if min.is_none() && max.is_none() && ciphers.is_empty() && curves.is_empty() {
        return None;
    }
    Some(tls::TlsParameters {
        tls_minimum_protocol_version: v(min),
        tls_maximum_protocol_version: v(max),
        cipher_suites: ciphers.to_vec(),
        ecdh_curves: curves.to_vec(),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use crate::{Inputs, Options, SourceFile};

    fn bootstrap(module_config: &str) -> serde_json::Value {
        let text = format!(
            "apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {{name: ambassador, namespace: default}}\nspec: {{config: {module_config}}}\n"
        );
        let t = crate::translate(&Inputs {
            files: vec![SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Options::default(),
        });
        serde_json::to_value(t.bootstrap()).unwrap()
    }

    fn admin_port(b: &serde_json::Value) -> &serde_json::Value {
        &b["admin"]["address"]["socket_address"]["port_value"]
    }

    fn static_layer(b: &serde_json::Value) -> &serde_json::Value {
        &b["layered_runtime"]["layers"][0]["static_layer"]
    }

    #[test]
    fn module_admin_port_and_runtime_flags_reach_the_static_bootstrap() {
        let b = bootstrap(
            "{admin_port: 9901, runtime_flags: {http.max_requests_per_io_cycle: 5, \
             envoy.restart_features.send_goaway_for_premature_rst_streams: true, \
             overload.premature_reset_total_stream_count: 0, other.flag: 1}}",
        );
        assert_eq!(*admin_port(&b), 9901);
        let layer = static_layer(&b);
        assert_eq!(layer["http.max_requests_per_io_cycle"], 5.0);
        assert_eq!(
            layer["envoy.restart_features.send_goaway_for_premature_rst_streams"],
            true
        );
        // Invalid and unknown flags are left out; the fixed entry stays.
        assert!(
            layer
                .get("overload.premature_reset_total_stream_count")
                .is_none()
        );
        assert!(layer.get("other.flag").is_none());
        assert_eq!(layer["re2.max_program_size.error_level"], 200.0);
    }

    #[test]
    fn without_module_settings_the_bootstrap_keeps_its_defaults() {
        let b = bootstrap("{server_name: x}");
        assert_eq!(*admin_port(&b), super::ADMIN_PORT);
        let layer = static_layer(&b).as_object().unwrap();
        assert_eq!(
            layer.keys().collect::<Vec<_>>(),
            ["re2.max_program_size.error_level"]
        );
    }
}
