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

use crate::diag::ObjectRef;
use crate::ir::{self, Action, ChainKind, Matcher, PathMatch, RouteAction, StringMatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A request to explain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "ExplainRequest"))]
#[serde(rename_all = "camelCase", default)]
pub struct Request {
    /// `GET` when empty.
    pub method: String,
    /// `scheme://authority/path?query`; a bare `/path` means `http` with the
    /// authority from the `Host` header.
    pub url: String,
    pub headers: Vec<Header>,
    /// The listener port the request arrives on (default: the URL's port).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// TLS server name (default: the URL's host for `https`, none for `http`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: "GET".into(),
            url: "/".into(),
            headers: Vec::new(),
            port: None,
            sni: None,
        }
    }
}

/// One request header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Request {
    /// Reads `METHOD URL` or `URL` and `name: value` header lines.
    pub fn parse(line: &str, headers: &[&str]) -> Request {
        let mut words = line.split_whitespace();
        let (method, url) = match (words.next(), words.next()) {
            (Some(m), Some(u)) => (m.to_ascii_uppercase(), u.to_string()),
            (Some(u), None) => ("GET".to_string(), u.to_string()),
            _ => ("GET".to_string(), "/".to_string()),
        };
        let headers = headers
            .iter()
            .map(|h| {
                let (n, v) = h.split_once(':').unwrap_or((h, ""));
                Header {
                    name: n.trim().to_string(),
                    value: v.trim().to_string(),
                }
            })
            .collect();
        Request {
            method,
            url,
            headers,
            port: None,
            sni: None,
        }
    }
}

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

struct Url {
    scheme: String,
    host: String,
    port: Option<u16>,
    authority: String,
    path: String,
    query: String,
}

fn parse_url(req: &Request) -> Result<Url, String> {
    let host_header = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host") || h.name == ":authority")
        .map(|h| h.value.trim().to_string());
    let (scheme, rest) = match req.url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None if req.url.starts_with('/') => ("http".to_string(), req.url.as_str()),
        None => {
            return Err(format!(
                "`{}` is neither an absolute URL (`https://host/path`) nor a path",
                req.url
            ));
        }
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("scheme `{scheme}` is not http or https"));
    }
    let (url_authority, path_query) = match rest.find('/') {
        _ if rest.starts_with('/') => ("", rest),
        Some(i) => (&rest[..i], &rest[i..]),
        None => match rest.find('?') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let path_query = path_query.split('#').next().unwrap_or_default();
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_query, ""),
    };
    let (url_host, url_port) = split_port(url_authority)?;
    let authority = host_header.unwrap_or_else(|| url_authority.to_string());
    if authority.is_empty() {
        return Err("the request has no authority: give an absolute URL or a `Host` header".into());
    }
    let host = if url_host.is_empty() {
        split_port(&authority)?.0
    } else {
        url_host
    };
    Ok(Url {
        scheme,
        host,
        port: url_port,
        authority,
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        query: query.into(),
    })
}

fn split_port(authority: &str) -> Result<(String, Option<u16>), String> {
    // `[v6]:port`, `host:port`, `host`.
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (format!("[{h}]"), p.strip_prefix(':')),
            None => return Err(format!("bad authority `{authority}`")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("bad port in `{authority}`"))?,
        ),
        None => None,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// The headers as the router sees them.
fn seen(url: &Url, req: &Request, ir: &ir::Ir) -> Seen {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for h in &req.headers {
        let name = h.name.trim().to_ascii_lowercase();
        if name == "host" || name.starts_with(':') {
            continue;
        }
        headers
            .entry(name)
            .and_modify(|v| {
                v.push(',');
                v.push_str(&h.value);
            })
            .or_insert_with(|| h.value.clone());
    }
    let method = if req.method.is_empty() {
        "GET".to_string()
    } else {
        req.method.to_ascii_uppercase()
    };
    let path = normalize_path(&url.path, ir.http.merge_slashes);
    let full = if url.query.is_empty() {
        path.clone()
    } else {
        format!("{path}?{}", url.query)
    };
    headers.insert(":method".into(), method.clone());
    headers.insert(":authority".into(), url.authority.clone());
    headers.insert(":path".into(), full);
    headers.insert(":scheme".into(), url.scheme.clone());
    Seen {
        method,
        scheme: url.scheme.clone(),
        authority: url.authority.clone(),
        path,
        query: url.query.clone(),
        sni: None,
        headers,
    }
}

