//! The TLS settings a TLSContext and a Host's inline `spec.tls` share:
//! versions, ALPN, cipher suites and ECDH curves (only the ones Envoy's TLS
//! library knows), client-certificate and CRL secrets, SNI.

use super::read::{Cx, Fields};

/// TLS settings shared by TLSContext and Host `spec.tls`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TlsSettings {
    pub alpn_protocols: Vec<String>,
    pub min_tls_version: Option<String>,
    pub max_tls_version: Option<String>,
    pub cipher_suites: Vec<String>,
    pub ecdh_curves: Vec<String>,
    pub cert_required: Option<bool>,
    pub ca_secret: Option<String>,
    pub crl_secret: Option<String>,
    pub sni: Option<String>,
}

/// TLSContext's names of the settings, and a Host's (camelCase) names.
const NAMES: &[(&str, &str)] = &[
    ("alpn_protocols", "alpnProtocols"),
    ("min_tls_version", "minTlsVersion"),
    ("max_tls_version", "maxTlsVersion"),
    ("cipher_suites", "cipherSuites"),
    ("ecdh_curves", "ecdhCurves"),
    ("cert_required", "certRequired"),
    ("ca_secret", "caSecret"),
    ("crl_secret", "crlSecret"),
    ("redirect_cleartext_from", "redirectCleartextFrom"),
    ("cert_chain_file", "certChainFile"),
    ("private_key_file", "privateKeyFile"),
    ("cacert_chain_file", "cacertChainFile"),
    ("crl_file", "crlFile"),
];

pub(super) fn tls_settings(cx: &mut Cx<'_>, f: &mut Fields<'_>, camel: bool) -> TlsSettings {
    // A Host's inline `tls` takes camelCase names; Emissary renames them to
    // TLSContext's snake_case names before reading, so it takes those too.
    // Where both names are written, Emissary's renaming drops the
    // snake_case one: say so rather than calling it unknown.
    if camel {
        for (snake, camel_name) in NAMES {
            if f.has(snake) && f.has(camel_name) {
                let span = f.node(snake).map(|n| n.span);
                cx.warning(
                    "host-tls-both-names",
                    &f.path(snake),
                    span,
                    format!(
                        "`{}` and `{}` are both set; `{}` is used and `{}` is ignored, as Emissary does",
                        f.path(camel_name),
                        f.path(snake),
                        f.path(camel_name),
                        f.path(snake)
                    ),
                );
            }
        }
    }
    let k = |snake: &'static str| -> &'static str {
        let camel_name = NAMES
            .iter()
            .find(|(s, _)| *s == snake)
            .map_or(snake, |(_, c)| *c);
        if camel && (f.has(camel_name) || !f.has(snake)) {
            camel_name
        } else {
            snake
        }
    };
    let k_alpn_protocols = k("alpn_protocols");
    let k_min_tls_version = k("min_tls_version");
    let k_max_tls_version = k("max_tls_version");
    let k_cipher_suites = k("cipher_suites");
    let k_ecdh_curves = k("ecdh_curves");
    let k_cert_required = k("cert_required");
    let k_ca_secret = k("ca_secret");
    let k_crl_secret = k("crl_secret");
    let k_redirect_cleartext_from = k("redirect_cleartext_from");
    let k_cert_chain_file = k("cert_chain_file");
    let k_private_key_file = k("private_key_file");
    let k_cacert_chain_file = k("cacert_chain_file");
    let k_crl_file = k("crl_file");
    let alpn = f.str_list(cx, k_alpn_protocols).unwrap_or_default();
    let s = TlsSettings {
        alpn_protocols: alpn
            .into_iter()
            .flat_map(|s| {
                s.value
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .collect(),
        min_tls_version: tls_version(cx, f, k_min_tls_version),
        max_tls_version: tls_version(cx, f, k_max_tls_version),
        cipher_suites: known_only(cx, f, k_cipher_suites, "tls-cipher-unknown", |c| {
            let inner = c.strip_prefix('[').and_then(|c| c.strip_suffix(']'));
            inner
                .unwrap_or(c)
                .split('|')
                .all(|n| CIPHERS.contains(&n.trim()))
        }),
        ecdh_curves: known_only(cx, f, k_ecdh_curves, "tls-curve-unknown", |c| {
            CURVES.contains(&c)
        }),
        cert_required: f.bool(cx, k_cert_required),
        ca_secret: f.str(cx, k_ca_secret).map(|s| s.value),
        crl_secret: f.str(cx, k_crl_secret).map(|s| s.value),
        sni: f.str(cx, "sni").map(|s| s.value),
    };
    if let Some(n) = f.node(k_redirect_cleartext_from) {
        cx.info(
            "field-inert",
            &f.path(k_redirect_cleartext_from),
            Some(n.span),
            format!("`{k_redirect_cleartext_from}` has no effect: Emissary 4 does not use it either (cleartext handling is the Host's `requestPolicy.insecure`)"),
        );
    }
    for (key, instead) in [
        (k_cert_chain_file, "secret"),
        (k_private_key_file, "secret"),
        (k_cacert_chain_file, "ca_secret"),
        (k_crl_file, "crl_secret"),
    ] {
        if let Some(n) = f.node(key) {
            cx.warning(
                "tls-file-path",
                &f.path(key),
                Some(n.span),
                format!("`{key}` names a file in Emissary's container, which is not read here: it is ignored; name a Secret with `{instead}` instead"),
            );
        }
    }
    f.ignore(&["v3CRLSecret"]);
    s
}

/// The cipher suites Envoy's TLS library accepts (TLS 1.2 and below; TLS 1.3
/// suites are not configurable).
const CIPHERS: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-PSK-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-PSK-AES128-CBC-SHA",
    "ECDHE-PSK-AES256-CBC-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "PSK-AES128-CBC-SHA",
    "PSK-AES256-CBC-SHA",
    "DES-CBC3-SHA",
];

/// The ECDH curves Envoy's TLS library accepts.
const CURVES: &[&str] = &[
    "X25519",
    "P-256",
    "prime256v1",
    "P-384",
    "P-521",
    "X25519MLKEM768",
];

/// A list of names, without the ones Envoy would reject (each reported):
/// one unknown name would make Envoy refuse the whole configuration.
fn known_only(
    cx: &mut Cx<'_>,
    f: &mut Fields<'_>,
    key: &str,
    code: &'static str,
    known: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in f.str_list(cx, key).unwrap_or_default() {
        if known(&s.value) {
            out.push(s.value);
        } else {
            cx.warning(
                code,
                &f.path(key),
                Some(s.span),
                format!(
                    "`{}` is not known to Envoy's TLS library; it is left out",
                    s.value
                ),
            );
        }
    }
    out
}

fn tls_version(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> Option<String> {
    let v = f.str(cx, key)?;
    if matches!(v.value.as_str(), "v1.0" | "v1.1" | "v1.2" | "v1.3") {
        Some(v.value)
    } else {
        cx.error(
            "tls-version",
            &f.path(key),
            Some(v.span),
            format!(
                "`{}` is not a TLS version; use one of v1.0, v1.1, v1.2, v1.3",
                v.value
            ),
        );
        None
    }
}
