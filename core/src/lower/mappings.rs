//! Mappings → groups (canaries, shadows, redirects) → ordered routes; each
//! route's cluster comes from `clusters.rs`.
//!
//! Follows Emissary: a Mapping's group is identified by its method, prefix,
//! header and query matches (and precedence); groups are ordered by
//! descending "route weight" (precedence, prefix length, header and query
//! specificity, then the strings themselves), ties in reverse input order.

use super::Lower;
use super::globs;
use super::hosts::HostIr;
use super::memo::{self, Effect, Member, Recorded};
use crate::diag::Diagnostic;
use crate::ir::HeaderAdd;
use crate::ir::{
    Forward, HostRedirect, KeyMatch as IrKeyMatch, PathMatch, Route, RouteAction, StringMatch,
};
use crate::model::Mapping;
use std::cmp::Ordering;
use std::sync::Arc;

/// One header/query matcher in Emissary's KeyValueDecorator sense.
#[derive(Debug, Clone, PartialEq)]
struct Kv {
    name: String,
    value: Option<String>,
    regex: bool,
}

impl Kv {
    fn length(&self) -> usize {
        self.name.chars().count()
            + self.value.as_deref().unwrap_or("*").chars().count()
            + usize::from(self.regex)
    }
    fn key(&self) -> String {
        format!("{}-{}", self.name, self.value.as_deref().unwrap_or("*"))
    }
}

/// Emissary's route weight, compared lexicographically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Weight {
    precedence: i64,
    prefix_len: usize,
    headers_len: usize,
    query_len: usize,
    prefix: String,
    method: String,
    header_keys: Vec<String>,
    query_keys: Vec<String>,
}

/// A Mapping prepared for grouping.
struct Prepared<'a> {
    m: &'a Mapping,
    /// The shared Mapping (not for the built-in ones).
    shared: Option<&'a Arc<Mapping>>,
    internal: bool,
    prep: Arc<Prep>,
}

/// What grouping needs of a Mapping; depends on the Mapping and the Hosts.
#[derive(Debug)]
pub(crate) struct Prep {
    kvs: Vec<Kv>,
    query: Vec<Kv>,
    group_key: Arc<str>,
    weight: Weight,
    /// Hostname glob for Host association (none with host_regex).
    host_glob: Option<String>,
}

struct Group<'a> {
    key: Arc<str>,
    /// The member with the highest weight: the group's weight.
    top: Arc<Prep>,
    first: usize,
    members: Vec<Prepared<'a>>,
    shadow: Option<Prepared<'a>>,
    redirect: Option<Prepared<'a>>,
}

