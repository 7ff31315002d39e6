//! The `TLSContext` kind: the hosts it applies to, its secret and its TLS
//! settings.

use super::Meta;
use super::read::{Cx, Fields, Spanned};
use super::tls_settings::{TlsSettings, tls_settings};

#[derive(Debug, Clone, PartialEq)]
pub struct TlsContext {
    pub meta: Meta,
    pub hosts: Vec<String>,
    pub secret: Option<Spanned<String>>,
    pub secret_namespacing: Option<bool>,
    pub settings: TlsSettings,
}

pub(crate) fn tls_context(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<TlsContext> {
    let hosts = f
        .str_list(cx, "hosts")
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.value)
        .collect();
    let secret = f.str(cx, "secret");
    let secret_namespacing = f.bool(cx, "secret_namespacing");
    let settings = tls_settings(cx, f, false);
    f.ignore(&["v3CRLSecret", "is_fallback"]);
    Some(TlsContext {
        meta,
        hosts,
        secret,
        secret_namespacing,
        settings,
    })
}
