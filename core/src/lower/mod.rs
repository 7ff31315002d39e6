//! Typed resources → IR, with Emissary's semantics.
//!
//! Order of work: the `ambassador` Module's defaults, Hosts (TLS contexts and
//! Secrets, or the synthesized `default-host`), Mappings (groups, canaries,
//! clusters, route order), then Listeners (filter chains, virtual hosts and the
//! secure/insecure route variants) and TCPMappings. Every object that cannot
//! be used is reported and left out; the rest is still translated.

mod clusters;
mod endpoints;
mod filters;
mod globs;
mod hosts;
mod listeners;
mod mappings;
mod memo;
mod observability;
mod placeholder;
mod tls;

pub(crate) use endpoints::{EdsName, resolve as resolve_endpoints};
pub(crate) use memo::LowerMemo;

use crate::diag::{Diagnostic, ObjectRef, Span};
use crate::inputs::Options;
use crate::ir::{Http2Limits, HttpSettings, Ir, edge};
use crate::model::{Mapping, Meta, Module, Objects, Spanned};
use std::sync::Arc;

/// State shared by the lowering passes.
pub(crate) struct Lower<'a> {
    pub(crate) objs: &'a Objects,
    pub(crate) opts: &'a Options,
    pub(crate) module: Module,
    pub(crate) ir: Ir,
    pub(crate) diags: &'a mut Vec<Diagnostic>,
    /// Lowering remembered from the translation before, if any.
    pub(crate) memo: Option<&'a mut LowerMemo>,
    /// Records the effects of the Mapping group being lowered.
    pub(crate) journal: Option<memo::Journal>,
    /// The EDS service names used, in the order first used.
    pub(crate) eds: Vec<Arc<EdsName>>,
}

impl<'a> Lower<'a> {
    /// The Secret `namespace/name`, if there is one; either way the IR
    /// notes that the configuration refers to it
    /// ([`Ir::referenced_secrets`]). Every lookup of a Secret goes through
    /// here.
    pub(crate) fn secret(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Option<&'a crate::model::Secret> {
        let key = (namespace.to_string(), name.to_string());
        if let Some(j) = &mut self.journal {
            j.effects
                .push(memo::Effect::SecretRef(Box::new(key.clone())));
        }
        let found = self.objs.secrets.get(&key);
        self.ir.referenced_secrets.insert(key);
        found
    }
}

/// Lowers typed objects into the IR.
pub fn lower(objs: &Objects, opts: &Options, diags: &mut Vec<Diagnostic>) -> Ir {
    let (mut ir, eds) = lower_with(objs, opts, diags, None);
    resolve_endpoints(objs, &eds, &mut ir.endpoints, diags);
    ir
}

