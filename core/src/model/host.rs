//! The `Host` kind: hostname, TLS (secret, TLSContext or inline settings),
//! the insecure-request action and the Mapping selector.

use super::Meta;
use super::read::{self, Cx, Fields, Spanned};
use super::tls_settings::{TlsSettings, tls_settings};
use crate::diag::Span;
use std::collections::BTreeMap;

/// What a Host does with cleartext requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InsecureAction {
    Redirect,
    Route,
    Reject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub meta: Meta,
    pub hostname: String,
    pub hostname_span: Option<Span>,
    /// `tlsSecret {name, namespace}`.
    pub tls_secret: Option<(Spanned<String>, Option<String>)>,
    /// `tlsContext {name}`.
    pub tls_context: Option<Spanned<String>>,
    /// Inline `tls {…}`.
    pub tls: Option<TlsSettings>,
    pub insecure_action: InsecureAction,
    pub insecure_additional_port: Option<u64>,
    pub mapping_selector: Option<BTreeMap<String, String>>,
}

pub(crate) fn host(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Host> {
    let hn = f.str(cx, "hostname");
    let tls_secret = f.object(cx, "tlsSecret").and_then(|mut o| {
        let name = o.str(cx, "name");
        let ns = o.str(cx, "namespace").map(|s| s.value);
        o.finish(cx, "tlsSecret");
        if name.is_none() {
            cx.error(
                "missing-field",
                "spec.tlsSecret.name",
                None,
                "`spec.tlsSecret.name` is required",
            );
        }
        name.map(|n| (n, ns))
    });
    let tls_context = f.object(cx, "tlsContext").and_then(|mut o| {
        let name = o.str(cx, "name");
        o.finish(cx, "tlsContext");
        name
    });
    let tls = f.object(cx, "tls").map(|mut o| {
        let s = tls_settings(cx, &mut o, true);
        o.finish(cx, "tls");
        s
    });
    let mut insecure_action = InsecureAction::Redirect;
    let mut insecure_additional_port = None;
    if let Some(mut rp) = f.object(cx, "requestPolicy") {
        if let Some(mut ins) = rp.object(cx, "insecure") {
            if let Some(a) = ins.str(cx, "action") {
                insecure_action = match a.value.as_str() {
                    "Redirect" => InsecureAction::Redirect,
                    "Route" => InsecureAction::Route,
                    "Reject" => InsecureAction::Reject,
                    other => {
                        cx.warning(
                            "host-insecure-action",
                            "spec.requestPolicy.insecure.action",
                            Some(a.span),
                            format!("insecure action `{other}` must be Redirect, Route or Reject; Redirect is used"),
                        );
                        InsecureAction::Redirect
                    }
                };
            }
            insecure_additional_port = ins.uint(cx, "additionalPort", 65535).map(|s| s.value);
            ins.finish(cx, "requestPolicy.insecure");
        }
        rp.finish(cx, "requestPolicy");
    }
    let mut mapping_selector = selector(cx, f, "mappingSelector");
    if mapping_selector.is_none() {
        mapping_selector = selector(cx, f, "selector");
    }
    f.ignore(&[
        "acmeProvider",
        "previewUrl",
        "tlsCertificateSource",
        "ambassadorId",
    ]);
    Some(Host {
        hostname: hn
            .as_ref()
            .map(|h| h.value.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "*".into()),
        hostname_span: hn.map(|h| h.span),
        tls_secret,
        tls_context,
        tls,
        insecure_action,
        insecure_additional_port,
        mapping_selector,
        meta,
    })
}

fn selector(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Option<BTreeMap<String, String>> {
    let mut o = f.object(cx, key)?;
    let labels = read::labels(cx, &mut o, "matchLabels");
    if let Some(n) = o.node("matchExpressions") {
        cx.warning(
            "selector-match-expressions",
            &o.path("matchExpressions"),
            Some(n.span),
            "matchExpressions are not supported by Emissary; only matchLabels are used",
        );
    }
    o.finish(cx, key);
    Some(labels)
}
