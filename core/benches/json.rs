//! JSON rendering benchmark: a RouteConfiguration of 20,000 routes (100
//! virtual hosts of 200 routes; each route has a prefix match, a header
//! match, a runtime fraction, and a route action with cluster, prefix
//! rewrite and timeout), rendered with `pb::json::write`. Run with
//! `cargo bench -p emissary-core --bench json`; prints the best and median
//! of several runs.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::time::{Duration, Instant};

use emissary_core::pb::envoy::config::core::v3::RuntimeFractionalPercent;
use emissary_core::pb::envoy::config::route::v3::{
    HeaderMatcher, Route, RouteAction, RouteConfiguration, RouteMatch, VirtualHost,
    header_matcher::HeaderMatchSpecifier, route::Action, route_action::ClusterSpecifier,
    route_match::PathSpecifier,
};
use emissary_core::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher::MatchPattern};
use emissary_core::pb::envoy::r#type::v3::{FractionalPercent, fractional_percent};
use emissary_core::pb::google::protobuf;
use emissary_core::pb::json;
use prost::Message;

fn route(vh: usize, i: usize) -> Route {
    Route {
        name: format!("route-{vh}-{i}"),
        r#match: Some(RouteMatch {
            path_specifier: Some(PathSpecifier::Prefix(format!("/svc-{vh}-{i}/"))),
            headers: vec![HeaderMatcher {
                name: "x-canary".into(),
                header_match_specifier: Some(HeaderMatchSpecifier::StringMatch(StringMatcher {
                    match_pattern: Some(MatchPattern::Exact(format!("v{i}"))),
                    ignore_case: false,
                })),
                ..Default::default()
            }],
            runtime_fraction: Some(RuntimeFractionalPercent {
                default_value: Some(FractionalPercent {
                    numerator: 50,
                    denominator: fractional_percent::DenominatorType::Hundred as i32,
                }),
                runtime_key: format!("routing.traffic_shift.svc-{vh}-{i}"),
            }),
            ..Default::default()
        }),
        action: Some(Action::Route(Box::new(RouteAction {
            cluster_specifier: Some(ClusterSpecifier::Cluster(format!(
                "cluster_svc_{vh}_{i}_default"
            ))),
            prefix_rewrite: "/".into(),
            timeout: Some(protobuf::Duration {
                seconds: 3,
                nanos: 250_000_000,
            }),
            ..Default::default()
        }))),
        ..Default::default()
    }
}

fn route_configuration() -> RouteConfiguration {
    RouteConfiguration {
        name: "ingress_http".into(),
        virtual_hosts: (0..100)
            .map(|vh| VirtualHost {
                name: format!("vh-{vh}"),
                domains: vec![format!("host-{vh}.example.com")],
                routes: (0..200).map(|i| route(vh, i)).collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        last = Some(out);
    }
    times.sort();
    (times[0], times[runs / 2], last.expect("runs > 0"))
}

fn main() {
    let (best, median, rc) = time(5, route_configuration);
    println!("build RouteConfiguration (20,000 routes): best {best:?}, median {median:?}");
    let (best, median, bytes) = time(15, || {
        let mut out = Vec::with_capacity(8 << 20);
        json::write(&rc, &mut out).expect("render");
        out
    });
    println!(
        "json::write ({} bytes): best {best:?}, median {median:?}",
        bytes.len()
    );
    let (best, median, _) = time(5, || json::to_value(&rc).expect("render"));
    println!("json::to_value: best {best:?}, median {median:?}");
    let (best, median, encoded) = time(15, || rc.encode_to_vec());
    println!(
        "protobuf encode ({} bytes): best {best:?}, median {median:?}",
        encoded.len()
    );
    let text = String::from_utf8(bytes).expect("utf-8");
    let (best, median, back) = time(5, || {
        json::from_str::<RouteConfiguration>(&text).expect("parse")
    });
    assert!(back == rc, "JSON round trip");
    println!("json::from_str: best {best:?}, median {median:?}");
}
