//! The core Kubernetes `Secret`: `kubernetes.io/tls` (and `Opaque`) data
//! and stringData decoded into certificate chain, private key, CA bundle and
//! CRL.

use super::Meta;
use super::read::{Cx, Fields};

/// A `kubernetes.io/tls` Secret, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub meta: Meta,
    pub cert_chain: Option<String>,
    pub private_key: Option<String>,
    /// `ca.crt`, for client-certificate validation.
    pub ca_cert: Option<String>,
    /// `crl.pem`, a certificate revocation list.
    pub crl: Option<String>,
}

pub(crate) fn secret(cx: &mut Cx<'_>, f: &mut Fields<'_>, meta: Meta) -> Option<Secret> {
    let ty = f
        .str(cx, "type")
        .map(|s| s.value)
        .unwrap_or_else(|| "Opaque".into());
    f.ignore(&["immutable"]);
    let mut s = Secret {
        meta,
        cert_chain: None,
        private_key: None,
        ca_cert: None,
        crl: None,
    };
    if let Some(mut data) = f.object(cx, "data") {
        for (key, slot) in [
            ("tls.crt", 0),
            ("tls.key", 1),
            ("ca.crt", 2),
            ("user.key", 4),
            ("crl.pem", 3),
        ] {
            let Some(v) = data.str(cx, key) else { continue };
            let decoded = match base64_decode(&v.value) {
                Some(d) => d,
                None => {
                    cx.error(
                        "secret-base64",
                        &format!("data.{key}"),
                        Some(v.span),
                        format!("`data.{key}` is not valid base64"),
                    );
                    continue;
                }
            };
            match slot {
                0 => s.cert_chain = Some(decoded),
                1 => s.private_key = Some(decoded),
                2 => s.ca_cert = Some(decoded),
                3 => s.crl = Some(decoded),
                _ => {}
            }
        }
        data.finish(cx, "Secret data");
    }
    if let Some(mut sd) = f.object(cx, "stringData") {
        if let Some(v) = sd.str(cx, "tls.crt") {
            s.cert_chain = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "tls.key") {
            s.private_key = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "ca.crt") {
            s.ca_cert = Some(v.value);
        }
        if let Some(v) = sd.str(cx, "crl.pem") {
            s.crl = Some(v.value);
        }
        sd.finish(cx, "Secret stringData");
    }
    if ty != "kubernetes.io/tls" && ty != "Opaque" && ty != "istio.io/key-and-cert" {
        return None;
    }
    Some(s)
}

/// Standard base64 (with or without padding, whitespace ignored) to UTF-8 text.
fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine as _;
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(clean.trim_end_matches('=').as_bytes())
        })
        .ok()?;
    String::from_utf8(bytes).ok()
}
