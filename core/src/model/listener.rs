//! The `Listener` kind: port, bind address, protocol stack, security model
//! and which Hosts it takes.

use super::Meta;
use super::read::{self, Cx, Fields};
use crate::diag::Span;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecurityModel {
    Xfp,
    Secure,
    Insecure,
}

/// The socket a Listener opens: the last element of its protocol stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Socket {
    Tcp,
    /// HTTP/3 over QUIC (`[TLS, HTTP, UDP]`).
    Udp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub meta: Meta,
    pub port: u16,
    pub port_span: Span,
    pub bind_address: String,
    /// Upper-case protocol stack, e.g. `[TLS, HTTP, TCP]`.
    pub protocol_stack: Vec<String>,
    pub socket: Socket,
    pub security_model: SecurityModel,
    pub stats_prefix: Option<String>,
    pub l7_depth: u32,
    /// `http2MaxConcurrentStreams` (over the Module's limit).
    pub http2_max_concurrent_streams: Option<u32>,
    /// `None` = all namespaces; `Some(ns)` = only Hosts in that namespace.
    pub namespace: Option<String>,
    pub host_selector: BTreeMap<String, String>,
}

pub(crate) fn listener(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Listener> {
    let span = meta.span;
    let port = f.required_uint(cx, "port", 65535, span);
    let protocol = f.str(cx, "protocol");
    let stack = f.str_list(cx, "protocolStack");
    let protocol_stack: Vec<String> = match (stack, protocol) {
        (Some(stack), p) => {
            if let Some(p) = p {
                cx.warning(
                    "listener-protocol-conflict",
                    "spec.protocol",
                    Some(p.span),
                    "`protocol` and `protocolStack` are both set; `protocolStack` is used",
                );
            }
            stack
                .into_iter()
                .map(|s| s.value.to_ascii_uppercase())
                .collect()
        }
        (None, Some(p)) => {
            let s: &[&str] = match p.value.to_ascii_uppercase().as_str() {
                "HTTP" => &["HTTP", "TCP"],
                "HTTPS" => &["TLS", "HTTP", "TCP"],
                "HTTPPROXY" => &["PROXY", "HTTP", "TCP"],
                "HTTPSPROXY" => &["TLS", "PROXY", "HTTP", "TCP"],
                "TCP" => &["TCP"],
                "TLS" => &["TLS", "TCP"],
                // Emissary's CRD allows `UDP` but its reader has no such
                // shorthand: HTTP/3 is only reachable through protocolStack.
                "UDP" => {
                    cx.error(
                        "listener-protocol",
                        "spec.protocol",
                        Some(p.span),
                        "protocol UDP is not valid (use protocolStack [TLS, HTTP, UDP] for HTTP/3)",
                    );
                    return None;
                }
                _ => {
                    cx.error(
                        "listener-protocol",
                        "spec.protocol",
                        Some(p.span),
                        format!("protocol `{}` is not one of HTTP, HTTPS, HTTPPROXY, HTTPSPROXY, TCP, TLS, UDP", p.value),
                    );
                    return None;
                }
            };
            s.iter().map(|x| x.to_string()).collect()
        }
        (None, None) => {
            cx.error(
                "missing-field",
                "spec.protocol",
                Some(span),
                "one of `spec.protocol` and `spec.protocolStack` is required",
            );
            return None;
        }
    };
    for p in &protocol_stack {
        if !matches!(p.as_str(), "HTTP" | "TLS" | "PROXY" | "TCP" | "UDP") {
            cx.error(
                "listener-protocol",
                "spec.protocolStack",
                None,
                format!("unknown protocol `{p}` in protocolStack"),
            );
            return None;
        }
    }
    let in_stack = |p: &str| protocol_stack.iter().any(|x| x == p);
    let socket = match protocol_stack.last().map(String::as_str) {
        Some("TCP") => Socket::Tcp,
        Some("UDP") if !in_stack("HTTP") => {
            cx.error(
                "listener-udp",
                "spec.protocolStack",
                None,
                "UDP is only supported with HTTP (HTTP/3: protocolStack [TLS, HTTP, UDP])",
            );
            return None;
        }
        Some("UDP") if in_stack("PROXY") => {
            // Emissary writes the PROXY protocol listener filter on the QUIC
            // listener, which Envoy rejects: leave the Listener out instead.
            cx.error(
                "listener-udp-proxy",
                "spec.protocolStack",
                None,
                "the PROXY protocol cannot be used with UDP (HTTP/3); the Listener is ignored",
            );
            return None;
        }
        Some("UDP") => {
            if !in_stack("TLS") {
                // Kept (as Emissary keeps it): it serves nothing, yet a TCP
                // Listener on the same address and port still advertises
                // HTTP/3.
                cx.warning(
                    "listener-udp-no-tls",
                    "spec.protocolStack",
                    None,
                    "a UDP (HTTP/3) Listener without TLS serves nothing: QUIC always uses TLS; add TLS to protocolStack",
                );
            }
            Socket::Udp
        }
        _ => {
            cx.error(
                "listener-protocol",
                "spec.protocolStack",
                None,
                "the last protocol of protocolStack must be TCP or UDP",
            );
            return None;
        }
    };
    let security_model = match f.str(cx, "securityModel") {
        Some(s) => match s.value.as_str() {
            "XFP" => SecurityModel::Xfp,
            "SECURE" => SecurityModel::Secure,
            "INSECURE" => SecurityModel::Insecure,
            other => {
                cx.error(
                    "listener-security-model",
                    "spec.securityModel",
                    Some(s.span),
                    format!("securityModel `{other}` must be XFP, SECURE or INSECURE"),
                );
                return None;
            }
        },
        None => {
            cx.error(
                "missing-field",
                "spec.securityModel",
                Some(span),
                "required field `spec.securityModel` is missing",
            );
            return None;
        }
    };
    let mut namespace = None;
    let mut host_selector = BTreeMap::new();
    match f.object(cx, "hostBinding") {
        Some(mut hb) => {
            let mut any = false;
            if let Some(mut ns) = hb.object(cx, "namespace") {
                any = true;
                match ns.str(cx, "from") {
                    Some(from) => match from.value.to_ascii_lowercase().as_str() {
                        "all" => namespace = None,
                        "self" => namespace = Some(meta.namespace.clone()),
                        // Allowed by Emissary's CRD but not implemented by
                        // it: Emissary reports it and binds as SELF. Kept
                        // (a warning, not an error) so the Listener serves
                        // the same Hosts as under Emissary.
                        "selector" => {
                            cx.warning(
                                "listener-host-binding-selector",
                                "spec.hostBinding.namespace.from",
                                Some(from.span),
                                "hostBinding.namespace.from SELECTOR is not supported (nor by Emissary 4); the Listener binds the Hosts of its own namespace, as with SELF",
                            );
                            namespace = Some(meta.namespace.clone());
                        }
                        _ => {
                            cx.error(
                                "listener-host-binding",
                                "spec.hostBinding.namespace.from",
                                Some(from.span),
                                format!(
                                    "hostBinding.namespace.from `{}` must be ALL or SELF (or SELECTOR, read as SELF)",
                                    from.value
                                ),
                            );
                            return None;
                        }
                    },
                    None => {
                        cx.error(
                            "missing-field",
                            "spec.hostBinding.namespace.from",
                            Some(span),
                            "`spec.hostBinding.namespace.from` is required",
                        );
                        return None;
                    }
                }
                ns.finish(cx, "hostBinding.namespace");
            }
            if let Some(mut sel) = hb.object(cx, "selector") {
                any = true;
                let labels = sel.has("matchLabels");
                let expressions = sel.node("matchExpressions").map(|n| n.span);
                host_selector = read::labels(cx, &mut sel, "matchLabels");
                sel.finish(cx, "hostBinding.selector");
                // Emissary reads `matchLabels` only: without them a
                // selector that says something is refused (the Listener
                // left out), beside them `matchExpressions` are not read.
                match (labels, expressions) {
                    (false, Some(at)) => {
                        cx.error(
                            "listener-host-binding",
                            "spec.hostBinding.selector.matchExpressions",
                            Some(at),
                            "hostBinding.selector supports only matchLabels, as in Emissary 4: a selector of matchExpressions alone would bind Hosts it does not mean, so the Listener is left out",
                        );
                        return None;
                    }
                    (true, Some(at)) => cx.warning(
                        "listener-selector-expressions",
                        "spec.hostBinding.selector.matchExpressions",
                        Some(at),
                        "matchExpressions are not read (nor by Emissary 4): only matchLabels select the Hosts this Listener binds",
                    ),
                    _ => {}
                }
            }
            hb.finish(cx, "hostBinding");
            if !any {
                cx.error(
                    "listener-host-binding",
                    "spec.hostBinding",
                    Some(span),
                    "hostBinding needs `namespace` or `selector`",
                );
                return None;
            }
        }
        None => {
            cx.error(
                "missing-field",
                "spec.hostBinding",
                Some(span),
                "required field `spec.hostBinding` is missing",
            );
            return None;
        }
    }
    let l7_depth = f
        .uint(cx, "l7Depth", u32::MAX as u64)
        .map(|s| s.value as u32)
        .unwrap_or(0);
    let stats_prefix = f.str(cx, "statsPrefix").map(|s| s.value);
    let bind_address = f
        .str(cx, "bind_address")
        .map(|s| s.value)
        .unwrap_or_else(|| "0.0.0.0".into());
    let http2_max_concurrent_streams = f
        .uint(cx, "http2MaxConcurrentStreams", i32::MAX as u64)
        .map(|s| s.value as u32);
    let port = port?;
    Some(Listener {
        port: port.value as u16,
        port_span: port.span,
        bind_address,
        protocol_stack,
        socket,
        security_model,
        stats_prefix,
        l7_depth,
        http2_max_concurrent_streams,
        namespace,
        host_selector,
        meta,
    })
}
