//! Which Mapping serves a request, and why the routes before it did not.
//!
//! [`explain`] replays Envoy's request matching on the IR, step by step, as
//! Envoy would run the configuration that [`crate::xds`] builds from it:
//!
//! 1. the **listener** by port (the request's `port`, else the URL's port,
//!    else the first listener with a chain of the right kind, preferring 443
//!    and 8443 for `https`, 80 and 8080 for `http`);
//! 2. the **filter chain** as Envoy's filter chain match does: SNI exact, then
//!    the longest `*.suffix` wildcard, then chains without server names; then
//!    the transport protocol (`tls` for `https`, raw for `http`), without
//!    backtracking;
//! 3. `x-forwarded-proto` as Envoy's connection manager sets it: overwritten
//!    with the connection's scheme when `use_remote_address` is on and no hop
//!    is trusted (`l7Depth` 0), kept from the request otherwise (set when
//!    absent);
//! 4. the **virtual host** by the `Host` header (lowercased; its port kept
//!    unless `strip_matching_host_port` removes the listener's own): exact
//!    domain, then the longest `*.suffix`, then the longest `prefix.*`, then
//!    `*`;
//! 5. the **routes** in order: path (prefix, exact, or a full-match regex on
//!    the path without query; prefix and exact honour `case_sensitive`), then
//!    header matchers (pseudo-headers `:method`, `:authority`, `:path`,
//!    `:scheme` included; repeated headers joined with `,`), then query
//!    parameters (first value, percent-decoded), then the runtime fraction.
//!    Canary routes split traffic: every value of Envoy's per-request random
//!    number (0–99) is played, so the answer lists each target with its share.
//!
//! Paths are normalized as the connection manager does (`normalize_path`:
//! `.`/`..` segments; `merge_slashes` when the Module asks). The upstream path
//! applies `prefix_rewrite` (the matched prefix, or the whole path for exact
//! and regex routes) or `regex_rewrite` (every match), keeping the query.
//!
//! The request is given as [`Request`]: `method`, an absolute `url`
//! (`https://foo.example.com/api/x?q=1`), `headers` (`Host` overrides the
//! URL's authority), and optionally the listener `port` and the TLS `sni`
//! (defaults: the URL's port, and its host for `https`). [`Request::parse`]
//! reads the CLI's one-line form `GET https://foo.example.com/api/x`.

mod matching;
mod render;
mod request;

pub use render::render;
pub use request::{Header, Request};

use crate::diag::ObjectRef;
use crate::ir::{self, ChainKind};
use matching::{
    conditions, host_for_matching, pick_chain, pick_listener, pick_vhost, static_match, target,
};
use request::{parse_url, seen};
use serde::Serialize;
use std::collections::BTreeMap;

/// The request as Envoy's router sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Seen {
    pub method: String,
    pub scheme: String,
    pub authority: String,
    /// Normalized path, without the query.
    pub path: String,
    /// The query string without `?`, or empty.
    pub query: String,
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Lowercased names; repeated headers joined with `,`. Includes the
    /// pseudo-headers and `x-forwarded-proto`.
    pub headers: BTreeMap<String, String>,
}

/// What happens to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Forwarded upstream (possibly to several weighted targets).
    Forwarded,
    /// Answered with a redirect.
    Redirected,
    /// Proxied as TCP (a TCPMapping owns the chain).
    Tcp,
    /// Some shares of traffic find no route (404) while others do.
    Partial,
    NoListener,
    NoFilterChain,
    /// A TLS client reaches a cleartext HTTP chain: its handshake fails
    /// (Envoy answers the ClientHello with a cleartext 400).
    TlsNotTerminated,
    NoVirtualHost,
    /// Envoy answers 404.
    NoRoute,
    /// The request itself could not be read.
    BadRequest,
}

/// The answer of [`explain`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    pub outcome: Outcome,
    pub request: Seen,
    /// Envoy listener name (`listener-8443`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,
    /// Filter chain name (`http`, `https-<host>`, `tcp-<ns>-<name>`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// The virtual host (its domain).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_host: Option<String>,
    /// The Host object behind the virtual host.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<ObjectRef>,
    /// Index (in the virtual host) of the route of the main target.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<u32>,
    /// The Mapping of the main target (the largest share; the first on ties).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<ObjectRef>,
    /// The main target's upstream (`service:port`) or redirect location.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The main target's upstream path (with the query).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_path: Option<String>,
    /// Every target with its share of the traffic, in route order.
    pub targets: Vec<Target>,
    /// Every route checked, in order, up to the last one that takes traffic.
    pub routes: Vec<RouteCheck>,
    /// The steps, in words.
    pub why: Vec<String>,
}

