//! TLSContext settings → downstream TLS (termination, client-certificate
//! validation with a CA bundle and a revocation list) and upstream TLS
//! (origination: SNI, client certificate, server validation, versions,
//! ALPN, cipher suites, ECDH curves).
//!
//! Validation never fails open: a CA or CRL Secret that cannot be found
//! leaves the referring Host (or Mapping) out instead of serving TLS
//! without the checks its TLSContext asks for.

use super::Lower;
use crate::diag::{Diagnostic, ObjectRef};
use crate::ir::{DownstreamTls, TlsSecret, UpstreamTls};
use crate::model::{TlsContext, TlsSettings};

/// `name[.namespace]` with the given default namespace.
fn split(name: &str, ns: &str, namespacing: bool) -> (String, String) {
    match name.rsplit_once('.') {
        Some((n, ns2)) if namespacing => (n.to_string(), ns2.to_string()),
        _ => (name.to_string(), ns.to_string()),
    }
}

impl Lower<'_> {
    /// The validation secret of `settings` (`ca_secret`, plus `crl_secret`):
    /// `Ok(None)` when nothing is validated, `Err(())` when a Secret is
    /// missing (reported; the referrer must be left out).
    pub(crate) fn validation_secret(
        &mut self,
        s: &TlsSettings,
        ns: &str,
        namespacing: bool,
        by: &ObjectRef,
        path: &str,
    ) -> Result<Option<String>, ()> {
        let Some(ca) = &s.ca_secret else {
            if let Some(crl) = &s.crl_secret {
                self.diags.push(
                    Diagnostic::warning(
                        "tls-crl-without-ca",
                        format!(
                            "crl_secret `{crl}` is ignored: a revocation list needs `ca_secret`"
                        ),
                    )
                    .with_object(by.clone())
                    .with_path(format!("{path}crl_secret")),
                );
            }
            return Ok(None);
        };
        let (n, cns) = split(ca, ns, namespacing);
        let both = self
            .secret(&cns, &n)
            .is_some_and(|s| s.ca_cert.is_some() && s.cert_chain.is_some());
        if both {
            self.diags.push(
                Diagnostic::info(
                    "tls-ca-from-ca-crt",
                    format!("CA Secret `{cns}/{n}` holds both `ca.crt` and `tls.crt`: client certificates are validated against `ca.crt` (the issuing CA, as cert-manager writes it), where Emissary 4 trusts `tls.crt`"),
                )
                .with_object(by.clone())
                .with_path(format!("{path}ca_secret")),
            );
        }
        let pem = self
            .secret(&cns, &n)
            .and_then(|s| s.ca_cert.clone().or_else(|| s.cert_chain.clone()));
        let Some(pem) = pem else {
            self.diags.push(
                Diagnostic::error(
                    "secret-not-found",
                    format!("CA Secret `{cns}/{n}` does not exist or has no `ca.crt` or `tls.crt`; it is left out rather than serving TLS without the certificate checks it asks for"),
                )
                .with_object(by.clone())
                .with_path(format!("{path}ca_secret")),
            );
            return Err(());
        };
        let mut name = format!("ca-{cns}-{n}");
        let mut crl_pem = None;
        if let Some(crl) = &s.crl_secret {
            let (cn, cnns) = split(crl, ns, namespacing);
            match self.secret(&cnns, &cn).and_then(|s| s.crl.clone()) {
                Some(p) => {
                    name = format!("{name}-crl-{cnns}-{cn}");
                    crl_pem = Some(p);
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "secret-not-found",
                            format!("CRL Secret `{cnns}/{cn}` does not exist or has no `crl.pem`; it is left out rather than serving TLS without the revocation checks it asks for"),
                        )
                        .with_object(by.clone())
                        .with_path(format!("{path}crl_secret")),
                    );
                    return Err(());
                }
            }
        }
        self.ir
            .secrets
            .entry(name.clone())
            .or_insert_with(|| TlsSecret {
                name: name.clone(),
                source: ObjectRef {
                    kind: "Secret".into(),
                    namespace: cns,
                    name: n,
                },
                cert_chain: pem,
                private_key: String::new(),
                ca_only: true,
                crl: crl_pem,
            });
        Ok(Some(name))
    }

    /// Downstream TLS for a certificate `secret` and a context's settings;
    /// `None` when a validation Secret is missing (reported).
    ///
    /// `scope` is the namespace of the context's Secrets and whether their
    /// names may say `name.namespace`.
    pub(crate) fn downstream_tls(
        &mut self,
        context: String,
        secret: String,
        s: &TlsSettings,
        scope: (&str, bool),
        by: &ObjectRef,
        path: &str,
    ) -> Option<DownstreamTls> {
        let ca_secret = self.validation_secret(s, scope.0, scope.1, by, path).ok()?;
        if s.cert_required == Some(true) && ca_secret.is_none() {
            self.diags.push(
                Diagnostic::warning(
                    "tls-cert-required-without-ca",
                    "cert_required needs `ca_secret` to validate client certificates against; it is ignored",
                )
                .with_object(by.clone())
                .with_path(format!("{path}cert_required")),
            );
        }
        Some(DownstreamTls {
            context,
            secret,
            alpn_protocols: s.alpn_protocols.clone(),
            min_tls_version: s.min_tls_version.clone(),
            max_tls_version: s.max_tls_version.clone(),
            cipher_suites: s.cipher_suites.clone(),
            ecdh_curves: s.ecdh_curves.clone(),
            require_client_certificate: ca_secret.is_some() && s.cert_required.unwrap_or(false),
            ca_secret,
        })
    }

    /// TLS origination with an optional TLSContext: client certificate from
    /// its `secret`, server validation from its `ca_secret`. `None` when a
    /// validation Secret is missing (reported).
    pub(crate) fn upstream_tls(
        &mut self,
        ctx: Option<&TlsContext>,
        by: &ObjectRef,
    ) -> Option<UpstreamTls> {
        let Some(c) = ctx else {
            return Some(UpstreamTls::default());
        };
        let s = &c.settings;
        let namespacing = self.secret_namespacing(c);
        // A missing client certificate is reported; TLS is still originated without one.
        let client_secret = c.secret.as_ref().and_then(|sec| {
            let (n, ns) = super::hosts::split_secret(&sec.value, namespacing, &c.meta.namespace);
            self.resolve_secret(&n, &ns, &c.meta.obj_ref(), "spec.secret", Some(sec.span))
        });
        let ca_secret = self
            .validation_secret(s, &c.meta.namespace, namespacing, by, "spec.")
            .ok()?;
        Some(UpstreamTls {
            sni: s.sni.clone(),
            client_secret,
            alpn_protocols: s.alpn_protocols.clone(),
            min_tls_version: s.min_tls_version.clone(),
            max_tls_version: s.max_tls_version.clone(),
            cipher_suites: s.cipher_suites.clone(),
            ecdh_curves: s.ecdh_curves.clone(),
            ca_secret,
        })
    }
}
