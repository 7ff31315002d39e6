//! IR routes → Envoy `RouteConfiguration`s, one per HTTP filter chain.

use super::{any, duration_ms};
use crate::ir::{self, Action, Matcher, PathMatch, RouteAction, StringMatch};
use crate::ir::{ALT_SVC, HeaderAdd};
use crate::pb::envoy::config::core::v3 as core;
use crate::pb::envoy::config::route::v3 as rt;
use crate::pb::envoy::r#type::matcher::v3 as matcher;
use crate::pb::envoy::r#type::v3 as ty;

/// Builds Envoy routes from IR route variants.
pub(crate) struct Routes<'a> {
    ir: &'a ir::Ir,
    /// An ext_authz filter is installed: routes carry its per-route settings.
    ext_authz: bool,
    /// Route configurations are built without their routes (see
    /// `super::skeleton`).
    skeleton: bool,
}

impl<'a> Routes<'a> {
    /// Builds the routes of `ir`.
    pub(crate) fn new(ir: &'a ir::Ir) -> Self {
        let ext_authz = ir
            .filters
            .iter()
            .any(|f| matches!(f, ir::HttpFilter::ExtAuthz(_)));
        Routes {
            ir,
            ext_authz,
            skeleton: false,
        }
    }

    pub(crate) fn skeleton(mut self) -> Self {
        self.skeleton = true;
        self
    }

    /// Whether routes carry ext_authz settings. Besides the IR route and the
    /// variant, this is all a route depends on.
    pub(crate) fn ext_authz(&self) -> bool {
        self.ext_authz
    }

    /// The Envoy route of one IR route variant.
    pub(crate) fn get(&self, r: &ir::RouteRef) -> rt::Route {
        let route = &self.ir.routes[r.route as usize];
        let mut out = build(route, r.matcher, r.action);
        if self.ext_authz {
            // Redirects happen before authorization (Emissary's rule).
            let disabled = route.bypass_auth || r.action == Action::HttpsRedirect;
            if let Some(per) = super::filters::ext_authz_per_route(disabled, &route.auth_context) {
                out.typed_per_filter_config
                    .insert(super::filters::EXT_AUTHZ.into(), per);
            }
        }
        if !route.rate_limits.is_empty()
            && let Some(rt::route::Action::Route(ra)) = &mut out.action
        {
            ra.rate_limits = super::filters::rate_limits(&route.rate_limits);
        }
        out
    }