/// [`lower`] but for the endpoints: the IR names its EDS service names
/// without their endpoints, which [`resolve_endpoints`] then sets from the
/// returned names. It applies again what `memo` recorded of the translation
/// before where nothing it depends on changed, and records for the next.
/// `memo` must have been prepared with [`LowerMemo::begin`].
pub(crate) fn lower_with<'a>(
    objs: &'a Objects,
    opts: &'a Options,
    diags: &'a mut Vec<Diagnostic>,
    memo: Option<&'a mut LowerMemo>,
) -> (Ir, Vec<Arc<EdsName>>) {
    let module = pick_module(objs, diags);
    let http = HttpSettings {
        use_remote_address: module.use_remote_address.unwrap_or(true),
        server_name: module.server_name.clone(),
        merge_slashes: module.merge_slashes,
        strip_matching_host_port: module.strip_matching_host_port,
        reject_requests_with_escaped_slashes: module.reject_requests_with_escaped_slashes,
        preserve_external_request_id: module.preserve_external_request_id.unwrap_or(false),
        accept_http_10: module.enable_http10.unwrap_or(false),
        idle_timeout_ms: Some(
            module
                .listener_idle_timeout_ms
                .unwrap_or(edge::IDLE_TIMEOUT_MS),
        ),
        max_request_headers_kb: module.max_request_headers_kb,
        headers_with_underscores_action: module.headers_with_underscores_action.clone(),
        proper_case: module.proper_case,
        regex_max_size: module.regex_max_size.unwrap_or(200),
        forward_client_cert_details: module.forward_client_cert_details.clone(),
        set_current_client_cert_details: module.set_current_client_cert_details,
        // Emissary writes `buffer_limit_bytes` only when it is not 0.
        buffer_limit_bytes: or_edge(module.buffer_limit_bytes, edge::BUFFER_LIMIT_BYTES),
        http2: Http2Limits {
            max_concurrent_streams: or_edge(
                module.limits.http2_max_concurrent_streams,
                edge::HTTP2_MAX_CONCURRENT_STREAMS.into(),
            )
            .map(|v| v as u32),
            initial_stream_window_size: or_edge(
                module.limits.http2_initial_stream_window_size,
                edge::HTTP2_INITIAL_STREAM_WINDOW_SIZE.into(),
            )
            .map(|v| v as u32),
            initial_connection_window_size: or_edge(
                module.limits.http2_initial_connection_window_size,
                edge::HTTP2_INITIAL_CONNECTION_WINDOW_SIZE.into(),
            )
            .map(|v| v as u32),
        },
        stream_idle_timeout_ms: Some(
            module
                .limits
                .stream_idle_timeout_ms
                .unwrap_or(edge::STREAM_IDLE_TIMEOUT_MS),
        ),
        allow_chunked_length: module.allow_chunked_length,
    };
    let bootstrap = crate::ir::BootstrapSettings {
        admin_port: module.admin_port,
        runtime_flags: module.runtime_flags.clone(),
    };
    let internal = internal_mappings(&module, opts);
    let mut lw = Lower {
        objs,
        opts,
        module,
        ir: Ir {
            http,
            bootstrap,
            ..Ir::default()
        },
        diags,
        memo: memo.filter(|m| m.active()),
        journal: None,
        eds: Vec::new(),
    };
    let hosts = hosts::hosts(&mut lw);
    filters::filters(&mut lw);
    let joins = mappings::routes(&mut lw, &hosts, &internal);
    listeners::listeners(&mut lw, &hosts, &joins);
    observability::observability(&mut lw);
    if objs.listeners.is_empty() && objs.tcp_mappings.is_empty() {
        lw.diags.push(
            Diagnostic::warning("no-listeners", "no Listener is defined, so Envoy gets no traffic listener (as in Emissary)")
                .with_help("add Listeners, e.g. port 8080 protocol HTTP and port 8443 protocol HTTPS with securityModel XFP"),
        );
    }
    lw.ir.listeners.sort_by(|a, b| a.name.cmp(&b.name));
    (lw.ir, lw.eds)
}

/// A Module size or count over the edge default: unset gives `default`, 0
/// gives Envoy's own default (`None`).
pub(crate) fn or_edge(module: Option<u64>, default: u64) -> Option<u64> {
    match module.unwrap_or(default) {
        0 => None,
        v => Some(v),
    }
}

/// Emissary files Modules by name: of `ambassador` Modules in different
/// namespaces the first in its load order (`ambassador.<namespace>`, so the
/// first namespace) is used and the others are set aside silently. (Two in
/// one namespace are one object defined twice: see `model::dedup`.)
fn pick_module(objs: &Objects, diags: &mut Vec<Diagnostic>) -> Module {
    let mut order: Vec<usize> = (0..objs.modules.len()).collect();
    order.sort_by(
        |&a, &b| match (&objs.modules[a].meta, &objs.modules[b].meta) {
            (Some(a), Some(b)) => a.load_cmp(b),
            _ => std::cmp::Ordering::Equal,
        },
    );
    let Some((&used, others)) = order.split_first() else {
        return Module {
            diagnostics_enabled: true,
            ..Module::default()
        };
    };
    let used_ref = objs.modules[used]
        .meta
        .as_ref()
        .map(|m| m.obj_ref().to_string())
        .unwrap_or_default();
    for &other in others {
        if let Some(m) = &objs.modules[other].meta {
            diags.push(
                Diagnostic::warning(
                    "module-duplicate",
                    format!(
                        "more than one `ambassador` Module; {used_ref} is used (as in Emissary: the first namespace in its load order) and this one is ignored"
                    ),
                )
                .with_object(m.obj_ref())
                .with_span(Some(m.span)),
            );
        }
    }
    objs.modules[used].clone()
}