/// RFC 3986 dot-segment removal (Envoy's `normalize_path`), and `//` → `/`
/// when `merge_slashes` is set.
fn normalize_path(path: &str, merge_slashes: bool) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let n = segments.len();
    for (i, s) in segments.into_iter().enumerate() {
        let last = i + 1 == n;
        match s {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            "" if merge_slashes && !last => {}
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

fn pick_listener(ir: &ir::Ir, port: Option<u16>, tls: bool) -> Option<(&ir::Listener, String)> {
    if let Some(p) = port {
        return ir
            .listeners
            .iter()
            .find(|l| l.port == p)
            .map(|l| (l, format!("port {p}")));
    }
    let fits = |l: &ir::Listener| {
        l.chains.iter().any(|c| match &c.kind {
            ChainKind::Http { .. } => c.tls.is_some() == tls,
            ChainKind::Tcp { .. } => false,
        })
    };
    let preferred: &[u16] = if tls { &[443, 8443] } else { &[80, 8080] };
    let kind = if tls { "TLS" } else { "cleartext" };
    for p in preferred {
        if let Some(l) = ir.listeners.iter().find(|l| l.port == *p && fits(l)) {
            return Some((
                l,
                format!(
                    "port {p}, the usual {} port with a {kind} HTTP chain (the URL gives no port; pass one to choose)",
                    if tls { "HTTPS" } else { "HTTP" }
                ),
            ));
        }
    }
    ir.listeners.iter().find(|l| fits(l)).map(|l| {
        (
            l,
            format!(
                "port {}, the first listener with a {kind} HTTP chain (the URL gives no port)",
                l.port
            ),
        )
    })
}

/// Envoy's filter chain match: server names (exact, longest wildcard, none),
/// then transport protocol, without backtracking.
fn pick_chain<'a>(
    chains: &'a [ir::FilterChain],
    sni: Option<&str>,
    tls: bool,
) -> Option<(&'a ir::FilterChain, String)> {
    let mut level: Vec<&ir::FilterChain> = Vec::new();
    let mut how = String::new();
    if let Some(s) = sni {
        level = chains
            .iter()
            .filter(|c| c.server_names.iter().any(|n| n.eq_ignore_ascii_case(s)))
            .collect();
        if !level.is_empty() {
            how = format!("SNI {s} is one of its server names");
        } else {
            let mut best: Option<usize> = None;
            for c in chains {
                for n in &c.server_names {
                    if let Some(suffix) = n.strip_prefix('*')
                        && s.len() > suffix.len()
                        && s.to_ascii_lowercase()
                            .ends_with(&suffix.to_ascii_lowercase())
                        && best.is_none_or(|b| suffix.len() > b)
                    {
                        best = Some(suffix.len());
                    }
                }
            }
            if let Some(b) = best {
                level = chains
                    .iter()
                    .filter(|c| {
                        c.server_names.iter().any(|n| {
                            n.strip_prefix('*').is_some_and(|x| {
                                x.len() == b
                                    && s.to_ascii_lowercase().ends_with(&x.to_ascii_lowercase())
                            })
                        })
                    })
                    .collect();
                how = format!("SNI {s} matches its wildcard server name");
            }
        }
    }
    if level.is_empty() {
        level = chains
            .iter()
            .filter(|c| c.server_names.is_empty())
            .collect();
        how = match sni {
            Some(s) => format!("no chain names SNI {s}; this one has no server names"),
            None => "no SNI; this chain has no server names".into(),
        };
    }
    // Transport protocol: `tls` chains only for TLS; chains without one for any.
    let specific = level
        .iter()
        .find(|c| c.tls.is_some() && tls)
        .or_else(|| level.iter().find(|c| c.tls.is_none()))?;
    let proto = if specific.tls.is_some() {
        ", and it terminates TLS"
    } else if tls {
        ", and it accepts any transport (it terminates no TLS)"
    } else {
        ", and it is the cleartext chain"
    };
    Some((specific, format!("{how}{proto}")))
}

fn host_for_matching(authority: &str, port: u16, ir: &ir::Ir) -> String {
    let a = authority.to_ascii_lowercase();
    if ir.http.strip_matching_host_port
        && let Some((h, p)) = a.rsplit_once(':')
        && p.parse::<u16>().ok() == Some(port)
    {
        return h.to_string();
    }
    a
}

/// Envoy's virtual host selection.
fn pick_vhost<'a>(
    vhosts: &'a [ir::VirtualHost],
    host: &str,
) -> Option<(&'a ir::VirtualHost, String)> {
    let domains = || {
        vhosts
            .iter()
            .flat_map(|v| v.domains.iter().map(move |d| (v, d.to_ascii_lowercase())))
    };
    if let Some((v, d)) = domains().find(|(_, d)| d == host) {
        return Some((v, format!("exact domain {d}")));
    }
    let mut best: Option<(&ir::VirtualHost, String)> = None;
    for (v, d) in domains() {
        if let Some(suffix) = d.strip_prefix('*')
            && !suffix.is_empty()
            && host.len() > suffix.len()
            && host.ends_with(suffix)
            && best.as_ref().is_none_or(|(_, b)| d.len() > b.len())
        {
            best = Some((v, d));
        }
    }
    if let Some((v, d)) = best {
        return Some((
            v,
            format!(
                "wildcard domain {d} (the longest suffix wildcard that matches; no exact domain)"
            ),
        ));
    }
    for (v, d) in domains() {
        if let Some(prefix) = d.strip_suffix('*')
            && !prefix.is_empty()
            && host.len() > prefix.len()
            && host.starts_with(prefix)
            && best.as_ref().is_none_or(|(_, b)| d.len() > b.len())
        {
            best = Some((v, d));
        }
    }
    if let Some((v, d)) = best {
        return Some((
            v,
            format!("wildcard domain {d} (the longest prefix wildcard; no exact or suffix match)"),
        ));
    }
    domains().find(|(_, d)| d == "*").map(|(v, _)| {
        (
            v,
            "catch-all domain * (no other domain matches)".to_string(),
        )
    })
}