/// Builds every route, in Envoy order, and the clusters they use. Returns for
/// each route the Hosts (indexes into `hosts`) whose virtual hosts take it.
pub(crate) fn routes(
    lw: &mut Lower<'_>,
    hosts: &[HostIr<'_>],
    internal: &[Mapping],
) -> Vec<Vec<usize>> {
    let objs = lw.objs;
    let mut memo = lw.memo.take();
    let mut prepared = Vec::new();
    // Emissary adds the user's Mappings in its load order, then the
    // built-in ones: that order decides which group of equal weight comes
    // first (the later), which member leads a canary group and which one
    // a core-field conflict leaves out (the later).
    for mi in crate::model::load_order(&objs.mappings, |m| &m.meta) {
        let m = &objs.mappings[mi];
        let prep = match memo.as_deref_mut().and_then(|memo| memo.prepared(m)) {
            Some((prep, diags)) => {
                lw.diags.extend(diags);
                prep
            }
            None => {
                let before = lw.diags.len();
                let prep = prepare(lw, m, hosts);
                if let Some(memo) = memo.as_deref_mut() {
                    memo.record_prepared(m, prep.clone(), lw.diags[before..].to_vec());
                }
                prep
            }
        };
        if let Some(prep) = prep {
            prepared.push(Prepared {
                m,
                shared: Some(m),
                internal: false,
                prep,
            });
        }
    }

    for m in internal {
        if let Some(prep) = prepare(lw, m, hosts) {
            prepared.push(Prepared {
                m,
                shared: None,
                internal: true,
                prep,
            });
        }
    }
    // Group in that order.
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: memo::Map<Arc<str>, usize> = memo::Map::default();
    for p in prepared {
        let gi = match index.get(&p.prep.group_key) {
            Some(&gi) => gi,
            None => {
                index.insert(p.prep.group_key.clone(), groups.len());
                groups.push(Group {
                    key: p.prep.group_key.clone(),
                    top: p.prep.clone(),
                    first: groups.len(),
                    members: Vec::new(),
                    shadow: None,
                    redirect: None,
                });
                groups.len() - 1
            }
        };
        add_to_group(lw, &mut groups[gi], p);
    }

    // Descending weight; ties in reverse insertion order.
    // (A total order: `first` tells every two groups apart.)
    groups.sort_unstable_by(|a, b| match b.top.weight.cmp(&a.top.weight) {
        Ordering::Equal => b.first.cmp(&a.first),
        o => o,
    });

    let mut joins = Vec::new();
    let mut recorded = memo::Map::default();
    for g in groups {
        let Some(memo) = memo.as_deref_mut() else {
            emit_group(lw, g, hosts, &mut joins);
            continue;
        };
        let Some(members) = g.members() else {
            emit_group(lw, g, hosts, &mut joins);
            continue;
        };
        let key = g.key.clone();
        let r = match memo.take(&key, &members) {
            Some(r) => {
                replay(lw, &r, &mut joins);
                r
            }
            None => {
                let before = lw.diags.len();
                lw.journal = Some(memo::Journal::default());
                emit_group(lw, g, hosts, &mut joins);
                let journal = lw.journal.take().unwrap_or_default();
                Recorded {
                    members: members.into_boxed_slice(),
                    diags: lw.diags[before..].into(),
                    effects: journal.effects.into_boxed_slice(),
                }
            }
        };
        recorded.insert(key, r);
    }
    if let Some(memo) = memo {
        memo.keep(recorded);
        lw.memo = Some(memo);
    }
    joins
}

impl Group<'_> {
    /// The shared Mappings of the group in their roles, in order; `None`
    /// when one is built in.
    fn members(&self) -> Option<Vec<Member>> {
        let roles = self.members.iter().map(|p| (0, p));
        let roles = roles
            .chain(self.shadow.iter().map(|p| (1, p)))
            .chain(self.redirect.iter().map(|p| (2, p)));
        roles
            .map(|(role, p)| Some((role, p.shared?.clone())))
            .collect()
    }
}

/// Applies a group's recorded lowering again.
fn replay(lw: &mut Lower<'_>, r: &Recorded, joins: &mut Vec<Vec<usize>>) {
    lw.diags.extend(r.diags.iter().cloned());
    for e in &r.effects {
        match e {
            Effect::Route(route, joined) => {
                lw.ir.routes.push(route.clone());
                joins.push(joined.clone());
            }
            Effect::Cluster(c) => memo::add_cluster(&mut lw.ir.clusters, c.clone()),
            Effect::Secret(s) => {
                if !lw.ir.secrets.contains_key(&s.name) {
                    memo::add_secret(&mut lw.ir.secrets, (**s).clone());
                }
            }
            Effect::Eds(e) => {
                super::endpoints::add_eds(&mut lw.ir.endpoints, &mut lw.eds, e.clone())
            }
            Effect::SecretRef(k) => {
                lw.ir.referenced_secrets.insert((**k).clone());
            }
        }
    }
}

/// Adds a route (recording it when a group's lowering is recorded).
fn push_route(lw: &mut Lower<'_>, joins: &mut Vec<Vec<usize>>, route: Route, joined: Vec<usize>) {
    let route = Arc::new(route);
    if let Some(j) = &mut lw.journal {
        j.effects.push(Effect::Route(route.clone(), joined.clone()));
    }
    lw.ir.routes.push(route);
    joins.push(joined);
}