/// Emissary's built-in Mappings: readiness/liveness probes and diagnostics, on
/// the admin port 8877 (served by our daemon's admin endpoint) unless the
/// Module's `readiness_probe`, `liveness_probe` or `diagnostics` say otherwise.
fn internal_mappings(module: &Module, opts: &Options) -> Vec<Mapping> {
    let probes = [
        (&module.probes[1], "/ambassador/v0/check_ready"),
        (&module.probes[0], "/ambassador/v0/check_alive"),
        (&module.probes[2], "/ambassador/v0/"),
    ];
    probes
        .into_iter()
        .filter(|(p, _)| p.enabled)
        .map(|(p, default)| Mapping {
            meta: Meta {
                kind: "Mapping",
                name: format!(
                    "internal{}",
                    default.replace('/', "-").trim_end_matches('-')
                ),
                namespace: opts.ambassador_namespace.clone(),
                ..Meta::default()
            },
            prefix: Spanned {
                value: p.prefix.clone().unwrap_or_else(|| default.to_string()),
                span: Span::default(),
            },
            service: Spanned {
                value: p.service.clone().unwrap_or_else(|| "127.0.0.1:8877".into()),
                span: Span::default(),
            },
            rewrite: Some(p.rewrite.clone().unwrap_or_else(|| default.to_string())),
            timeout_ms: Some(10_000),
            // As Emissary's: `hostname: "*"`, no precedence (route order by
            // weight, like any Mapping).
            hostname: Some(Spanned {
                value: "*".into(),
                span: Span::default(),
            }),
            ..Mapping::default()
        })
        .collect()
}

impl Lower<'_> {
    /// Checks that a regex is valid RE2 syntax and within `regex_max_size`.
    pub(crate) fn check_regex(
        &mut self,
        pattern: &str,
        obj: &ObjectRef,
        path: &str,
        span: Option<Span>,
    ) -> bool {
        let limit = self.ir.http.regex_max_size;
        match regex_cost(pattern) {
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "regex-invalid",
                        format!("`{pattern}` is not a valid RE2 regex: {e}; the object is ignored"),
                    )
                    .with_object(obj.clone())
                    .with_path(path)
                    .with_span(span),
                );
                false
            }
            Ok(cost) if cost > limit => {
                self.diags.push(
                    Diagnostic::error(
                        "regex-too-complex",
                        format!("regex `{pattern}` compiles to about {cost} RE2 instructions, above the limit of {limit}; the object is ignored"),
                    )
                    .with_object(obj.clone())
                    .with_path(path)
                    .with_span(span)
                    .with_help("simplify the regex, or raise `regex_max_size` in the ambassador Module"),
                );
                false
            }
            Ok(_) => true,
        }
    }
}

/// Parses a regex with RE2-compatible syntax and estimates its RE2 program size.
pub(crate) fn regex_cost(pattern: &str) -> Result<u64, String> {
    if pattern.len() > 64 * 1024 {
        return Err("pattern longer than 64 KiB".into());
    }
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(100)
        .build()
        .parse(pattern)
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("syntax error")
                .trim()
                .to_string()
        })?;
    Ok(cost(&hir).saturating_add(2))
}

fn cost(h: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Empty => 0,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => (c.ranges().len() as u64).min(16),
        HirKind::Class(Class::Bytes(c)) => (c.ranges().len() as u64).min(16),
        HirKind::Look(_) => 1,
        HirKind::Repetition(r) => {
            let s = cost(&r.sub).max(1);
            match r.max {
                None => (r.min as u64).saturating_mul(s).saturating_add(s + 1),
                Some(max) => (max as u64)
                    .saturating_mul(s)
                    .saturating_add((max - r.min) as u64),
            }
        }
        HirKind::Capture(c) => cost(&c.sub).saturating_add(2),
        HirKind::Concat(v) => v.iter().map(cost).fold(0u64, u64::saturating_add),
        HirKind::Alternation(v) => v.iter().map(cost).fold(v.len() as u64, u64::saturating_add),
    }
}

/// 64-bit FNV-1a: the stable content hash used for derived names.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.write(bytes);
    h.finish()
}

/// FNV-1a as a [`std::hash::Hasher`]: deterministic on every platform (unlike
/// the std hasher's random keys), so derived names never change between runs.
pub(crate) struct Fnv(pub(crate) u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // Lengths are usize: hash them as u64 so 32-bit wasm and 64-bit hosts agree.
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}
