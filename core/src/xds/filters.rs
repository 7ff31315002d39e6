//! IR HTTP filters → the `http_filters` of every HTTP connection manager,
//! and the per-route pieces that belong to them (ext_authz per-route
//! settings, rate-limit actions).

use super::{any, duration_ms, u32_value};
use crate::ir::{self, HttpFilter};
use crate::ir::{AuthProto, LabelAction};
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::rbac::v3 as rbac_cfg;
use crate::pb::envoy::config::route::v3 as rt;
use crate::pb::envoy::extensions::compression::gzip::compressor::v3 as gzip;
use crate::pb::envoy::extensions::filters::http::buffer::v3 as buffer;
use crate::pb::envoy::extensions::filters::http::compressor::v3 as compressor;
use crate::pb::envoy::extensions::filters::http::cors::v3 as cors;
use crate::pb::envoy::extensions::filters::http::ext_authz::v3 as ext_authz;
use crate::pb::envoy::extensions::filters::http::grpc_http1_bridge::v3 as grpc_http1_bridge;
use crate::pb::envoy::extensions::filters::http::grpc_stats::v3 as grpc_stats;
use crate::pb::envoy::extensions::filters::http::grpc_web::v3 as grpc_web;
use crate::pb::envoy::extensions::filters::http::lua::v3 as lua;
use crate::pb::envoy::extensions::filters::http::ratelimit::v3 as ratelimit;
use crate::pb::envoy::extensions::filters::http::rbac::v3 as rbac;
use crate::pb::envoy::extensions::filters::http::router::v3 as router;
use crate::pb::envoy::extensions::filters::network::http_connection_manager::v3 as hcm;
use crate::pb::envoy::r#type::matcher::v3 as matcher;

/// The ext_authz filter's name, also the key of its per-route settings.
pub(crate) const EXT_AUTHZ: &str = "envoy.filters.http.ext_authz";

/// Answers every request but the probes with a 500: a broken AuthService
/// fails closed. `x-request-id` may be absent, so it is read defensively.
const FAIL_CLOSED_LUA: &str = r#"function envoy_on_request(handle)
  local path = handle:headers():get(":path") or ""
  if path == "/ambassador/v0/check_alive" or path == "/ambassador/v0/check_ready" then
    return
  end
  local id = handle:headers():get("x-request-id") or ""
  handle:respond(
    {[":status"] = "500", ["content-type"] = "application/json"},
    '{"message": "the AuthService is misconfigured; see the diagnostics", "request_id": "' .. id .. '", "status_code": 500}\n')
end
"#;

fn filter<M: prost::Name + prost::Message>(name: &str, config: &M) -> hcm::HttpFilter {
    hcm::HttpFilter {
        name: name.to_string(),
        config_type: Some(hcm::http_filter::ConfigType::TypedConfig(any(config))),
        ..Default::default()
    }
}

fn exact_list(names: &[String]) -> Option<matcher::ListStringMatcher> {
    Some(matcher::ListStringMatcher {
        patterns: names
            .iter()
            .map(|n| matcher::StringMatcher {
                match_pattern: Some(matcher::string_matcher::MatchPattern::Exact(n.clone())),
                ignore_case: true,
            })
            .collect(),
    })
}