/// One place the request can go.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Share of the requests like this one, in percent.
    pub weight: u32,
    /// Route index in the virtual host (absent for TCP).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<u32>,
    pub mapping: ObjectRef,
    /// `forward`, `redirect`, `https-redirect` or `tcp`.
    pub action: String,
    /// Envoy cluster name (forward and TCP).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// `host:port` upstream, or the redirect's `Location`.
    pub target: String,
    /// The path sent upstream (forward only), with the query.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_path: Option<String>,
    /// Whether the upstream connection uses TLS.
    pub upstream_tls: bool,
    /// Redirects: the status Envoy answers with.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Forward: the `Host` header the upstream sees, when the route rewrites it.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_rewrite: Option<String>,
    /// Forward: request headers the route removes, then those it sets
    /// (empty otherwise).
    pub request_headers_removed: Vec<String>,
    pub request_headers_added: Vec<HeaderEdit>,
    /// Forward: response headers the route removes, then those it sets
    /// (empty otherwise).
    pub response_headers_removed: Vec<String>,
    pub response_headers_added: Vec<HeaderEdit>,
}

/// A header a route sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HeaderEdit {
    pub name: String,
    pub value: String,
    /// Added beside a value already there (else it replaces it).
    pub append: bool,
}

/// One route checked against the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RouteCheck {
    pub index: u32,
    pub mapping: ObjectRef,
    /// The route's conditions, in words (`prefix /api/, header x-forwarded-proto = https`).
    pub conditions: String,
    /// Share of the requests that this route takes, in percent.
    pub weight: u32,
    /// Why it does not take (all of) the request; absent when it takes it all.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Explains which route of `ir` serves `req`. Total: a request that cannot
