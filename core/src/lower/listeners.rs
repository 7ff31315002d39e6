//! Listeners → filter chains → virtual hosts, with Emissary's secure and
//! insecure route variants; TCPMappings → tcp_proxy chains.

use super::Lower;
use super::globs;
use super::hosts::HostIr;
use crate::diag::Diagnostic;
use crate::ir::{
    Action, ChainKind, DownstreamTls, FilterChain, Listener, Matcher, RouteRef, VirtualHost,
};
use crate::model::{InsecureAction, SecurityModel, Socket, TcpMapping};
use std::collections::{BTreeMap, BTreeSet};

struct Chain {
    tls: Option<DownstreamTls>,
    /// The TLS context's namespace (with `tls.context`, its identity).
    ctx_namespace: String,
    server_names: Vec<String>,
    /// Host indexes by hostname (a later Host with the same hostname replaces an earlier one).
    hosts: Vec<(String, usize)>,
    routes: BTreeMap<String, Vec<RouteRef>>,
    first_host_name: String,
}

pub(crate) fn listeners(lw: &mut Lower<'_>, hosts: &[HostIr<'_>], joins: &[Vec<usize>]) {
    let objs = lw.objs;
    // A TCP and a UDP Listener on one address and port do not collide.
    let mut seen: BTreeMap<(Socket, String, u16), String> = BTreeMap::new();
    // Where a UDP (HTTP/3) Listener is: the TCP Listener on the very same
    // address string and port advertises it (Emissary pairs them so, before
    // knowing whether the UDP listener serves anything).
    let quic: BTreeSet<(&str, u16)> = objs
        .listeners
        .iter()
        .filter(|l| l.socket == Socket::Udp)
        .map(|l| (l.bind_address.as_str(), l.port))
        .collect();
    // UDP listeners left without chains, for the warning below.
    let mut empty_quic: Vec<&crate::model::Listener> = Vec::new();
    // The routes each Host takes, in route order.
    let mut by_host: Vec<Vec<u32>> = vec![Vec::new(); hosts.len()];
    for (ri, joined) in joins.iter().enumerate() {
        for &hi in joined {
            by_host[hi].push(ri as u32);
        }
    }
    // Emissary walks Hosts sorted by hostname, equal hostnames in its load
    // order (where a later Host replaces an earlier one).
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.sort_by(|&a, &b| {
        hosts[a].hostname.cmp(&hosts[b].hostname).then_with(|| {
            crate::model::load_cmp(
                (&hosts[a].name, &hosts[a].namespace),
                (&hosts[b].name, &hosts[b].namespace),
            )
        })
    });
    // (earlier, later) Host pairs already reported as shadowed.
    let mut shadowed = std::collections::BTreeSet::new();

    // In Emissary's load order: the first Listener on a port is kept.
    for li in crate::model::load_order(&objs.listeners, |l| &l.meta) {
        let l = &objs.listeners[li];
        let udp = l.socket == Socket::Udp;
        let key = (l.socket, l.bind_address.clone(), l.port);
        if let Some(other) = seen.get(&key) {
            lw.diags.push(
                Diagnostic::error(
                    "listener-duplicate-port",
                    format!(
                        "{}port {} is already taken by Listener {other} (first in Emissary's load order); this Listener is ignored",
                        if udp { "UDP " } else { "" },
                        l.port
                    ),
                )
                .with_object(l.meta.obj_ref())
                .with_path("spec.port")
                .with_span(Some(l.port_span)),
            );
            continue;
        }
        seen.insert(key, format!("{}/{}", l.meta.namespace, l.meta.name));
        let has = |p: &str| l.protocol_stack.iter().any(|x| x == p);
        let (tls_ok, http) = (has("TLS"), has("HTTP"));
        // A UDP listener's name differs from the TCP one's on the same port.
        let kind = if udp { "listener-udp" } else { "listener" };
        let name = if l.bind_address == "0.0.0.0" {
            format!("{kind}-{}", l.port)
        } else {
            format!("{kind}-{}-{}", l.bind_address, l.port)
        };
        let alt_svc = !udp && http && quic.contains(&(l.bind_address.as_str(), l.port));
        let stats_prefix = l
            .stats_prefix
            .clone()
            .unwrap_or_else(|| match (http, tls_ok) {
                (true, true) => "ingress_https".into(),
                (true, false) => "ingress_http".into(),
                (false, true) => format!("ingress_tls_{}", l.port),
                (false, false) => format!("ingress_{}_{}", if udp { "udp" } else { "tcp" }, l.port),
            });
        let mut listener = Listener {
            name: name.clone(),
            address: l.bind_address.clone(),
            port: l.port,
            sources: vec![l.meta.obj_ref()],
            udp,
            http3_alt_svc: alt_svc,
            // QUIC negotiates TLS itself; the inspector is for TCP.
            tls_inspector: tls_ok && !udp,
            proxy_protocol: has("PROXY"),
            stats_prefix,
            xff_num_trusted_hops: l.l7_depth,
            http2_max_concurrent_streams: l.http2_max_concurrent_streams,
            chains: Vec::new(),
        };
        if !http {
            tcp_chains(lw, &mut listener, hosts);
            if listener.chains.is_empty() {
                lw.diags.push(
                    Diagnostic::warning(
                        "listener-unused",
                        format!(
                            "no TCPMapping uses port {}; no Envoy listener is created",
                            l.port
                        ),
                    )
                    .with_object(l.meta.obj_ref())
                    .with_path("spec.port"),
                );
            } else {
                lw.ir.listeners.push(listener);
            }
            continue;
        }
        if !udp && objs.tcp_mappings.iter().any(|t| t.port == l.port) {
            for t in objs.tcp_mappings.iter().filter(|t| t.port == l.port) {
                lw.diags.push(
                    Diagnostic::error(
                        "tcpmapping-http-port",
                        format!(
                            "port {} belongs to the HTTP Listener {}; the TCPMapping is ignored",
                            l.port, l.meta.name
                        ),
                    )
                    .with_object(t.meta.obj_ref())
                    .with_path("spec.port")
                    .with_span(Some(t.port_span)),
                );
            }
        }

        // Chains, keyed as Emissary keys them.
        let mut chains: Vec<(String, Chain)> = Vec::new();
        for &hi in &order {
            let h = &hosts[hi];
            if let Some(ns) = &l.namespace
                && *ns != h.namespace
            {
                continue;
            }
            if !globs::selector_matches(&l.host_selector, h.labels) {
                continue;
            }
            if tls_ok && let Some(t) = &h.tls {
                let key = format!("tls-{}", h.sni);
                let pos = chains.iter().position(|(k, _)| *k == key);
                let pos = pos.unwrap_or_else(|| {
                    chains.push((
                        key,
                        Chain {
                            tls: Some(t.clone()),
                            ctx_namespace: h.ctx_namespace.clone(),
                            server_names: Vec::new(),
                            hosts: Vec::new(),
                            routes: BTreeMap::new(),
                            first_host_name: h.name.clone(),
                        },
                    ));
                    chains.len() - 1
                });
                let chain = &mut chains[pos].1;
                if chain.tls.as_ref().map(|c| &c.context) != Some(&t.context)
                    || chain.ctx_namespace != h.ctx_namespace
                {
                    lw.diags.push(
                            Diagnostic::error(
                                "host-tls-conflict",
                                format!("another Host serves SNI `{}` with a different TLSContext on port {}; this Host is left out of that port", h.sni, l.port),
                            )
                            .with_object(h.obj.clone())
                            .with_path("spec.tlsSecret"),
                        );
                } else {
                    if !chain.server_names.contains(&h.sni) {
                        chain.server_names.push(h.sni.clone());
                    }
                    let earlier = add_host(chain, &h.hostname, hi);
                    shadow(lw, hosts, (earlier, hi, true), &mut shadowed);
                }
            }
            // HTTP/3 is TLS only: a UDP listener has no cleartext chain.
            let rejected = l.security_model == SecurityModel::Insecure
                && h.insecure_action == InsecureAction::Reject;
            if !udp && !rejected {
                let key = format!("cleartext-{}", h.hostname);
                let pos = chains
                    .iter()
                    .position(|(k, _)| *k == key)
                    .unwrap_or_else(|| {
                        chains.push((
                            key,
                            Chain {
                                tls: None,
                                ctx_namespace: String::new(),
                                server_names: Vec::new(),
                                hosts: Vec::new(),
                                routes: BTreeMap::new(),
                                first_host_name: h.name.clone(),
                            },
                        ));
                        chains.len() - 1
                    });
                let earlier = add_host(&mut chains[pos].1, &h.hostname, hi);
                shadow(lw, hosts, (earlier, hi, false), &mut shadowed);
            }
        }

        // Routes per chain and virtual host, in route order.
        for (_, chain) in chains.iter_mut() {
            for (hostname, hi) in &chain.hosts {
                let h = &hosts[*hi];
                let list = chain.routes.entry(hostname.clone()).or_default();
                for &ri in &by_host[*hi] {
                    let route = &lw.ir.routes[ri as usize];
                    let acme = matches!(&route.path, crate::ir::PathMatch::Prefix(p) if p == "/.well-known/acme-challenge/");
                    // Under XFP, Emissary emits the route twice when the
                    // insecure action is Route: once for `x-forwarded-proto:
                    // https`, then for any request, with the same action.
                    // The first only matches requests the second matches
                    // too, right after it, with the same outcome, so one
                    // route serves both (half the routes for Envoy to build
                    // on every update). Not when the Mapping matches on
                    // `x-forwarded-proto` itself: the insecure variant drops
                    // that condition, as Emissary does, so the two differ.
                    let same_both_ways = l.security_model == SecurityModel::Xfp
                        && (acme || h.insecure_action == InsecureAction::Route)
                        && !route
                            .headers
                            .iter()
                            .any(|m| m.name.eq_ignore_ascii_case("x-forwarded-proto"));
                    if same_both_ways {
                        list.push(RouteRef {
                            route: ri,
                            matcher: Matcher::XfpHttp,
                            action: Action::Route,
                        });
                        continue;
                    }
                    if l.security_model != SecurityModel::Insecure {
                        let matcher = if l.security_model == SecurityModel::Secure {
                            Matcher::Always
                        } else {
                            Matcher::XfpHttps
                        };
                        list.push(RouteRef {
                            route: ri,
                            matcher,
                            action: Action::Route,
                        });
                    }
                    if l.security_model != SecurityModel::Secure {
                        let matcher = if l.security_model == SecurityModel::Insecure {
                            Matcher::Always
                        } else {
                            Matcher::XfpHttp
                        };
                        let action = match h.insecure_action {
                            _ if acme => Some(Action::Route),
                            InsecureAction::Route => Some(Action::Route),
                            InsecureAction::Redirect => Some(Action::HttpsRedirect),
                            InsecureAction::Reject => None,
                        };
                        if let Some(action) = action {
                            list.push(RouteRef {
                                route: ri,
                                matcher,
                                action,
                            });
                        }
                    }
                }
            }
        }

        // Collapse cleartext chains into one; one chain per SNI otherwise.
        let mut http_chain: Option<usize> = None;
        for (_, chain) in chains {
            let vhosts: Vec<VirtualHost> = chain
                .hosts
                .iter()
                .map(|(hostname, hi)| VirtualHost {
                    name: hostname.clone(),
                    host: hosts[*hi].obj.clone(),
                    domains: vec![hostname.clone()],
                    routes: chain.routes.get(hostname).cloned().unwrap_or_default(),
                    alt_svc,
                })
                .collect();
            match chain.tls {
                None => match http_chain {
                    Some(i) => {
                        if let ChainKind::Http { vhosts: v, .. } = &mut listener.chains[i].kind {
                            for vh in vhosts {
                                match v.iter_mut().find(|x| x.domains == vh.domains) {
                                    Some(x) => x.routes.extend(vh.routes),
                                    None => v.push(vh),
                                }
                            }
                        }
                    }
                    None => {
                        http_chain = Some(listener.chains.len());
                        listener.chains.push(FilterChain {
                            name: "http".into(),
                            server_names: Vec::new(),
                            tls: None,
                            kind: ChainKind::Http {
                                route_config: String::new(),
                                vhosts,
                            },
                        });
                    }
                },
                Some(tls) => {
                    let mut server_names = chain.server_names.clone();
                    if server_names.iter().any(|s| s == "*") {
                        server_names.clear();
                    }
                    listener.chains.push(FilterChain {
                        name: format!("https-{}", chain.first_host_name),
                        server_names,
                        tls: Some(tls),
                        kind: ChainKind::Http {
                            route_config: String::new(),
                            vhosts,
                        },
                    });
                }
            }
        }
        for c in &mut listener.chains {
            if let ChainKind::Http {
                route_config,
                vhosts,
            } = &mut c.kind
            {
                use std::hash::{Hash, Hasher};
                let mut h = super::Fnv(0xcbf2_9ce4_8422_2325);
                l.security_model.hash(&mut h);
                // Never shared between a listener advertising HTTP/3 and one
                // that does not (hashed only when set: other names stay).
                if alt_svc {
                    "alt-svc".hash(&mut h);
                }
                for vh in vhosts.iter() {
                    (&vh.name, &vh.host).hash(&mut h);
                }
                *route_config = format!("{}-{:016x}", c.name, h.finish());
            }
        }
        if listener.chains.is_empty() {
            if udp {
                // Told below, once the TCP listeners are known.
                empty_quic.push(l);
                continue;
            }
            lw.diags.push(
                Diagnostic::warning(
                    "listener-no-hosts",
                    format!(
                        "no Host binds to Listener port {}; it serves nothing and is left out",
                        l.port
                    ),
                )
                .with_object(l.meta.obj_ref())
                .with_path("spec.hostBinding"),
            );
            continue;
        }
        if udp {
            quic_notes(lw, l, &listener, hosts);
        }
        lw.ir.listeners.push(listener);
    }
    http3_advertised(lw, &empty_quic);

    // TCPMappings on ports without a Listener get a TCP listener of their own.
    let mut ports: Vec<u16> = objs
        .tcp_mappings
        .iter()
        .map(|t| t.port)
        .filter(|p| !seen.keys().any(|(s, _, lp)| *s == Socket::Tcp && lp == p))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    for port in ports {
        let mut listener = Listener {
            name: format!("listener-{port}"),
            address: "0.0.0.0".into(),
            port,
            sources: Vec::new(),
            udp: false,
            http3_alt_svc: false,
            tls_inspector: false,
            proxy_protocol: false,
            stats_prefix: format!("ingress_tcp_{port}"),
            xff_num_trusted_hops: 0,
            http2_max_concurrent_streams: None,
            chains: Vec::new(),
        };
        tcp_chains(lw, &mut listener, hosts);
        if !listener.chains.is_empty() {
            listener.tls_inspector = listener
                .chains
                .iter()
                .any(|c| !c.server_names.is_empty() || c.tls.is_some());
            lw.ir.listeners.push(listener);
        }
    }
}