fn prepare(lw: &mut Lower<'_>, m: &Mapping, hosts: &[HostIr<'_>]) -> Option<Arc<Prep>> {
    let obj = m.meta.obj_ref();
    // Regexes must be acceptable to RE2 before Envoy sees them.
    if m.prefix_regex && !lw.check_regex(&m.prefix.value, &obj, "spec.prefix", Some(m.prefix.span))
    {
        return None;
    }
    for h in &m.headers {
        if h.regex
            && !lw.check_regex(
                h.value.as_deref().unwrap_or(""),
                &obj,
                &format!("spec.regex_headers.{}", h.name),
                Some(h.span),
            )
        {
            return None;
        }
    }
    for q in &m.query_parameters {
        if q.regex
            && !lw.check_regex(
                q.value.as_deref().unwrap_or(""),
                &obj,
                &format!("spec.regex_query_parameters.{}", q.name),
                Some(q.span),
            )
        {
            return None;
        }
    }
    if let Some((p, _)) = &m.regex_rewrite
        && !lw.check_regex(&p.value, &obj, "spec.regex_rewrite.pattern", Some(p.span))
    {
        return None;
    }
    if let Some((p, _)) = &m.redirect.regex_redirect
        && !lw.check_regex(p, &obj, "spec.regex_redirect.pattern", None)
    {
        return None;
    }
    if m.host_regex
        && let Some(h) = &m.hostname
        && !lw.check_regex(&h.value, &obj, "spec.host", Some(h.span))
    {
        return None;
    }
    if m.method_regex
        && let Some(meth) = &m.method
        && !lw.check_regex(meth, &obj, "spec.method", None)
    {
        return None;
    }

    let mut kvs: Vec<Kv> = m
        .headers
        .iter()
        .map(|h| Kv {
            name: h.name.clone(),
            value: h.value.clone(),
            regex: h.regex,
        })
        .collect();
    if let Some(h) = &m.hostname {
        kvs.push(Kv {
            name: ":authority".into(),
            value: Some(h.value.clone()),
            regex: m.host_regex,
        });
    }
    if let Some(meth) = &m.method {
        kvs.push(Kv {
            name: ":method".into(),
            value: Some(meth.clone()),
            regex: m.method_regex,
        });
    }
    let query: Vec<Kv> = m
        .query_parameters
        .iter()
        .map(|q| Kv {
            name: q.name.clone(),
            value: q.value.clone(),
            regex: q.regex,
        })
        .collect();

    let method = m.method.clone().unwrap_or_else(|| "GET".into());
    let mut key = format!("HTTP-{method}{}", m.prefix.value);
    for kv in kvs.iter().chain(&query) {
        key.push_str(&kv.name);
        if let Some(v) = &kv.value {
            key.push_str(v);
        }
    }
    if m.hostname.is_none() {
        for h in hosts {
            if let Some(sel) = h.mapping_selector
                && !sel.is_empty()
                && globs::selector_matches(sel, &m.meta.labels)
            {
                for (k, v) in sel {
                    key.push_str(k);
                    key.push_str(v);
                }
            }
        }
    }
    if m.precedence != 0 {
        key.push_str(&m.precedence.to_string());
    }
    let weight = Weight {
        precedence: m.precedence,
        prefix_len: m.prefix.value.chars().count(),
        headers_len: kvs.iter().map(Kv::length).sum(),
        query_len: query.iter().map(Kv::length).sum(),
        prefix: m.prefix.value.clone(),
        method: m.method.clone().unwrap_or_else(|| "GET".into()),
        header_keys: kvs.iter().map(Kv::key).collect(),
        query_keys: query.iter().map(Kv::key).collect(),
    };
    let host_glob = if m.host_regex {
        None
    } else {
        m.hostname.as_ref().map(|h| h.value.clone())
    };
    Some(Arc::new(Prep {
        kvs,
        query,
        group_key: key.into(),
        weight,
        host_glob,
    }))
}

