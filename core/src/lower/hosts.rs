//! Hosts: the synthesized default Host, TLS termination contexts and secrets.

use super::Lower;
use crate::diag::{Diagnostic, ObjectRef};
use crate::ir::{DownstreamTls, TlsSecret};
use crate::model::{Host, InsecureAction, TlsContext, TlsSettings};
use std::collections::BTreeMap;

/// A Host after TLS resolution.
#[derive(Debug, Clone)]
pub(crate) struct HostIr<'a> {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) labels: &'a BTreeMap<String, String>,
    pub(crate) obj: ObjectRef,
    pub(crate) hostname: String,
    pub(crate) sni: String,
    pub(crate) tls: Option<DownstreamTls>,
    /// The namespace of the TLS context (the Host's own for an implicit
    /// or inline one): with `tls.context`, the context's identity.
    pub(crate) ctx_namespace: String,
    pub(crate) insecure_action: InsecureAction,
    pub(crate) mapping_selector: Option<&'a BTreeMap<String, String>>,
}

static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// Resolves every Host (or synthesizes `default-host`).
pub(crate) fn hosts<'a>(lw: &mut Lower<'a>) -> Vec<HostIr<'a>> {
    let objs = lw.objs;
    let mut out = Vec::new();
    if objs.hosts.is_empty() {
        let tcp_hosts: Vec<&str> = objs
            .tcp_mappings
            .iter()
            .filter_map(|t| t.host.as_deref())
            .collect();
        if objs.tls_contexts.iter().any(|c| {
            !c.hosts.is_empty() && !c.hosts.iter().any(|h| tcp_hosts.contains(&h.as_str()))
        }) {
            lw.diags.push(Diagnostic::warning(
                "tls-context-without-host",
                "no Host is defined, so TLSContexts that list `hosts` do not terminate TLS",
            ));
        }
        let ns = lw.opts.ambassador_namespace.clone();
        let obj = ObjectRef {
            kind: "Host".into(),
            namespace: ns.clone(),
            name: "default-host".into(),
        };
        let fallback = "fallback-self-signed-cert";
        let exists = objs
            .secrets
            .contains_key(&(ns.clone(), fallback.to_string()));
        let secret = if exists || lw.opts.placeholder_secrets {
            lw.resolve_secret(fallback, &ns, &obj, "", None)
        } else {
            None
        };
        let tls = secret.map(|secret| DownstreamTls {
            context: "default-host-context".into(),
            secret,
            alpn_protocols: Vec::new(),
            min_tls_version: None,
            max_tls_version: None,
            cipher_suites: Vec::new(),
            ecdh_curves: Vec::new(),
            ca_secret: None,
            require_client_certificate: false,
        });
        let insecure_action = if tls.is_some() {
            InsecureAction::Redirect
        } else {
            InsecureAction::Route
        };
        out.push(HostIr {
            name: "default-host".into(),
            namespace: ns.clone(),
            ctx_namespace: ns,
            labels: &EMPTY,
            obj,
            hostname: "*".into(),
            sni: "*".into(),
            tls,
            insecure_action,
            mapping_selector: None,
        });
        return out;
    }
    for h in &objs.hosts {
        if let Some(hi) = host(lw, h) {
            out.push(hi);
        }
    }
    out
}