    /// A RouteConfiguration for the virtual hosts of one chain.
    pub(crate) fn config(&self, name: &str, vhosts: &[ir::VirtualHost]) -> rt::RouteConfiguration {
        rt::RouteConfiguration {
            name: name.to_string(),
            virtual_hosts: vhosts
                .iter()
                .map(|vh| rt::VirtualHost {
                    name: vh.name.clone(),
                    domains: vh.domains.clone(),
                    routes: if self.skeleton {
                        Vec::new()
                    } else {
                        vh.routes.iter().map(|r| self.get(r)).collect()
                    },
                    response_headers_to_add: if vh.alt_svc { alt_svc() } else { Vec::new() },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }
}

fn alt_svc() -> Vec<core::HeaderValueOption> {
    vec![core::HeaderValueOption {
        header: Some(core::HeaderValue {
            key: "alt-svc".into(),
            value: ALT_SVC.into(),
            ..Default::default()
        }),
        ..Default::default()
    }]
}

fn string_matcher(m: &StringMatch) -> Option<matcher::StringMatcher> {
    use matcher::string_matcher::MatchPattern as P;
    let p = match m {
        StringMatch::Exact(v) => P::Exact(v.clone()),
        StringMatch::Prefix(v) => P::Prefix(v.clone()),
        StringMatch::Suffix(v) => P::Suffix(v.clone()),
        StringMatch::Regex(v) => P::SafeRegex(regex(v)),
        StringMatch::Present => return None,
    };
    Some(matcher::StringMatcher {
        match_pattern: Some(p),
        ignore_case: false,
    })
}

pub(crate) fn regex(r: &str) -> matcher::RegexMatcher {
    // The RE2 program-size limit comes from the bootstrap runtime (`re2.max_program_size.*`).
    matcher::RegexMatcher {
        regex: r.to_string(),
        ..Default::default()
    }
}

fn header_matcher(name: &str, m: &StringMatch) -> rt::HeaderMatcher {
    use rt::header_matcher::HeaderMatchSpecifier as H;
    let spec = match string_matcher(m) {
        Some(sm) => H::StringMatch(sm),
        None => H::PresentMatch(true),
    };
    rt::HeaderMatcher {
        name: name.to_string(),
        header_match_specifier: Some(spec),
        ..Default::default()
    }
}

fn header_adds(adds: &[HeaderAdd]) -> Vec<core::HeaderValueOption> {
    adds.iter()
        .map(|h| core::HeaderValueOption {
            header: Some(core::HeaderValue {
                key: h.name.clone(),
                value: h.value.clone(),
                ..Default::default()
            }),
            append_action: if h.append {
                core::header_value_option::HeaderAppendAction::AppendIfExistsOrAdd as i32
            } else {
                core::header_value_option::HeaderAppendAction::OverwriteIfExistsOrAdd as i32
            },
            ..Default::default()
        })
        .collect()
}

fn build(r: &ir::Route, m: Matcher, action: Action) -> rt::Route {
    use rt::route_match::PathSpecifier as P;
    let path = match &r.path {
        PathMatch::Prefix(p) => P::Prefix(p.clone()),
        PathMatch::Exact(p) => P::Path(p.clone()),
        PathMatch::Regex(p) => P::SafeRegex(regex(p)),
    };
    let mut headers: Vec<rt::HeaderMatcher> = r
        .headers
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("x-forwarded-proto") || m == Matcher::Always)
        .map(|h| header_matcher(&h.name, &h.matcher))
        .collect();
    if m == Matcher::XfpHttps {
        headers.push(header_matcher(
            "x-forwarded-proto",
            &StringMatch::Exact("https".into()),
        ));
    }
    let query_parameters = r
        .query_parameters
        .iter()
        .map(|q| {
            use rt::query_parameter_matcher::QueryParameterMatchSpecifier as Q;
            rt::QueryParameterMatcher {
                name: q.name.clone(),
                query_parameter_match_specifier: Some(match string_matcher(&q.matcher) {
                    Some(sm) => Q::StringMatch(sm),
                    None => Q::PresentMatch(true),
                }),
            }
        })
        .collect();
    let runtime_fraction =
        r.runtime_fraction
            .as_ref()
            .map(|(n, key)| core::RuntimeFractionalPercent {
                default_value: Some(ty::FractionalPercent {
                    numerator: *n,
                    denominator: ty::fractional_percent::DenominatorType::Hundred as i32,
                }),
                runtime_key: key.clone(),
            });
    let route_match = rt::RouteMatch {
        path_specifier: Some(path),
        case_sensitive: (!r.case_sensitive).then_some(pbjson_types::BoolValue { value: false }),
        headers,
        query_parameters,
        runtime_fraction,
        ..Default::default()
    };
    let mut out = rt::Route {
        r#match: Some(route_match),
        ..Default::default()
    };
    if action == Action::HttpsRedirect {
        out.action = Some(rt::route::Action::Redirect(rt::RedirectAction {
            scheme_rewrite_specifier: Some(
                rt::redirect_action::SchemeRewriteSpecifier::HttpsRedirect(true),
            ),
            ..Default::default()
        }));
        return out;
    }
    out.request_headers_to_add = header_adds(&r.request_headers_to_add);
    out.response_headers_to_add = header_adds(&r.response_headers_to_add);
    out.request_headers_to_remove = r.request_headers_to_remove.clone();
    out.response_headers_to_remove = r.response_headers_to_remove.clone();
    match &r.action {
        RouteAction::Redirect(hr) => {
            use rt::redirect_action::PathRewriteSpecifier as PR;
            let path_rewrite_specifier = if let Some(p) = &hr.path_redirect {
                Some(PR::PathRedirect(p.clone()))
            } else if let Some(p) = &hr.prefix_redirect {
                Some(PR::PrefixRewrite(p.clone()))
            } else {
                hr.regex_redirect.as_ref().map(|(p, s)| {
                    PR::RegexRewrite(matcher::RegexMatchAndSubstitute {
                        pattern: Some(regex(p)),
                        substitution: s.clone(),
                    })
                })
            };
            use rt::redirect_action::RedirectResponseCode as C;
            let response_code = match hr.response_code {
                Some(302) => C::Found,
                Some(303) => C::SeeOther,
                Some(307) => C::TemporaryRedirect,
                Some(308) => C::PermanentRedirect,
                _ => C::MovedPermanently,
            } as i32;
            out.action = Some(rt::route::Action::Redirect(rt::RedirectAction {
                host_redirect: hr.host.clone(),
                path_rewrite_specifier,
                response_code,
                ..Default::default()
            }));
        }
        RouteAction::Forward(f) => {
            let mut ra = rt::RouteAction {
                cluster_specifier: Some(rt::route_action::ClusterSpecifier::Cluster(
                    f.cluster.clone(),
                )),
                timeout: Some(duration_ms(f.timeout_ms)),
                idle_timeout: f.idle_timeout_ms.map(duration_ms),
                prefix_rewrite: f.prefix_rewrite.clone().unwrap_or_default(),
                regex_rewrite: f.regex_rewrite.as_ref().map(|(p, s)| {
                    matcher::RegexMatchAndSubstitute {
                        pattern: Some(regex(p)),
                        substitution: s.clone(),
                    }
                }),
                priority: if f.priority_high {
                    core::RoutingPriority::High as i32
                } else {
                    0
                },
                upgrade_configs: f
                    .upgrades
                    .iter()
                    .map(|u| rt::route_action::UpgradeConfig {
                        upgrade_type: u.clone(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            if let Some(h) = &f.host_rewrite {
                ra.host_rewrite_specifier = Some(
                    rt::route_action::HostRewriteSpecifier::HostRewriteLiteral(h.clone()),
                );
            } else if let Some(a) = f.auto_host_rewrite {
                ra.host_rewrite_specifier =
                    Some(rt::route_action::HostRewriteSpecifier::AutoHostRewrite(
                        pbjson_types::BoolValue { value: a },
                    ));
            }
            if let Some(rp) = &f.retry_policy {
                ra.retry_policy = Some(rt::RetryPolicy {
                    retry_on: rp.retry_on.clone().unwrap_or_default(),
                    num_retries: rp.num_retries.map(super::u32_value),
                    per_try_timeout: rp
                        .per_try_timeout
                        .as_deref()
                        .and_then(super::parse_duration),
                    ..Default::default()
                });
            }
            if let Some(h) = &f.hash_policy {
                ra.hash_policy = vec![hash_policy(h)];
            }
            if let Some((cluster, pct)) = &f.mirror {
                ra.request_mirror_policies = vec![rt::route_action::RequestMirrorPolicy {
                    cluster: cluster.clone(),
                    runtime_fraction: (*pct < 100).then(|| core::RuntimeFractionalPercent {
                        default_value: Some(ty::FractionalPercent {
                            numerator: *pct,
                            denominator: ty::fractional_percent::DenominatorType::Hundred as i32,
                        }),
                        runtime_key: String::new(),
                    }),
                    ..Default::default()
                }];
            }
            if let Some(c) = &f.cors {
                use crate::pb::envoy::extensions::filters::http::cors::v3 as cors;
                let policy = cors::CorsPolicy {
                    allow_origin_string_match: c
                        .origins
                        .iter()
                        .map(|o| matcher::StringMatcher {
                            match_pattern: Some(matcher::string_matcher::MatchPattern::Exact(
                                o.clone(),
                            )),
                            ignore_case: false,
                        })
                        .collect(),
                    allow_methods: c.methods.join(","),
                    allow_headers: c.headers.join(","),
                    expose_headers: c.exposed_headers.join(","),
                    max_age: c.max_age.clone().unwrap_or_default(),
                    allow_credentials: c.credentials.map(|v| pbjson_types::BoolValue { value: v }),
                    ..Default::default()
                };
                out.typed_per_filter_config
                    .insert("envoy.filters.http.cors".into(), any(&policy));
            }
            out.action = Some(rt::route::Action::Route(Box::new(ra)));
        }
    }
    out
}

/// A ring_hash / maglev route's hash policy.
fn hash_policy(h: &crate::ir::HashOn) -> rt::route_action::HashPolicy {
    use crate::ir::HashOn;
    use rt::route_action::hash_policy as hp;
    let spec = match h {
        HashOn::Header(name) => hp::PolicySpecifier::Header(hp::Header {
            header_name: name.clone(),
            ..Default::default()
        }),
        HashOn::Cookie { name, path, ttl } => hp::PolicySpecifier::Cookie(hp::Cookie {
            name: name.clone(),
            path: path.clone().unwrap_or_default(),
            ttl: ttl.as_deref().and_then(super::parse_duration),
            ..Default::default()
        }),
        HashOn::SourceIp => {
            hp::PolicySpecifier::ConnectionProperties(hp::ConnectionProperties { source_ip: true })
        }
    };
    rt::route_action::HashPolicy {
        policy_specifier: Some(spec),
        ..Default::default()
    }
}