/// The header matchers Envoy sees for a route variant (as `xds::route` builds them).
fn effective_headers(route: &ir::Route, m: Matcher) -> Vec<(String, StringMatch)> {
    let mut out: Vec<(String, StringMatch)> = route
        .headers
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("x-forwarded-proto") || m == Matcher::Always)
        .map(|h| (h.name.to_ascii_lowercase(), h.matcher.clone()))
        .collect();
    if m == Matcher::XfpHttps {
        out.push((
            "x-forwarded-proto".into(),
            StringMatch::Exact("https".into()),
        ));
    }
    out
}

fn full_match(pattern: &str, text: &str) -> Result<bool, String> {
    regex::Regex::new(&format!(r"\A(?:{pattern})\z"))
        .map(|re| re.is_match(text))
        .map_err(|e| format!("regex `{pattern}` does not compile: {e}"))
}

fn string_match(m: &StringMatch, v: &str) -> Result<bool, String> {
    Ok(match m {
        StringMatch::Exact(x) => v == x,
        StringMatch::Prefix(x) => v.starts_with(x.as_str()),
        StringMatch::Suffix(x) => v.ends_with(x.as_str()),
        StringMatch::Regex(x) => full_match(x, v)?,
        StringMatch::Present => true,
    })
}

fn describe(m: &StringMatch) -> String {
    match m {
        StringMatch::Exact(x) => format!("= {x}"),
        StringMatch::Prefix(x) => format!("starts with {x}"),
        StringMatch::Suffix(x) => format!("ends with {x}"),
        StringMatch::Regex(x) => format!("~ /{x}/"),
        StringMatch::Present => "present".into(),
    }
}