/// The fields every member of a canary group must agree on.
fn core_mismatch(first: &Mapping, new: &Mapping) -> Vec<&'static str> {
    let mut out = Vec::new();
    if new.bypass_auth && new.bypass_auth != first.bypass_auth {
        out.push("bypass_auth");
    }
    if new.circuit_breakers.is_some() && new.circuit_breakers != first.circuit_breakers {
        out.push("circuit_breakers");
    }
    if new.connect_timeout_ms.is_some() && new.connect_timeout_ms != first.connect_timeout_ms {
        out.push("connect_timeout_ms");
    }
    if new.cluster_idle_timeout_ms.is_some()
        && new.cluster_idle_timeout_ms != first.cluster_idle_timeout_ms
    {
        out.push("cluster_idle_timeout_ms");
    }
    if new.cluster_max_connection_lifetime_ms.is_some()
        && new.cluster_max_connection_lifetime_ms != first.cluster_max_connection_lifetime_ms
    {
        out.push("cluster_max_connection_lifetime_ms");
    }
    if new.keepalive.is_some() && new.keepalive != first.keepalive {
        out.push("keepalive");
    }
    if !new.labels.is_empty() && new.labels != first.labels {
        out.push("labels");
    }
    if new.load_balancer.is_some() && new.load_balancer != first.load_balancer {
        out.push("load_balancer");
    }
    if new.prefix_regex != first.prefix_regex {
        out.push("prefix_regex");
    }
    if new.prefix_exact != first.prefix_exact {
        out.push("prefix_exact");
    }
    out
}

fn add_to_group<'a>(lw: &mut Lower<'_>, g: &mut Group<'a>, p: Prepared<'a>) {
    let obj = || p.m.meta.obj_ref();
    if let Some(first) = g
        .members
        .first()
        .or(g.redirect.as_ref())
        .or(g.shadow.as_ref())
    {
        let mism = core_mismatch(first.m, p.m);
        if !mism.is_empty() {
            lw.diags.push(
                Diagnostic::error(
                    "canary-group-conflict",
                    format!(
                        "Mapping joins the canary group of {} but differs in {}; it is left out and the group's traffic goes to the other members",
                        first.m.meta.obj_ref(),
                        mism.join(", ")
                    ),
                )
                .with_object(obj())
                .with_path(format!("spec.{}", mism[0]))
                .with_span(Some(p.m.meta.span))
                .with_help("give every Mapping of a canary group the same core fields"),
            );
            return;
        }
        // Emissary forms these groups silently.
        let user = if p.internal { first } else { &p };
        if p.internal != first.internal {
            lw.diags.push(
                Diagnostic::warning(
                    "mapping-shadows-builtin",
                    format!(
                        "Mapping has the same prefix and hostname as the built-in Mapping for `{}`: as in Emissary, the two form one canary group and share its traffic",
                        first.m.prefix.value
                    ),
                )
                .with_object(user.m.meta.obj_ref())
                .with_path("spec.prefix")
                .with_span(Some(user.m.prefix.span))
                .with_help("use another prefix, or the Module's `diagnostics` / probe settings"),
            );
        } else if !p.internal && first.m.meta.namespace != p.m.meta.namespace {
            lw.diags.push(
                Diagnostic::info(
                    "canary-group-cross-namespace",
                    format!(
                        "Mapping joins the canary group of {} from another namespace (same prefix, hostname and headers): as in Emissary, they share its traffic",
                        first.m.meta.obj_ref()
                    ),
                )
                .with_object(obj())
                .with_span(Some(p.m.meta.span)),
            );
        }
    }
    if p.prep.weight > g.top.weight {
        g.top = p.prep.clone();
    }
    let (shadow, redirect) = (p.m.shadow, p.m.host_redirect && !p.m.shadow);
    if p.m.shadow && p.m.host_redirect {
        lw.diags.push(
            Diagnostic::error("mapping-shadow-redirect", "at most one of `host_redirect` and `shadow` may be set; `host_redirect` is ignored")
                .with_object(obj())
                .with_path("spec.host_redirect"),
        );
    }
    if shadow {
        if let Some(s) = &g.shadow {
            lw.diags.push(
                Diagnostic::error(
                    "mapping-second-shadow",
                    format!(
                        "the group already has the shadow {}; this one is ignored",
                        s.m.meta.obj_ref()
                    ),
                )
                .with_object(obj())
                .with_path("spec.shadow"),
            );
        } else {
            g.shadow = Some(p);
        }
    } else if redirect {
        if let Some(r) = &g.redirect {
            lw.diags.push(
                Diagnostic::error(
                    "mapping-second-redirect",
                    format!(
                        "the group already redirects with {}; this one is ignored",
                        r.m.meta.obj_ref()
                    ),
                )
                .with_object(obj())
                .with_path("spec.host_redirect"),
            );
        } else if let Some(first) = g.members.first() {
            lw.diags.push(
                Diagnostic::error(
                    "mapping-redirect-conflict",
                    format!("a host_redirect Mapping cannot join the group of {}, which routes; it is ignored", first.m.meta.obj_ref()),
                )
                .with_object(obj())
                .with_path("spec.host_redirect"),
            );
        } else {
            g.redirect = Some(p);
        }
    } else if let Some(r) = &g.redirect {
        lw.diags.push(
            Diagnostic::error(
                "mapping-redirect-conflict",
                format!(
                    "this Mapping cannot join the group of {}, which redirects; it is ignored",
                    r.m.meta.obj_ref()
                ),
            )
            .with_object(obj())
            .with_path("spec.prefix"),
        );
    } else {
        g.members.push(p);
    }
}