fn host<'a>(lw: &mut Lower<'a>, h: &'a Host) -> Option<HostIr<'a>> {
    let obj = h.meta.obj_ref();
    let sni = h
        .hostname
        .rsplit_once(':')
        .map(|(a, _)| a.to_string())
        .unwrap_or_else(|| h.hostname.clone());
    let mut tls = None;
    let mut ctx_namespace = h.meta.namespace.clone();
    if let Some((secret_name, secret_ns)) = &h.tls_secret {
        let ns = secret_ns
            .clone()
            .unwrap_or_else(|| h.meta.namespace.clone());
        let secret = lw.resolve_secret(
            &secret_name.value,
            &ns,
            &obj,
            "spec.tlsSecret.name",
            Some(secret_name.span),
        )?;
        let ctx_name = format!("{}-context", h.meta.name);
        let ctx: Option<&TlsContext> = if let Some(name) = &h.tls_context {
            match lw.tls_context(&name.value) {
                Some(c) => Some(c),
                None => {
                    lw.diags.push(
                        Diagnostic::error(
                            "tls-context-not-found",
                            format!("Host refers to TLSContext `{}`, which does not exist; the Host is ignored", name.value),
                        )
                        .with_object(obj.clone())
                        .with_path("spec.tlsContext.name")
                        .with_span(Some(name.span)),
                    );
                    return None;
                }
            }
        } else if h.tls.is_none() {
            lw.tls_context(&ctx_name)
        } else {
            None
        };
        let settings: TlsSettings = match (ctx, &h.tls) {
            (Some(c), _) => {
                if let Some(cs) = &c.secret {
                    let (n, cns) =
                        split_secret(&cs.value, lw.secret_namespacing(c), &c.meta.namespace);
                    if n != secret_name.value || cns != ns {
                        lw.diags.push(
                            Diagnostic::error(
                                "tls-secret-mismatch",
                                format!(
                                    "Host uses Secret `{}` but its TLSContext `{}` uses `{}`; the Host is ignored",
                                    secret_name.value, c.meta.name, cs.value
                                ),
                            )
                            .with_object(obj.clone())
                            .with_path("spec.tlsSecret.name")
                            .with_span(Some(secret_name.span)),
                        );
                        return None;
                    }
                }
                if !c.hosts.is_empty()
                    && !c
                        .hosts
                        .iter()
                        .any(|x| *x == h.hostname || *x == h.meta.name)
                {
                    lw.diags.push(
                        Diagnostic::warning(
                            "tls-context-hosts-mismatch",
                            format!(
                                "TLSContext `{}` lists hosts {:?}, which do not include this Host's hostname `{}`",
                                c.meta.name, c.hosts, h.hostname
                            ),
                        )
                        .with_object(obj.clone())
                        .with_path("spec.tlsContext"),
                    );
                }
                c.settings.clone()
            }
            (None, Some(inline)) => inline.clone(),
            (None, None) => TlsSettings::default(),
        };
        let (ctx_ns, namespacing) = match ctx {
            Some(c) => (c.meta.namespace.clone(), lw.secret_namespacing(c)),
            None => (h.meta.namespace.clone(), true),
        };
        ctx_namespace = ctx_ns.clone();
        let path = if ctx.is_some() {
            "spec.tlsContext."
        } else {
            "spec.tls."
        };
        tls = Some(lw.downstream_tls(
            ctx.map(|c| c.meta.name.clone()).unwrap_or(ctx_name),
            secret,
            &settings,
            (&ctx_ns, namespacing),
            &obj,
            path,
        )?);
    } else if let Some(name) = &h.tls_context {
        // A Host naming only a TLSContext takes that context's secret.
        // Emissary terminates TLS only for Hosts with `tlsSecret` and serves
        // this one cleartext (redirecting to an https that is not served):
        // a deliberate difference, announced.
        match lw.tls_context(&name.value) {
            Some(c) => {
                if let Some(cs) = &c.secret {
                    lw.diags.push(
                        Diagnostic::warning(
                            "host-tls-without-secret",
                            format!(
                                "Host has `tlsContext` but no `tlsSecret`: TLS is terminated with TLSContext `{}`'s secret, where Emissary 4 terminates no TLS for this Host and serves it cleartext only",
                                c.meta.name
                            ),
                        )
                        .with_object(obj.clone())
                        .with_path("spec.tlsContext")
                        .with_span(Some(name.span))
                        .with_help("add `tlsSecret` naming the TLSContext's secret: both then agree"),
                    );
                    let (n, ns) =
                        split_secret(&cs.value, lw.secret_namespacing(c), &c.meta.namespace);
                    if let Some(secret) =
                        lw.resolve_secret(&n, &ns, &c.meta.obj_ref(), "spec.secret", Some(cs.span))
                    {
                        ctx_namespace = c.meta.namespace.clone();
                        tls = Some(lw.downstream_tls(
                            c.meta.name.clone(),
                            secret,
                            &c.settings,
                            (&c.meta.namespace, lw.secret_namespacing(c)),
                            &obj,
                            "spec.tlsContext.",
                        )?);
                    }
                } else {
                    lw.diags.push(
                        Diagnostic::warning(
                            "tls-context-no-secret",
                            format!(
                                "TLSContext `{}` has no secret; the Host serves cleartext only",
                                c.meta.name
                            ),
                        )
                        .with_object(obj.clone())
                        .with_path("spec.tlsContext.name"),
                    );
                }
            }
            None => {
                lw.diags.push(
                    Diagnostic::error("tls-context-not-found", format!("Host refers to TLSContext `{}`, which does not exist; the Host is ignored", name.value))
                        .with_object(obj.clone())
                        .with_path("spec.tlsContext.name")
                        .with_span(Some(name.span)),
                );
                return None;
            }
        }
    }
    Some(HostIr {
        name: h.meta.name.clone(),
        namespace: h.meta.namespace.clone(),
        labels: &h.meta.labels,
        obj,
        hostname: h.hostname.clone(),
        sni,
        tls,
        ctx_namespace,
        insecure_action: h.insecure_action,
        mapping_selector: h.mapping_selector.as_ref(),
    })
}