fn conditions(route: &ir::Route, m: Matcher) -> String {
    let mut parts = vec![match &route.path {
        PathMatch::Prefix(p) => format!("prefix {p}"),
        PathMatch::Exact(p) => format!("path {p}"),
        PathMatch::Regex(p) => format!("path ~ /{p}/"),
    }];
    if !route.case_sensitive && !matches!(route.path, PathMatch::Regex(_)) {
        parts[0].push_str(" (any case)");
    }
    for (n, sm) in effective_headers(route, m) {
        parts.push(format!("header {n} {}", describe(&sm)));
    }
    for q in &route.query_parameters {
        parts.push(format!("query {} {}", q.name, describe(&q.matcher)));
    }
    if let Some((n, _)) = &route.runtime_fraction {
        parts.push(format!("runtime fraction {n}/100"));
    }
    parts.join(", ")
}

/// Every condition but the runtime fraction; `Err` says which one fails.
fn static_match(route: &ir::Route, m: Matcher, req: &Seen) -> Result<(), String> {
    let path = req.path.as_str();
    let ci = !route.case_sensitive;
    match &route.path {
        PathMatch::Prefix(p) => {
            let ok = if ci {
                path.len() >= p.len()
                    && path.is_char_boundary(p.len())
                    && path[..p.len()].eq_ignore_ascii_case(p)
            } else {
                path.starts_with(p.as_str())
            };
            if !ok {
                return Err(format!(
                    "path {path} does not start with {p}{}",
                    if ci { " (in any case)" } else { "" }
                ));
            }
        }
        PathMatch::Exact(p) => {
            let ok = if ci {
                path.eq_ignore_ascii_case(p)
            } else {
                path == p
            };
            if !ok {
                return Err(format!("path {path} is not {p}"));
            }
        }
        PathMatch::Regex(p) => {
            if !full_match(p, path)? {
                return Err(format!("path {path} does not match the regex /{p}/"));
            }
        }
    }
    for (name, sm) in effective_headers(route, m) {
        match req.headers.get(&name) {
            None => return Err(format!("header {name} is absent ({})", describe(&sm))),
            Some(v) if !string_match(&sm, v)? => {
                return Err(format!("header {name} is `{v}`, wanted: {}", describe(&sm)));
            }
            Some(_) => {}
        }
    }
    for q in &route.query_parameters {
        match query_value(&req.query, &q.name) {
            None => {
                return Err(format!(
                    "query parameter {} is absent ({})",
                    q.name,
                    describe(&q.matcher)
                ));
            }
            Some(v) if !string_match(&q.matcher, &v)? => {
                return Err(format!(
                    "query parameter {} is `{v}`, wanted: {}",
                    q.name,
                    describe(&q.matcher)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn query_value(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where a matched route sends the request.
fn target(
    ir: &ir::Ir,
    route: &ir::Route,
    r: &ir::RouteRef,
    weight: u32,
    index: u32,
    req: &Seen,
) -> Target {
    let host = req.authority.clone();
    let with_query = |p: String| {
        if req.query.is_empty() {
            p
        } else {
            format!("{p}?{}", req.query)
        }
    };
    let mut t = Target {
        weight,
        route: Some(index),
        mapping: route.source.clone(),
        action: String::new(),
        cluster: None,
        target: String::new(),
        upstream_path: None,
        upstream_tls: false,
    };
    if r.action == Action::HttpsRedirect {
        t.action = "https-redirect".into();
        let h = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
        t.target = format!("https://{h}{}", with_query(req.path.clone()));
        return t;
    }
    match &route.action {
        RouteAction::Redirect(hr) => {
            t.action = "redirect".into();
            let path = if let Some(p) = &hr.path_redirect {
                p.clone()
            } else if let Some(p) = &hr.prefix_redirect {
                rewrite_prefix(route, &req.path, p)
            } else if let Some((pat, sub)) = &hr.regex_redirect {
                regex_replace(pat, sub, &req.path)
            } else {
                req.path.clone()
            };
            t.target = format!("{}://{}{}", req.scheme, hr.host, with_query(path));
        }
        RouteAction::Forward(f) => {
            t.action = "forward".into();
            t.cluster = Some(f.cluster.clone());
            if let Some(c) = ir.clusters.get(&f.cluster) {
                t.target = format!("{}:{}", c.host, c.port);
                t.upstream_tls = c.tls.is_some();
            }
            let path = if let Some((pat, sub)) = &f.regex_rewrite {
                regex_replace(pat, sub, &req.path)
            } else if let Some(p) = &f.prefix_rewrite {
                rewrite_prefix(route, &req.path, p)
            } else {
                req.path.clone()
            };
            t.upstream_path = Some(with_query(path));
        }
    }
    t
}

/// `prefix_rewrite`: the matched prefix (or the whole path for exact and regex routes) is replaced.
fn rewrite_prefix(route: &ir::Route, path: &str, with: &str) -> String {
    match &route.path {
        PathMatch::Prefix(p) if path.len() >= p.len() && path.is_char_boundary(p.len()) => {
            format!("{with}{}", &path[p.len()..])
        }
        _ => with.to_string(),
    }
}

/// RE2's `GlobalReplace`: every match, `\N` for groups.
fn regex_replace(pattern: &str, substitution: &str, path: &str) -> String {
    let Ok(re) = regex::Regex::new(pattern) else {
        return path.to_string();
    };
    let mut sub = String::new();
    let mut chars = substitution.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                let _ = write!(sub, "${{{d}}}");
                chars.next();
            }
            ('\\', Some('\\')) => {
                sub.push('\\');
                chars.next();
            }
            ('$', _) => sub.push_str("$$"),
            (c, _) => sub.push(c),
        }
    }
    re.replace_all(path, sub.as_str()).into_owned()
}

/// The explanation in words, for a terminal.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let r = &e.request;
    if e.outcome == Outcome::BadRequest {
        let _ = writeln!(out, "the request cannot be read: {}", e.why.join("; "));
        return out;
    }
    let _ = writeln!(
        out,
        "{} {}://{}{}{}",
        r.method,
        r.scheme,
        r.authority,
        r.path,
        if r.query.is_empty() {
            String::new()
        } else {
            format!("?{}", r.query)
        }
    );
    let verdict = match e.outcome {
        Outcome::Forwarded | Outcome::Partial | Outcome::Redirected | Outcome::Tcp => {
            let mut s = String::new();
            for t in &e.targets {
                let _ = write!(
                    s,
                    "\n  {:>3}%  {} → {}",
                    t.weight,
                    t.mapping,
                    match t.action.as_str() {
                        "forward" => format!(
                            "{}{} {}",
                            if t.upstream_tls { "https://" } else { "" },
                            t.target,
                            t.upstream_path.as_deref().unwrap_or_default()
                        ),
                        "https-redirect" => format!("301 redirect to {}", t.target),
                        "redirect" => format!("redirect to {}", t.target),
                        _ => format!("tcp {}", t.target),
                    }
                );
            }
            if e.outcome == Outcome::Partial {
                let rest = 100 - e.targets.iter().map(|t| t.weight).sum::<u32>();
                let _ = write!(s, "\n  {rest:>3}%  no route (404)");
            }
            format!("served by:{s}")
        }
        Outcome::NoListener => "no listener takes it".into(),
        Outcome::NoFilterChain => "no filter chain takes the connection".into(),
        Outcome::NoVirtualHost => "no virtual host matches (404)".into(),
        Outcome::NoRoute => "no route matches (404)".into(),
        Outcome::BadRequest => "the request cannot be read".into(),
    };
    let _ = writeln!(out, "{verdict}");
    let _ = writeln!(out, "why:");
    for w in &e.why {
        let _ = writeln!(out, "  - {w}");
    }
    out
}