/// Python's `round()`: halves go to the even neighbour.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
    .max(i64::MIN as f64)
    .min(i64::MAX as f64) as i64
}

fn emit_group(lw: &mut Lower<'_>, g: Group<'_>, hosts: &[HostIr<'_>], joins: &mut Vec<Vec<usize>>) {
    let group_id = format!("{:016x}", super::fnv1a(g.key.as_bytes()));
    // Flattened group attributes: the last member wins.
    let lead = match g.members.last().or(g.redirect.as_ref()) {
        Some(p) => p,
        None => {
            if let Some(s) = &g.shadow {
                lw.diags.push(
                    Diagnostic::warning("shadow-without-primary", "this shadow Mapping has no primary Mapping with the same match; nothing is mirrored")
                        .with_object(s.m.meta.obj_ref())
                        .with_path("spec.shadow"),
                );
            }
            return;
        }
    };

    // Which Hosts take this group.
    let joined: Vec<usize> = hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| host_takes(h, lead, lw.opts.ambassador_namespace.as_str()))
        .map(|(i, _)| i)
        .collect();
    if joined.is_empty() && !lead.internal {
        for p in g.members.iter().chain(g.redirect.iter()) {
            let msg = match &p.m.hostname {
                Some(h) => format!("Mapping's hostname `{}` matches no Host; it serves no traffic", h.value),
                None => "Mapping has no `hostname` and no Host selects it by label; it serves no traffic".to_string(),
            };
            lw.diags.push(
                Diagnostic::warning("mapping-no-host", msg)
                    .with_object(p.m.meta.obj_ref())
                    .with_path(if p.m.hostname.is_some() {
                        "spec.hostname"
                    } else {
                        "spec"
                    })
                    .with_span(
                        p.m.hostname
                            .as_ref()
                            .map(|h| h.span)
                            .or(Some(p.m.meta.span)),
                    )
                    .with_help("set `hostname: \"*\"` or a hostname that a Host serves"),
            );
        }
        return;
    }

    let headers = route_headers(&lead.prep.kvs);
    let query: Vec<IrKeyMatch> = lead
        .prep
        .query
        .iter()
        .map(|q| IrKeyMatch {
            name: q.name.clone(),
            matcher: match (&q.value, q.regex) {
                (Some(v), true) => StringMatch::Regex(v.clone()),
                (Some(v), false) => StringMatch::Exact(v.clone()),
                (None, _) => StringMatch::Present,
            },
        })
        .collect();
    let mut add_req: Vec<HeaderAdd> = Vec::new();
    let mut add_resp: Vec<HeaderAdd> = Vec::new();
    let defaults = &lw.module.defaults;
    for p in &g.members {
        // A Mapping that writes a header key (even empty) keeps its own;
        // the others take the Module's `defaults`.
        let own = p.m.headers_written;
        merge_adds(
            &mut add_req,
            if own[0] {
                &p.m.add_request_headers
            } else {
                &defaults.add_request_headers
            },
        );
        merge_adds(
            &mut add_resp,
            if own[1] {
                &p.m.add_response_headers
            } else {
                &defaults.add_response_headers
            },
        );
    }
    let remove_req = if lead.m.headers_written[2] {
        lead.m.remove_request_headers.clone()
    } else {
        defaults.remove_request_headers.clone()
    };
    let remove_resp = if lead.m.headers_written[3] {
        lead.m.remove_response_headers.clone()
    } else {
        defaults.remove_response_headers.clone()
    };

    if let Some(r) = &g.redirect {
        let m = r.m;
        let route = Route {
            source: m.meta.obj_ref(),
            group: group_id.clone(),
            path: path_match(m),
            case_sensitive: m.case_sensitive.unwrap_or(true),
            headers: headers.clone(),
            query_parameters: query.clone(),
            runtime_fraction: None,
            action: RouteAction::Redirect(HostRedirect {
                host: m.service.value.clone(),
                path_redirect: m.redirect.path_redirect.clone(),
                prefix_redirect: m.redirect.prefix_redirect.clone(),
                regex_redirect: m.redirect.regex_redirect.clone(),
                response_code: m.redirect.response_code,
            }),
            request_headers_to_add: Vec::new(),
            response_headers_to_add: Vec::new(),
            request_headers_to_remove: Vec::new(),
            response_headers_to_remove: Vec::new(),
            bypass_auth: true,
            auth_context: Vec::new(),
            rate_limits: Vec::new(),
        };
        push_route(lw, joins, route, joined);
        return;
    }

    // Canary weights, cumulative as Emissary computes them.
    let weighted = canary_weights(lw, &g.members);
    let mirror = g.shadow.as_ref().and_then(|s| {
        let cluster = lw.cluster_for(s.m)?;
        let w =
            s.m.weight
                .as_ref()
                .map(|w| round_half_even(w.value).clamp(0, 100) as u32)
                .unwrap_or(100);
        Some((cluster, w))
    });

    let default_timeout = lw.objs_module_timeout();
    let rate_limits = match super::filters::rate_limit_domain(&lw.ir) {
        Some(d) => {
            let d = d.to_string();
            super::filters::route_rate_limits(lw, lead.m, &d)
        }
        None => Vec::new(),
    };
    for (p, numerator) in weighted {
        let m = p.m;
        let Some(cluster) = lw.cluster_for(m) else {
            continue;
        };
        let lm = lead.m;
        let fwd = Forward {
            cluster: cluster.clone(),
            timeout_ms: m.timeout_ms.unwrap_or(default_timeout),
            idle_timeout_ms: m.idle_timeout_ms,
            prefix_rewrite: if lm.regex_rewrite.is_some() {
                None
            } else {
                match &m.rewrite {
                    None => Some("/".to_string()),
                    Some(r) if r.is_empty() => None,
                    Some(r) => Some(r.clone()),
                }
            },
            regex_rewrite: lm
                .regex_rewrite
                .as_ref()
                .map(|(p, s)| (p.value.clone(), s.clone())),
            host_rewrite: m.host_rewrite.clone(),
            auto_host_rewrite: m.auto_host_rewrite,
            cors: lm.cors.clone().or_else(|| lw.module.cors.clone()),
            retry_policy: lm
                .retry_policy
                .clone()
                .or_else(|| lw.module.retry_policy.clone()),
            mirror: mirror.clone(),
            upgrades: lm.allow_upgrade.clone(),
            priority_high: lm
                .priority
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("high")),
            hash_policy: lm
                .load_balancer
                .as_ref()
                .or(lw.module.load_balancer.as_ref())
                .and_then(|lb| lb.hash_on.clone()),
        };
        let route = Route {
            source: m.meta.obj_ref(),
            group: group_id.clone(),
            path: path_match(m),
            case_sensitive: m.case_sensitive.or(lm.case_sensitive).unwrap_or(true),
            headers: headers.clone(),
            query_parameters: query.clone(),
            runtime_fraction: (numerator < 100)
                .then(|| (numerator, format!("routing.traffic_shift.{cluster}"))),
            action: RouteAction::Forward(Box::new(fwd)),
            request_headers_to_add: linkerd_header(lw, m, &cluster, &add_req),
            response_headers_to_add: add_resp.clone(),
            request_headers_to_remove: remove_req.clone(),
            response_headers_to_remove: remove_resp.clone(),
            bypass_auth: m.bypass_auth,
            auth_context: if m.bypass_auth {
                Vec::new()
            } else {
                m.auth_context_extensions.clone()
            },
            rate_limits: rate_limits.clone(),
        };
        push_route(lw, joins, route, joined.clone());
    }
}