/// Emissary's `alt-svc` always names port 443; `port` is where the UDP
/// listener really is.
fn advertised_port_ok(port: u16) -> bool {
    matches!(port, 443 | 8443)
}

/// What a UDP listener with chains should know: the advertised port and
/// the ALPN protocols QUIC ignores.
fn quic_notes(
    lw: &mut Lower<'_>,
    l: &crate::model::Listener,
    listener: &Listener,
    hosts: &[HostIr<'_>],
) {
    let paired = lw.objs.listeners.iter().any(|t| {
        t.socket == Socket::Tcp
            && t.protocol_stack.iter().any(|p| p == "HTTP")
            && t.bind_address == l.bind_address
            && t.port == l.port
    });
    if paired && !advertised_port_ok(l.port) {
        lw.diags.push(
            Diagnostic::info(
                "http3-alt-svc-port",
                format!(
                    "the TCP Listener on port {} advertises HTTP/3 on port 443 (`alt-svc: h3=\":443\"`, as Emissary writes it), not on {}: clients reach this UDP listener only if port 443 leads to it",
                    l.port, l.port
                ),
            )
            .with_object(l.meta.obj_ref())
            .with_path("spec.port")
            .with_span(Some(l.port_span)),
        );
    }
    let mut told = BTreeSet::new();
    for c in &listener.chains {
        let (Some(t), ChainKind::Http { vhosts, .. }) = (&c.tls, &c.kind) else {
            continue;
        };
        if t.alpn_protocols.is_empty() || !told.insert(t.context.clone()) {
            continue;
        }
        let host = vhosts
            .first()
            .map(|vh| vh.host.clone())
            .or_else(|| hosts.first().map(|h| h.obj.clone()));
        let mut d = Diagnostic::info(
            "quic-alpn-ignored",
            format!(
                "alpn_protocols {:?} of TLS context `{}` have no effect on the UDP (HTTP/3) Listener {}: QUIC always negotiates h3",
                t.alpn_protocols, t.context, l.meta.name
            ),
        );
        if let Some(h) = host {
            d = d.with_object(h);
        }
        lw.diags.push(d);
    }
}

/// UDP listeners that serve nothing (no Host with TLS), possibly while the
/// TCP listener on their address and port still advertises HTTP/3
/// (Emissary's behaviour, kept).
fn http3_advertised(lw: &mut Lower<'_>, empty: &[&crate::model::Listener]) {
    for l in empty {
        let tcp = lw
            .ir
            .listeners
            .iter()
            .find(|t| t.http3_alt_svc && t.address == l.bind_address && t.port == l.port);
        let Some(t) = tcp else {
            // Without TLS, `listener-udp-no-tls` has said it.
            if l.protocol_stack.iter().any(|p| p == "TLS") {
                lw.diags.push(
                    Diagnostic::warning(
                        "listener-no-hosts",
                        format!(
                            "no Host with TLS binds to the UDP (HTTP/3) Listener on port {}; it serves nothing and is left out",
                            l.port
                        ),
                    )
                    .with_object(l.meta.obj_ref())
                    .with_path("spec.hostBinding"),
                );
            }
            continue;
        };
        let d = Diagnostic::warning(
            "http3-alt-svc-without-quic",
            format!(
                "TCP listener {} advertises HTTP/3 (alt-svc) but this UDP Listener serves no TLS Host, so it is left out; clients try QUIC, fail and fall back (Emissary advertises it all the same)",
                t.name
            ),
        )
        .with_object(l.meta.obj_ref())
        .with_path("spec.protocolStack");
        lw.diags.push(d);
    }
}

/// Adds a Host's virtual host to a chain; returns the Host it replaces.
fn add_host(chain: &mut Chain, hostname: &str, hi: usize) -> Option<usize> {
    match chain.hosts.iter_mut().find(|(h, _)| h == hostname) {
        Some(slot) => Some(std::mem::replace(&mut slot.1, hi)),
        None => {
            chain.hosts.push((hostname.to_string(), hi));
            None
        }
    }
}

/// Reports (once per pair and kind of chain) a Host whose virtual host a
/// later one with the same hostname replaced (`(earlier, later, tls)`):
/// Emissary does the same, silently.
fn shadow(
    lw: &mut Lower<'_>,
    hosts: &[HostIr<'_>],
    (earlier, later, tls): (Option<usize>, usize, bool),
    seen: &mut std::collections::BTreeSet<(usize, usize, bool)>,
) {
    let Some(earlier) = earlier.filter(|e| *e != later) else {
        return;
    };
    if !seen.insert((earlier, later, tls)) {
        return;
    }
    let (e, l) = (&hosts[earlier], &hosts[later]);
    let which = if tls { "TLS" } else { "cleartext" };
    lw.diags.push(
        Diagnostic::warning(
            "host-hostname-shadowed",
            format!(
                "Host {}/{} also claims hostname `{}` and comes later in Emissary's load order (by `name.namespace`), so its requestPolicy.insecure and mappingSelector decide the {which} virtual host; this Host's are not used there",
                l.namespace, l.name, e.hostname
            ),
        )
        .with_object(e.obj.clone())
        .with_path("spec.hostname")
        .with_help("give each hostname one Host"),
    );
}

/// One chain per TCPMapping `host` (SNI); a TCPMapping without `host` takes the whole port.
fn tcp_chains(lw: &mut Lower<'_>, listener: &mut Listener, hosts: &[HostIr<'_>]) {
    let objs = lw.objs;
    let mine: Vec<&TcpMapping> = objs
        .tcp_mappings
        .iter()
        .filter(|t| t.port == listener.port)
        .collect();
    for t in mine {
        let sni = t.host.clone();
        if let Some(existing) = listener
            .chains
            .iter()
            .find(|c| c.server_names == sni.iter().cloned().collect::<Vec<_>>())
        {
            lw.diags.push(
                Diagnostic::error(
                    "tcpmapping-conflict",
                    format!(
                        "port {} {} is already taken by {}; this TCPMapping is ignored",
                        t.port,
                        sni.as_deref()
                            .map(|s| format!("SNI `{s}`"))
                            .unwrap_or_default(),
                        existing.name
                    ),
                )
                .with_object(t.meta.obj_ref())
                .with_path("spec.port")
                .with_span(Some(t.port_span)),
            );
            continue;
        }
        let Some(cluster) = lw.cluster_for(&crate::model::Mapping::for_tcp(t)) else {
            continue;
        };
        // TLS termination: a TLSContext naming the host, or a Host with that hostname.
        let tls = sni.as_ref().and_then(|s| {
            hosts
                .iter()
                .find(|h| h.hostname == *s)
                .and_then(|h| h.tls.clone())
                .or_else(|| {
                    let ctx = lw
                        .objs
                        .tls_contexts
                        .iter()
                        .find(|c| c.hosts.iter().any(|x| x == s))?;
                    let secret = ctx.secret.as_ref()?;
                    let (n, ns) = super::hosts::split_secret(
                        &secret.value,
                        lw.secret_namespacing(ctx),
                        &ctx.meta.namespace,
                    );
                    let sec = lw.resolve_secret(&n, &ns, &t.meta.obj_ref(), "spec.host", None)?;
                    lw.downstream_tls(
                        ctx.meta.name.clone(),
                        sec,
                        &ctx.settings,
                        (&ctx.meta.namespace, lw.secret_namespacing(ctx)),
                        &ctx.meta.obj_ref(),
                        "spec.",
                    )
                })
        });
        if sni.is_some() {
            listener.tls_inspector = true;
        }
        listener.chains.push(FilterChain {
            name: format!("tcp-{}-{}", t.meta.namespace, t.meta.name),
            server_names: sni.into_iter().collect(),
            tls,
            kind: ChainKind::Tcp {
                stat_prefix: format!("ingress_tcp_{}", listener.port),
                targets: vec![(cluster, 100)],
                idle_timeout_ms: t.idle_timeout_ms,
            },
        });
        listener.sources.push(t.meta.obj_ref());
    }
}