fn grpc_service(cluster: &str, timeout_ms: Option<u64>) -> core::GrpcService {
    core::GrpcService {
        timeout: timeout_ms.map(duration_ms),
        target_specifier: Some(core::grpc_service::TargetSpecifier::EnvoyGrpc(
            core::grpc_service::EnvoyGrpc {
                cluster_name: cluster.to_string(),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// The connection managers' HTTP filters.
pub(crate) fn http_filters(ir: &ir::Ir) -> Vec<hcm::HttpFilter> {
    ir.filters.iter().map(build).collect()
}

fn build(f: &HttpFilter) -> hcm::HttpFilter {
    match f {
        HttpFilter::GrpcHttp1Bridge => filter(
            "envoy.filters.http.grpc_http1_bridge",
            &grpc_http1_bridge::Config::default(),
        ),
        HttpFilter::GrpcWeb => filter("envoy.filters.http.grpc_web", &grpc_web::GrpcWeb::default()),
        HttpFilter::GrpcStats(g) => {
            use grpc_stats::filter_config::PerMethodStatSpecifier as S;
            let spec = match &g.services {
                Some(services) => S::IndividualMethodStatsAllowlist(core::GrpcMethodList {
                    services: services
                        .iter()
                        .map(|(name, methods)| core::grpc_method_list::Service {
                            name: name.clone(),
                            method_names: methods.clone(),
                        })
                        .collect(),
                }),
                None => S::StatsForAllMethods(pbjson_types::BoolValue {
                    value: g.all_methods,
                }),
            };
            filter(
                "envoy.filters.http.grpc_stats",
                &grpc_stats::FilterConfig {
                    enable_upstream_stats: g.upstream_stats,
                    per_method_stat_specifier: Some(spec),
                    ..Default::default()
                },
            )
        }
        HttpFilter::Lua(code) => filter(
            "envoy.filters.http.lua",
            &lua::Lua {
                default_source_code: Some(core::DataSource {
                    specifier: Some(core::data_source::Specifier::InlineString(code.clone())),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        HttpFilter::AuthFailClosed { .. } => filter(
            "envoy.filters.http.lua",
            &lua::Lua {
                default_source_code: Some(core::DataSource {
                    specifier: Some(core::data_source::Specifier::InlineString(
                        FAIL_CLOSED_LUA.into(),
                    )),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        HttpFilter::Gzip(g) => {
            let lib = gzip::Gzip {
                memory_level: g.memory_level.map(u32_value),
                compression_level: g
                    .compression_level
                    .as_deref()
                    .and_then(gzip::gzip::CompressionLevel::from_str_name)
                    .map_or(0, |v| v as i32),
                compression_strategy: g
                    .compression_strategy
                    .as_deref()
                    .and_then(gzip::gzip::CompressionStrategy::from_str_name)
                    .map_or(0, |v| v as i32),
                window_bits: g.window_bits.map(u32_value),
                ..Default::default()
            };
            filter(
                "envoy.filters.http.compressor",
                &compressor::Compressor {
                    compressor_library: Some(core::TypedExtensionConfig {
                        name: "envoy.compression.gzip.compressor".into(),
                        typed_config: Some(any(&lib)),
                    }),
                    response_direction_config: Some(
                        compressor::compressor::ResponseDirectionConfig {
                            common_config: Some(compressor::compressor::CommonDirectionConfig {
                                min_content_length: g.min_content_length.map(u32_value),
                                content_type_matcher: g
                                    .content_type
                                    .iter()
                                    .map(|t| matcher::StringMatcher {
                                        match_pattern: Some(
                                            matcher::string_matcher::MatchPattern::Exact(t.clone()),
                                        ),
                                        ignore_case: false,
                                    })
                                    .collect(),
                                ..Default::default()
                            }),
                            disable_on_etag_header: g.disable_on_etag_header.unwrap_or(false),
                            remove_accept_encoding_header: g
                                .remove_accept_encoding_header
                                .unwrap_or(false),
                            ..Default::default()
                        },
                    ),
                    ..Default::default()
                },
            )
        }
        HttpFilter::Buffer { max_request_bytes } => filter(
            "envoy.filters.http.buffer",
            &buffer::Buffer {
                max_request_bytes: Some(u32_value(*max_request_bytes)),
            },
        ),
        HttpFilter::Rbac { allow, principals } => {
            use rbac_cfg::principal::Identifier as Id;
            let ids: Vec<rbac_cfg::Principal> = principals
                .iter()
                .map(|p| {
                    let range = core::CidrRange {
                        address_prefix: p.address.clone(),
                        prefix_len: Some(u32_value(u64::from(p.prefix_len))),
                    };
                    rbac_cfg::Principal {
                        identifier: Some(if p.peer {
                            Id::DirectRemoteIp(range)
                        } else {
                            Id::RemoteIp(range)
                        }),
                    }
                })
                .collect();
            let principal = if ids.len() == 1 {
                ids.into_iter().next().unwrap_or_default()
            } else {
                rbac_cfg::Principal {
                    identifier: Some(Id::OrIds(rbac_cfg::principal::Set { ids })),
                }
            };
            let (action, policy) = if *allow {
                (rbac_cfg::rbac::Action::Allow, "ambassador-ip-allow")
            } else {
                (rbac_cfg::rbac::Action::Deny, "ambassador-ip-deny")
            };
            let mut policies = std::collections::BTreeMap::new();
            policies.insert(
                policy.to_string(),
                rbac_cfg::Policy {
                    permissions: vec![rbac_cfg::Permission {
                        rule: Some(rbac_cfg::permission::Rule::Any(true)),
                    }],
                    principals: vec![principal],
                    ..Default::default()
                },
            );
            filter(
                "envoy.filters.http.rbac",
                &rbac::Rbac {
                    rules: Some(rbac_cfg::Rbac {
                        action: action as i32,
                        policies,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        }
        HttpFilter::Cors => filter("envoy.filters.http.cors", &cors::Cors::default()),
        HttpFilter::ExtAuthz(a) => filter(EXT_AUTHZ, &ext_authz_config(a)),
        HttpFilter::RateLimit(r) => filter(
            "envoy.filters.http.ratelimit",
            &ratelimit::RateLimit {
                domain: r.domain.clone(),
                request_type: "both".into(),
                timeout: Some(duration_ms(r.timeout_ms)),
                failure_mode_deny: r.failure_mode_deny,
                rate_limited_as_resource_exhausted: r.rate_limited_as_resource_exhausted,
                rate_limit_service: Some(
                    crate::pb::envoy::config::ratelimit::v3::RateLimitServiceConfig {
                        grpc_service: Some(grpc_service(&r.cluster, None)),
                        transport_api_version: core::ApiVersion::V3 as i32,
                    },
                ),
                ..Default::default()
            },
        ),
        HttpFilter::Router {
            suppress_envoy_headers,
            start_child_span,
        } => {
            // Deprecated in Envoy's API but still honoured; Emissary sets it with tracing.
            #[allow(deprecated)]
            let r = router::Router {
                suppress_envoy_headers: *suppress_envoy_headers,
                start_child_span: *start_child_span,
                ..Default::default()
            };
            filter("envoy.filters.http.router", &r)
        }
    }
}

fn ext_authz_config(a: &ir::ExtAuthz) -> ext_authz::ExtAuthz {
    let services = match a.proto {
        AuthProto::Grpc => ext_authz::ext_authz::Services::GrpcService(grpc_service(
            &a.cluster,
            Some(a.timeout_ms),
        )),
        AuthProto::Http => ext_authz::ext_authz::Services::HttpService(ext_authz::HttpService {
            server_uri: Some(core::HttpUri {
                uri: a.uri.clone(),
                timeout: Some(duration_ms(a.timeout_ms)),
                http_upstream_type: Some(core::http_uri::HttpUpstreamType::Cluster(
                    a.cluster.clone(),
                )),
            }),
            path_prefix: a.path_prefix.clone(),
            #[allow(deprecated)]
            authorization_request: Some(ext_authz::AuthorizationRequest {
                allowed_headers: None,
                headers_to_add: a
                    .add_auth_headers
                    .iter()
                    .map(|(k, v)| core::HeaderValue {
                        key: k.clone(),
                        value: v.clone(),
                        ..Default::default()
                    })
                    .collect(),
            }),
            authorization_response: Some(ext_authz::AuthorizationResponse {
                allowed_upstream_headers: exact_list(&a.allowed_authorization_headers),
                allowed_client_headers: exact_list(&a.allowed_authorization_headers),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    ext_authz::ExtAuthz {
        // Which request headers an HTTP service sees (a gRPC one gets them all).
        allowed_headers: (a.proto == AuthProto::Http)
            .then(|| exact_list(&a.allowed_request_headers))
            .flatten(),
        services: Some(services),
        transport_api_version: core::ApiVersion::V3 as i32,
        clear_route_cache: true,
        failure_mode_allow: a.failure_mode_allow,
        with_request_body: a.include_body.as_ref().map(|b| ext_authz::BufferSettings {
            max_request_bytes: u32::try_from(b.max_bytes).unwrap_or(u32::MAX),
            allow_partial_message: b.allow_partial,
            ..Default::default()
        }),
        status_on_error: a
            .status_on_error
            .map(|code| crate::pb::envoy::r#type::v3::HttpStatus { code: code as i32 }),
        ..Default::default()
    }
}

/// Per-route ext_authz settings: disabled, or context extensions.
pub(crate) fn ext_authz_per_route(
    disabled: bool,
    context: &[(String, String)],
) -> Option<crate::pb::Any> {
    use ext_authz::ext_authz_per_route::Override;
    let o = if disabled {
        Override::Disabled(true)
    } else if context.is_empty() {
        return None;
    } else {
        Override::CheckSettings(ext_authz::CheckSettings {
            context_extensions: context.iter().cloned().collect(),
            ..Default::default()
        })
    };
    Some(any(&ext_authz::ExtAuthzPerRoute {
        r#override: Some(o),
    }))
}

/// A route's rate-limit descriptors as Envoy `RateLimit`s.
pub(crate) fn rate_limits(groups: &[Vec<LabelAction>]) -> Vec<rt::RateLimit> {
    use rt::rate_limit::action::{self, ActionSpecifier as A};
    groups
        .iter()
        .map(|g| rt::RateLimit {
            actions: g
                .iter()
                .map(|a| rt::rate_limit::Action {
                    action_specifier: Some(match a {
                        LabelAction::SourceCluster => A::SourceCluster(action::SourceCluster {}),
                        LabelAction::DestinationCluster => {
                            A::DestinationCluster(action::DestinationCluster {})
                        }
                        LabelAction::RemoteAddress => A::RemoteAddress(action::RemoteAddress {}),
                        LabelAction::GenericKey { key, value } => {
                            A::GenericKey(action::GenericKey {
                                descriptor_key: key.clone().unwrap_or_else(|| "generic_key".into()),
                                descriptor_value: value.clone(),
                                ..Default::default()
                            })
                        }
                        LabelAction::RequestHeaders { key, header_name } => {
                            A::RequestHeaders(action::RequestHeaders {
                                descriptor_key: key.clone(),
                                header_name: header_name.clone(),
                                ..Default::default()
                            })
                        }
                    }),
                })
                .collect(),
            ..Default::default()
        })
        .collect()
}