/// be read gives [`Outcome::BadRequest`].
pub fn explain(ir: &ir::Ir, req: &Request) -> Explanation {
    let mut why = Vec::new();
    let ex = |outcome, request: Seen, why: Vec<String>| Explanation {
        outcome,
        request,
        listener: None,
        chain: None,
        virtual_host: None,
        host: None,
        route: None,
        mapping: None,
        target: None,
        upstream_path: None,
        targets: Vec::new(),
        routes: Vec::new(),
        why,
    };
    let url = match parse_url(req) {
        Ok(u) => u,
        Err(e) => {
            why.push(e);
            return ex(Outcome::BadRequest, Seen::default(), why);
        }
    };
    let tls = url.scheme == "https";

    // 1. Listener.
    let Some((listener, lwhy)) = pick_listener(ir, req.port.or(url.port), tls) else {
        let port = req.port.or(url.port);
        why.push(match port {
            Some(p) => format!("no listener on port {p}"),
            None => format!("no listener has a {} filter chain", url.scheme),
        });
        return ex(Outcome::NoListener, seen(&url, req, ir), why);
    };
    why.push(format!("listener {}: {lwhy}", listener.name));

    // 2. Filter chain.
    let sni = req
        .sni
        .clone()
        .or_else(|| tls.then(|| url.host.clone()))
        .map(|s| s.to_ascii_lowercase());
    let mut out = {
        let s = seen(&url, req, ir);
        ex(Outcome::NoFilterChain, s, Vec::new())
    };
    out.request.sni = sni.clone();
    out.listener = Some(listener.name.clone());
    let Some((chain, cwhy)) = pick_chain(&listener.chains, sni.as_deref(), tls) else {
        why.push(format!(
            "no filter chain of {} accepts a {} connection{}",
            listener.name,
            if tls { "TLS" } else { "cleartext" },
            sni.as_deref()
                .map(|s| format!(" with SNI {s}"))
                .unwrap_or_default()
        ));
        out.why = why;
        return out;
    };
    why.push(format!("filter chain {}: {cwhy}", chain.name));
    out.chain = Some(chain.name.clone());

    let vhosts = match &chain.kind {
        ChainKind::Tcp { targets, .. } => {
            out.outcome = Outcome::Tcp;
            for (cluster, weight) in targets {
                let c = ir.clusters.get(cluster);
                out.targets.push(Target {
                    weight: *weight,
                    route: None,
                    mapping: listener.sources.last().cloned().unwrap_or_default(),
                    action: "tcp".into(),
                    cluster: Some(cluster.clone()),
                    target: c
                        .map(|c| format!("{}:{}", c.host, c.port))
                        .unwrap_or_default(),
                    upstream_path: None,
                    upstream_tls: c.is_some_and(|c| c.tls.is_some()),
                    ..Target::default()
                });
            }
            if let Some(src) = listener.sources.iter().find(|s| {
                chain.name == format!("tcp-{}-{}", s.namespace, s.name) && s.kind == "TCPMapping"
            }) {
                for t in &mut out.targets {
                    t.mapping = src.clone();
                }
            }
            why.push("the chain proxies TCP: no HTTP routing happens".into());
            out.why = why;
            summarize(&mut out);
            return out;
        }
        ChainKind::Http { .. } if tls && chain.tls.is_none() => {
            out.outcome = Outcome::TlsNotTerminated;
            why.push(format!(
                "the chain terminates no TLS: its HTTP codec reads the TLS handshake as a malformed request and Envoy answers 400 in cleartext, so the client's handshake fails{}",
                sni.as_deref()
                    .map(|s| format!(" (no chain terminates TLS for SNI {s})"))
                    .unwrap_or_default()
            ));
            out.why = why;
            return out;
        }
        ChainKind::Http { vhosts, .. } => vhosts,
    };

    // 3. x-forwarded-proto, as the connection manager sets it.
    let given = out.request.headers.get("x-forwarded-proto").cloned();
    let xfp = if ir.http.use_remote_address && listener.xff_num_trusted_hops == 0 {
        if given.as_deref().is_some_and(|g| g != url.scheme) {
            why.push(format!(
                "x-forwarded-proto: {} (the request's `{}` is replaced: use_remote_address is on and no hop is trusted)",
                url.scheme,
                given.as_deref().unwrap_or_default()
            ));
        }
        url.scheme.clone()
    } else {
        given.unwrap_or_else(|| url.scheme.clone())
    };
    out.request
        .headers
        .insert("x-forwarded-proto".into(), xfp.clone());

    // 4. Virtual host.
    let authority = host_for_matching(&out.request.authority, listener.port, ir);
    let Some((vh, vwhy)) = pick_vhost(vhosts, &authority) else {
        why.push(format!(
            "no virtual host of {} has a domain matching `{authority}`",
            chain.name
        ));
        out.outcome = Outcome::NoVirtualHost;
        out.why = why;
        return out;
    };
    why.push(format!(
        "virtual host {} ({}/{}): {vwhy}",
        vh.name, vh.host.namespace, vh.host.name
    ));
    out.virtual_host = Some(vh.name.clone());
    out.host = Some(vh.host.clone());

    // 5. Routes.
    let checks: Vec<Result<(), String>> = vh
        .routes
        .iter()
        .map(|r| static_match(&ir.routes[r.route as usize], r.matcher, &out.request))
        .collect();
    let mut shares = vec![0u32; vh.routes.len()];
    let mut unrouted = 0u32;
    for random in 0..100u32 {
        let hit = vh.routes.iter().enumerate().position(|(i, r)| {
            checks[i].is_ok()
                && ir.routes[r.route as usize]
                    .runtime_fraction
                    .as_ref()
                    .is_none_or(|(n, _)| random < *n)
        });
        match hit {
            Some(i) => shares[i] += 1,
            None => unrouted += 1,
        }
    }
    let last = shares.iter().rposition(|s| *s > 0);
    let upto = match last {
        Some(l) if unrouted == 0 => l + 1,
        _ => vh.routes.len(),
    };
    for (i, r) in vh.routes.iter().enumerate().take(upto) {
        let route = &ir.routes[r.route as usize];
        let reason = match (&checks[i], shares[i]) {
            (Err(e), _) => Some(e.clone()),
            (Ok(()), 100) => None,
            (Ok(()), s) => Some(match &route.runtime_fraction {
                Some((n, _)) if s > 0 => format!(
                    "takes {s}% (runtime fraction {n}/100, less what earlier routes take); the rest goes on"
                ),
                Some((n, _)) => {
                    format!("its runtime fraction {n}/100 is already taken by earlier routes")
                }
                None => format!("takes the {s}% that earlier routes leave"),
            }),
        };
        out.routes.push(RouteCheck {
            index: i as u32,
            mapping: route.source.clone(),
            conditions: conditions(route, r.matcher),
            weight: shares[i],
            reason,
        });
        if shares[i] > 0 {
            out.targets
                .push(target(ir, route, r, shares[i], i as u32, &out.request));
        }
    }
    // The virtual host's own response headers follow the route's.
    if vh.alt_svc {
        for t in out.targets.iter_mut().filter(|t| t.action == "forward") {
            t.response_headers_added.push(HeaderEdit {
                name: "alt-svc".into(),
                value: ir::ALT_SVC.into(),
                append: true,
            });
        }
    }
    for c in &out.routes {
        match &c.reason {
            Some(r) => why.push(format!("route {} ({}): {r}", c.index, c.mapping)),
            None => why.push(format!(
                "route {} ({}) matches: {}",
                c.index, c.mapping, c.conditions
            )),
        }
    }
    if unrouted > 0 {
        why.push(if unrouted == 100 {
            "no route matches: Envoy answers 404".to_string()
        } else {
            format!("{unrouted}% of such requests match no route: Envoy answers 404")
        });
    }
    out.outcome = match (out.targets.is_empty(), unrouted) {
        (true, _) => Outcome::NoRoute,
        (false, 0) if out.targets.iter().all(|t| t.action == "forward") => Outcome::Forwarded,
        (false, 0) if out.targets.iter().all(|t| t.action != "forward") => Outcome::Redirected,
        (false, 0) => Outcome::Forwarded,
        (false, _) => Outcome::Partial,
    };
    out.why = why;
    summarize(&mut out);
    out
}

/// Copies the main target (largest share, first on ties) to the top level.
fn summarize(out: &mut Explanation) {
    let mut best: Option<&Target> = None;
    for t in &out.targets {
        if best.is_none_or(|b| t.weight > b.weight) {
            best = Some(t);
        }
    }
    if let Some(b) = best.cloned() {
        out.route = b.route;
        out.mapping = Some(b.mapping);
        out.target = Some(b.target);
        out.upstream_path = b.upstream_path;
    }
}