/// Emissary's `normalize_weights_in_mappings`: weighted members first with
/// cumulative numerators, unweighted ones share the rest, the last gets 100.
/// When the weights are invalid Emissary reports it but still routes with the
/// numerators assigned so far (100 for the rest), in input order; so do we.
fn canary_weights<'p, 'a>(
    lw: &mut Lower<'_>,
    members: &'p [Prepared<'a>],
) -> Vec<(&'p Prepared<'a>, u32)> {
    if members.len() == 1 {
        return vec![(&members[0], 100)];
    }
    let mut assigned: Vec<Option<i64>> = vec![None; members.len()];
    let mut current: i64 = 0;
    let mut failed = false;
    for (i, p) in members.iter().enumerate() {
        let Some(w) = &p.m.weight else { continue };
        if w.value < 0.0 {
            // Emissary accepts it and counts it in the running total, so the
            // member gets no traffic and later members get more.
            lw.diags.push(
                Diagnostic::error("canary-weight", format!("weight {} is negative; the Mapping gets no traffic and the later members of the group share its deficit, as in Emissary", w.value))
                    .with_object(p.m.meta.obj_ref())
                    .with_path("spec.weight")
                    .with_span(Some(w.span)),
            );
        } else if w.value > 100.0 {
            lw.diags.push(
                Diagnostic::error("canary-weight", format!("weight {} must be between 0 and 100", w.value))
                    .with_object(p.m.meta.obj_ref())
                    .with_path("spec.weight")
                    .with_span(Some(w.span))
                    .with_help("Emissary then stops normalizing the group: this and later members get all remaining traffic"),
            );
            failed = true;
            break;
        }
        current += round_half_even(w.value);
        assigned[i] = Some(current);
    }
    if !failed && current > 100 {
        let last = members
            .last()
            .map(|p| p.m.meta.obj_ref())
            .unwrap_or_default();
        lw.diags.push(
            Diagnostic::error(
                "canary-weight",
                format!("the weights of this canary group add up to {current}, more than 100; traffic is split as Emissary splits it"),
            )
            .with_object(last)
            .with_path("spec.weight"),
        );
        failed = true;
    }
    if failed {
        let clamp = |n: Option<i64>| n.unwrap_or(100).clamp(0, 100) as u32;
        return members
            .iter()
            .zip(assigned)
            .map(|(p, n)| (p, clamp(n)))
            .collect();
    }
    let mut out: Vec<(&Prepared<'a>, u32)> = members
        .iter()
        .zip(&assigned)
        .filter_map(|(p, n)| n.map(|n| (p, n.clamp(0, 100) as u32)))
        .collect();
    let weightless: Vec<&Prepared<'a>> = members.iter().filter(|p| p.m.weight.is_none()).collect();
    if !weightless.is_empty() {
        let each = round_half_even((100 - current) as f64 / weightless.len() as f64);
        let n = weightless.len();
        for (i, p) in weightless.into_iter().enumerate() {
            current = if i == n - 1 { 100 } else { current + each };
            out.push((p, current.clamp(0, 100) as u32));
        }
    } else if current < 100 {
        let last = members
            .last()
            .map(|p| p.m.meta.obj_ref())
            .unwrap_or_default();
        lw.diags.push(
            Diagnostic::warning(
                "canary-weight-sum",
                format!("the weights of this canary group add up to {current}, less than 100; the rest of the traffic gets 404, as in Emissary"),
            )
            .with_object(last)
            .with_path("spec.weight"),
        );
    }
    out
}

/// The route's request headers, with `l5d-dst-override: host:port` of its
/// cluster when `add_linkerd_headers` (the Mapping's, else the Module's) is
/// on; as in Emissary it replaces a header of that name the Mapping adds.
fn linkerd_header(
    lw: &Lower<'_>,
    m: &Mapping,
    cluster: &str,
    adds: &[HeaderAdd],
) -> Vec<HeaderAdd> {
    let mut out = adds.to_vec();
    if !m
        .add_linkerd_headers
        .unwrap_or(lw.module.add_linkerd_headers)
    {
        return out;
    }
    let Some(c) = lw.ir.clusters.get(cluster) else {
        return out;
    };
    let name = super::filters::LINKERD_HEADER;
    out.retain(|h| !h.name.eq_ignore_ascii_case(name));
    out.push(HeaderAdd {
        name: name.to_string(),
        value: format!("{}:{}", c.host, c.port),
        append: true,
    });
    out
}

fn merge_adds(into: &mut Vec<HeaderAdd>, from: &[HeaderAdd]) {
    for h in from {
        match into.iter_mut().find(|x| x.name == h.name) {
            Some(x) => *x = h.clone(),
            None => into.push(h.clone()),
        }
    }
}

fn path_match(m: &Mapping) -> PathMatch {
    if m.prefix_regex {
        PathMatch::Regex(m.prefix.value.clone())
    } else if m.prefix_exact {
        PathMatch::Exact(m.prefix.value.clone())
    } else {
        PathMatch::Prefix(m.prefix.value.clone())
    }
}

fn route_headers(kvs: &[Kv]) -> Vec<IrKeyMatch> {
    let mut out = Vec::new();
    for kv in kvs {
        let v = kv.value.clone().unwrap_or_default();
        let matcher = if kv.regex {
            StringMatch::Regex(v)
        } else if kv.name == ":authority" {
            if v == "*" {
                continue;
            } else if let Some(rest) = v.strip_prefix('*') {
                StringMatch::Suffix(rest.to_string())
            } else if let Some(rest) = v.strip_suffix('*') {
                StringMatch::Prefix(rest.to_string())
            } else {
                StringMatch::Exact(v)
            }
        } else {
            StringMatch::Exact(v)
        };
        out.push(IrKeyMatch {
            name: kv.name.clone(),
            matcher,
        });
    }
    out
}

/// Emissary's `IRHost.matches_httpgroup`.
fn host_takes(h: &HostIr<'_>, p: &Prepared<'_>, _ambassador_ns: &str) -> bool {
    if p.internal {
        return true;
    }
    let (has_hostname, host_match) = if p.m.host_regex {
        (true, true)
    } else {
        match &p.prep.host_glob {
            Some(g) => (true, globs::compatible(&h.hostname, g)),
            None => (false, false),
        }
    };
    match h.mapping_selector {
        Some(sel) => {
            let sel_match = globs::selector_matches(sel, &p.m.meta.labels);
            if has_hostname {
                host_match && sel_match
            } else {
                sel_match
            }
        }
        None => host_match,
    }
}

impl Lower<'_> {
    fn objs_module_timeout(&self) -> u64 {
        self.module.cluster_request_timeout_ms.unwrap_or(3000)
    }
}
