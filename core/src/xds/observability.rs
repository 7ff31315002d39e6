//! IR access loggers and tracer → the HCM's `access_log` list and `tracing`.
//!
//! The tracer is configured per HCM (`tracing.provider`) rather than in the
//! Bootstrap, so the same configuration works over ADS.

use super::{any, duration_ms, u32_value};
use crate::ir::{AccessLog, FileLogFormat, GrpcLog, Tracing};
use crate::ir::{CustomTagValue, TracingDriver};
use crate::pb::envoy::config::accesslog::v3 as al;
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::trace::v3 as trace;
use crate::pb::envoy::extensions::access_loggers::file::v3 as file_log;
use crate::pb::envoy::extensions::access_loggers::grpc::v3 as grpc_log;
use crate::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm;
use crate::pb::envoy::r#type::tracing::v3 as tag;
use crate::pb::envoy::r#type::v3::Percent;
use crate::pb::wkt;
use std::collections::BTreeMap;

/// The HCM's access loggers.
pub(crate) fn access_logs(logs: &[AccessLog]) -> Vec<al::AccessLog> {
    logs.iter()
        .map(|l| match l {
            AccessLog::Grpc(g) => grpc(g),
            AccessLog::File { path, format } => file(path, format),
        })
        .collect()
}

fn typed(name: &str, config: crate::pb::Any) -> al::AccessLog {
    al::AccessLog {
        name: name.into(),
        config_type: Some(al::access_log::ConfigType::TypedConfig(config)),
        ..Default::default()
    }
}

fn grpc(g: &GrpcLog) -> al::AccessLog {
    let common = Some(grpc_log::CommonGrpcAccessLogConfig {
        log_name: g.log_name.clone(),
        grpc_service: Some(envoy_grpc(&g.cluster)),
        transport_api_version: core::ApiVersion::V3 as i32,
        buffer_flush_interval: Some(duration_ms(g.flush_interval_s.saturating_mul(1000))),
        buffer_size_bytes: Some(u32_value(g.buffer_size_bytes)),
        ..Default::default()
    });
    if g.http {
        typed(
            "envoy.access_loggers.http_grpc",
            any(&grpc_log::HttpGrpcAccessLogConfig {
                common_config: common,
                additional_request_headers_to_log: g.request_headers.clone(),
                additional_response_headers_to_log: g.response_headers.clone(),
                additional_response_trailers_to_log: g.response_trailers.clone(),
            }),
        )
    } else {
        typed(
            "envoy.access_loggers.tcp_grpc",
            any(&grpc_log::TcpGrpcAccessLogConfig {
                common_config: common,
            }),
        )
    }
}

fn envoy_grpc(cluster: &str) -> core::GrpcService {
    core::GrpcService {
        target_specifier: Some(core::grpc_service::TargetSpecifier::EnvoyGrpc(
            core::grpc_service::EnvoyGrpc {
                cluster_name: cluster.into(),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn json_struct(m: &BTreeMap<String, String>) -> wkt::Struct {
    wkt::Struct {
        fields: m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    wkt::Value {
                        kind: Some(wkt::value::Kind::StringValue(v.clone())),
                    },
                )
            })
            .collect(),
    }
}

#[allow(deprecated)] // `json_format` is the only spelling whose values all stay strings.
fn file(path: &str, format: &FileLogFormat) -> al::AccessLog {
    use file_log::file_access_log::AccessLogFormat as F;
    let format = match format {
        FileLogFormat::Text(t) => F::LogFormat(core::SubstitutionFormatString {
            format: Some(core::substitution_format_string::Format::TextFormatSource(
                core::DataSource {
                    specifier: Some(core::data_source::Specifier::InlineString(t.clone())),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
        FileLogFormat::Json(m) => F::JsonFormat(json_struct(m)),
        FileLogFormat::TypedJson(m) => F::LogFormat(core::SubstitutionFormatString {
            format: Some(core::substitution_format_string::Format::JsonFormat(
                json_struct(m),
            )),
            ..Default::default()
        }),
    };
    typed(
        "envoy.access_loggers.file",
        any(&file_log::FileAccessLog {
            path: path.into(),
            access_log_format: Some(format),
        }),
    )
}

/// The HCM's tracing settings and provider.
pub(crate) fn tracing(t: &Tracing) -> hcm::http_connection_manager::Tracing {
    let c = &t.config;
    let (name, config) = match t.driver {
        TracingDriver::Zipkin => (
            "envoy.tracers.zipkin",
            any(&trace::ZipkinConfig {
                collector_cluster: t.cluster.clone(),
                collector_endpoint: c.collector_endpoint.clone().unwrap_or_default(),
                trace_id_128bit: c.trace_id_128bit.unwrap_or(false),
                shared_span_context: c
                    .shared_span_context
                    .map(|value| pbjson_types::BoolValue { value }),
                collector_endpoint_version: match c.collector_endpoint_version.as_deref() {
                    Some("HTTP_PROTO") => trace::zipkin_config::CollectorEndpointVersion::HttpProto,
                    _ => trace::zipkin_config::CollectorEndpointVersion::HttpJson,
                } as i32,
                collector_hostname: c.collector_hostname.clone().unwrap_or_default(),
                ..Default::default()
            }),
        ),
        TracingDriver::Datadog => (
            "envoy.tracers.datadog",
            any(&trace::DatadogConfig {
                collector_cluster: t.cluster.clone(),
                service_name: c.service_name.clone().unwrap_or_default(),
                collector_hostname: c.collector_hostname.clone().unwrap_or_default(),
                ..Default::default()
            }),
        ),
        TracingDriver::OpenTelemetry => (
            "envoy.tracers.opentelemetry",
            any(&trace::OpenTelemetryConfig {
                grpc_service: Some(envoy_grpc(&t.cluster)),
                service_name: c.service_name.clone().unwrap_or_default(),
                ..Default::default()
            }),
        ),
    };
    let pct = |v: Option<f64>| v.map(|value| Percent { value });
    hcm::http_connection_manager::Tracing {
        client_sampling: pct(t.sampling.client),
        random_sampling: pct(t.sampling.random),
        overall_sampling: pct(t.sampling.overall),
        custom_tags: t
            .custom_tags
            .iter()
            .map(|ct| tag::CustomTag {
                tag: ct.tag.clone(),
                r#type: Some(match &ct.value {
                    CustomTagValue::Literal(v) => {
                        tag::custom_tag::Type::Literal(tag::custom_tag::Literal {
                            value: v.clone(),
                        })
                    }
                    CustomTagValue::Environment { name, default } => {
                        tag::custom_tag::Type::Environment(tag::custom_tag::Environment {
                            name: name.clone(),
                            default_value: default.clone().unwrap_or_default(),
                        })
                    }
                    CustomTagValue::RequestHeader { name, default } => {
                        tag::custom_tag::Type::RequestHeader(tag::custom_tag::Header {
                            name: name.clone(),
                            default_value: default.clone().unwrap_or_default(),
                        })
                    }
                }),
            })
            .collect(),
        provider: Some(trace::tracing::Http {
            name: name.into(),
            config_type: Some(trace::tracing::http::ConfigType::TypedConfig(config)),
        }),
        ..Default::default()
    }
}
