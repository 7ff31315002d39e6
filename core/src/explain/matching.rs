//! Envoy's matching replayed on the IR: the listener by port, the filter
//! chain by SNI and transport, the virtual host by domain, each route's
//! path, header and query matchers (as `xds::route` builds them, in words
//! too), and where a matched route sends the request (redirects and
//! rewrites).

use super::{HeaderEdit, Seen, Target};
use crate::ir::{self, Action, ChainKind, Matcher, PathMatch, RouteAction, StringMatch};
use std::fmt::Write as _;

pub(super) fn pick_listener(
    ir: &ir::Ir,
    port: Option<u16>,
    tls: bool,
) -> Option<(&ir::Listener, String)> {
    if let Some(p) = port {
        return ir
            .listeners
            .iter()
            // Requests are replayed over TCP, not HTTP/3.
            .find(|l| l.port == p && !l.udp)
            .map(|l| (l, format!("port {p}")));
    }
    let fits = |l: &ir::Listener| {
        !l.udp
            && l.chains.iter().any(|c| match &c.kind {
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
pub(super) fn pick_chain<'a>(
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

pub(super) fn host_for_matching(authority: &str, port: u16, ir: &ir::Ir) -> String {
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
pub(super) fn pick_vhost<'a>(
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

pub(super) fn conditions(route: &ir::Route, m: Matcher) -> String {
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
pub(super) fn static_match(route: &ir::Route, m: Matcher, req: &Seen) -> Result<(), String> {
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
pub(super) fn target(
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
        ..Target::default()
    };
    if r.action == Action::HttpsRedirect {
        t.action = "https-redirect".into();
        t.status = Some(301);
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
            // As the route builder: 302, 303, 307 and 308 are kept, anything else is 301.
            t.status = Some(
                hr.response_code
                    .filter(|c| matches!(c, 302 | 303 | 307 | 308))
                    .unwrap_or(301),
            );
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
            t.host_rewrite = f.host_rewrite.clone();
            let edits = |adds: &[ir::HeaderAdd]| {
                adds.iter()
                    .map(|h| HeaderEdit {
                        name: h.name.to_ascii_lowercase(),
                        value: h.value.clone(),
                        append: h.append,
                    })
                    .collect()
            };
            t.request_headers_removed = route.request_headers_to_remove.clone();
            t.request_headers_added = edits(&route.request_headers_to_add);
            t.response_headers_removed = route.response_headers_to_remove.clone();
            t.response_headers_added = edits(&route.response_headers_to_add);
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