/// Whether a TLSContext's secret names are `name.namespace`: its own
/// `secret_namespacing`, else the Module's `defaults.tls_secret_namespacing`.
impl Lower<'_> {
    pub(crate) fn secret_namespacing(&self, ctx: &TlsContext) -> bool {
        ctx.secret_namespacing
            .or(self.module.tls_secret_namespacing)
            .unwrap_or(true)
    }
}

/// `name.namespace` secret references: Emissary splits on the last dot unless
/// `secret_namespacing` is off.
pub(crate) fn split_secret(s: &str, namespacing: bool, default_ns: &str) -> (String, String) {
    if namespacing && let Some((n, ns)) = s.rsplit_once('.') {
        return (n.to_string(), ns.to_string());
    }
    (s.to_string(), default_ns.to_string())
}

impl<'a> Lower<'a> {
    /// The TLSContext a name refers to: Emissary files them by name, so the
    /// first in its load order of those with that name, in any namespace.
    pub(crate) fn tls_context(&self, name: &str) -> Option<&'a TlsContext> {
        self.objs
            .tls_contexts
            .iter()
            .filter(|c| c.meta.name == name)
            .min_by(|a, b| a.meta.load_cmp(&b.meta))
    }

    pub(crate) fn secret_from(
        &mut self,
        s: &crate::model::Secret,
        _by: &ObjectRef,
    ) -> Option<String> {
        let (Some(cert), Some(key)) = (&s.cert_chain, &s.private_key) else {
            return None;
        };
        Some(self.add_secret("secret", &s.meta.namespace, &s.meta.name, cert, Some(key)))
    }

    /// Records a certificate (with its key) or a CA bundle (`key: None`) in the
    /// IR under a name derived from the Secret, and returns that name.
    fn add_secret(
        &mut self,
        prefix: &str,
        ns: &str,
        name: &str,
        pem: &str,
        key: Option<&str>,
    ) -> String {
        let sname = format!("{prefix}-{ns}-{name}");
        let make = || TlsSecret {
            name: sname.clone(),
            source: ObjectRef {
                kind: "Secret".into(),
                namespace: ns.into(),
                name: name.into(),
            },
            cert_chain: pem.to_string(),
            private_key: key.unwrap_or_default().to_string(),
            ca_only: key.is_none(),
            crl: None,
        };
        if let Some(j) = &mut self.journal {
            j.effects
                .push(super::memo::Effect::Secret(Box::new(make())));
        }
        if !self.ir.secrets.contains_key(&sname) {
            super::memo::add_secret(&mut self.ir.secrets, make());
        }
        sname
    }

    /// Finds a TLS Secret, reporting it when missing (or inventing a
    /// placeholder when the caller asked for that).
    pub(crate) fn resolve_secret(
        &mut self,
        name: &str,
        ns: &str,
        by: &ObjectRef,
        path: &str,
        span: Option<crate::diag::Span>,
    ) -> Option<String> {
        match self.secret(ns, name) {
            Some(s) if s.cert_chain.is_some() && s.private_key.is_some() => self.secret_from(s, by),
            Some(_) => {
                self.diags.push(
                    Diagnostic::error("secret-not-tls", format!("Secret `{ns}/{name}` has no `tls.crt` and `tls.key`; the referring object is ignored"))
                        .with_object(by.clone())
                        .with_path(path)
                        .with_span(span),
                );
                None
            }
            None if self.opts.placeholder_secrets => {
                let sname = self.add_secret(
                    "secret",
                    ns,
                    name,
                    super::placeholder::CERT,
                    Some(super::placeholder::KEY),
                );
                self.diags.push(
                    Diagnostic::info(
                        "secret-placeholder",
                        format!(
                            "Secret `{ns}/{name}` is missing; a placeholder certificate is used"
                        ),
                    )
                    .with_object(by.clone())
                    .with_path(path)
                    .with_span(span),
                );
                Some(sname)
            }
            None => {
                self.diags.push(
                    Diagnostic::error(
                        "secret-not-found",
                        format!(
                            "Secret `{ns}/{name}` does not exist; the referring object is ignored"
                        ),
                    )
                    .with_object(by.clone())
                    .with_path(path)
                    .with_span(span)
                    .with_help("create the kubernetes.io/tls Secret, or fix the name"),
                );
                None
            }
        }
    }
}
