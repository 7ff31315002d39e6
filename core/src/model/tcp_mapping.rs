//! The `TCPMapping` kind: a TCP (or TLS-by-SNI) port forwarded to one
//! upstream service.

use super::Meta;
use super::mapping::circuit_breakers;
use super::read::{Cx, Fields, Spanned};
use crate::diag::Span;
use crate::ir::CircuitBreaker;
use crate::source::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct TcpMapping {
    pub meta: Meta,
    pub port: u16,
    pub port_span: Span,
    pub address: Option<String>,
    pub host: Option<String>,
    pub service: Spanned<String>,
    pub tls: Option<Spanned<String>>,
    pub tls_plain: bool,
    pub weight: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub enable_ipv4: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub circuit_breakers: Option<Vec<CircuitBreaker>>,
    pub resolver: Option<Spanned<String>>,
}

pub(crate) fn tcp_mapping(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<TcpMapping> {
    let span = meta.span;
    let port = f.required_uint(cx, "port", 65535, span);
    let service = f.required_str(cx, "service", span);
    let mut tls = None;
    let mut tls_plain = false;
    if let Some(n) = f.node("tls") {
        match &n.value {
            Value::Bool(b) => tls_plain = *b,
            Value::Str(s) => {
                tls = Some(Spanned {
                    value: s.clone(),
                    span: n.span,
                })
            }
            _ => cx.error(
                "wrong-type",
                "spec.tls",
                Some(n.span),
                format!(
                    "`spec.tls` must be a TLSContext name, found {}",
                    n.type_name()
                ),
            ),
        }
    }
    let m = TcpMapping {
        address: f.str(cx, "address").map(|s| s.value),
        host: f.str(cx, "host").map(|s| s.value),
        tls,
        tls_plain,
        weight: f.uint(cx, "weight", 100).map(|s| s.value),
        idle_timeout_ms: f
            .uint(cx, "idle_timeout_ms", u32::MAX as u64)
            .map(|s| s.value),
        enable_ipv4: f.bool(cx, "enable_ipv4"),
        enable_ipv6: f.bool(cx, "enable_ipv6"),
        circuit_breakers: circuit_breakers(cx, f).0,
        resolver: f.str(cx, "resolver"),
        port: port.as_ref().map(|p| p.value as u16).unwrap_or(0),
        port_span: port.as_ref().map(|p| p.span).unwrap_or(span),
        service: service?,
        meta,
    };
    f.ignore(&["cluster_tag", "stats_name", "v2ExplicitTLS"]);
    port?;
    Some(m)
}
