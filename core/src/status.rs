//! What a translation says about each object: the facts a host writes back
//! as the object's status (Kubernetes' status subresource; the playground's
//! problems list).
//!
//! An object is **accepted** when no error names it; it is **served** when
//! the IR holds something it gave (a route, a cluster, a listener, a virtual
//! host). A Host also gets Emissary's Host status: `Ready` or `Error`, and
//! where its certificate comes from (`Other`: a Secret it names; `None`: it
//! serves cleartext only).
//!
//! Decision: Emissary's Host phases (`phaseCompleted`, `phasePending`) track
//! ACME, which belongs to Ambassador Edge Stack; they are always `NA` here,
//! as they are in Emissary for a Host without ACME.

use crate::diag::{Diagnostic, ObjectRef, PositionEncoding, Severity, SourceMap};
use crate::ir::{ChainKind, Ir};
use std::collections::BTreeMap;

/// One finding about an object, where it points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The diagnostic's code (`mapping-bad-prefix`).
    pub code: &'static str,
    /// Its message.
    pub message: String,
    /// The field path inside the object (`spec.prefix`), empty for the whole object.
    pub path: String,
    /// The 1-based line of the input it points at, when it points at one.
    pub line: Option<usize>,
}

/// Where a Host's certificate comes from (Emissary's `tlsCertificateSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum TlsCertificateSource {
    /// Cleartext only.
    None,
    /// A Secret the Host names.
    Other,
}

/// Emissary's Host status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostStatus {
    /// `Ready` or `Error`.
    pub state: &'static str,
    /// Why the state is `Error`.
    pub error_reason: Option<String>,
    /// Where the certificate comes from.
    pub tls_certificate_source: TlsCertificateSource,
}

/// What the translation says about one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectStatus {
    /// The object.
    pub object: ObjectRef,
    /// Errors naming it, in diagnostic order; none: it is accepted.
    pub errors: Vec<Problem>,
    /// Warnings naming it, in diagnostic order.
    pub warnings: Vec<Problem>,
    /// The IR holds something it gave.
    pub served: bool,
    /// For a Host.
    pub host: Option<HostStatus>,
}

impl ObjectStatus {
    /// No error names the object.
    pub fn accepted(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The status of each of `objects` (in their order) after the translation
/// that gave `ir` and `diagnostics` (positions from `sources`).
pub fn statuses(
    ir: &Ir,
    diagnostics: &[Diagnostic],
    sources: &SourceMap,
    objects: &[ObjectRef],
) -> Vec<ObjectStatus> {
    let mut found: BTreeMap<&ObjectRef, (Vec<Problem>, Vec<Problem>)> = BTreeMap::new();
    for d in diagnostics {
        let Some(o) = &d.object else { continue };
        let p = Problem {
            code: d.code,
            message: d.message.clone(),
            path: d.path.clone(),
            line: d
                .span
                .and_then(|s| sources.position(s, PositionEncoding::Utf8Bytes))
                .map(|p| p.line),
        };
        let e = found.entry(o).or_default();
        match d.severity {
            Severity::Error => e.0.push(p),
            Severity::Warning => e.1.push(p),
            _ => {}
        }
    }
    let served = Served::of(ir);
    objects
        .iter()
        .map(|o| {
            let (errors, warnings) = found.remove(o).unwrap_or_default();
            let host = (o.kind == "Host").then(|| HostStatus {
                state: if errors.is_empty() { "Ready" } else { "Error" },
                error_reason: errors.first().map(|p| p.message.clone()),
                tls_certificate_source: if served.tls_hosts.contains(o) {
                    TlsCertificateSource::Other
                } else {
                    TlsCertificateSource::None
                },
            });
            ObjectStatus {
                object: o.clone(),
                served: served.objects.contains(o),
                errors,
                warnings,
                host,
            }
        })
        .collect()
}

/// The objects the IR holds something of.
struct Served<'a> {
    objects: std::collections::BTreeSet<&'a ObjectRef>,
    tls_hosts: std::collections::BTreeSet<&'a ObjectRef>,
}

impl<'a> Served<'a> {
    fn of(ir: &'a Ir) -> Served<'a> {
        let mut objects = std::collections::BTreeSet::new();
        let mut tls_hosts = std::collections::BTreeSet::new();
        for r in &ir.routes {
            objects.insert(&r.source);
        }
        for c in ir.clusters.values() {
            objects.extend(c.sources.iter());
        }
        for l in &ir.listeners {
            objects.extend(l.sources.iter());
            for chain in &l.chains {
                if let ChainKind::Http { vhosts, .. } = &chain.kind {
                    for v in vhosts {
                        objects.insert(&v.host);
                        if chain.tls.is_some() {
                            tls_hosts.insert(&v.host);
                        }
                    }
                }
            }
        }
        Served { objects, tls_hosts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Inputs, Options, SourceFile, translate};

    fn obj(kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn errors_warnings_served_and_host_state() {
        let yaml = r#"
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: l, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h, namespace: default}
spec: {hostname: "*", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: good, namespace: default}
spec: {hostname: "*", prefix: /a/, service: a}
---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {name: bad, namespace: default}
spec: {hostname: "*", prefix: 5, service: 7, timeout_ms: x}
"#;
        let t = translate(&Inputs {
            files: vec![SourceFile {
                name: "m.yaml".into(),
                text: yaml.into(),
            }],
            options: Options::default(),
        });
        let objects = [
            obj("Host", "default", "h"),
            obj("Mapping", "default", "good"),
            obj("Mapping", "default", "bad"),
            obj("Mapping", "default", "absent"),
        ];
        let s = statuses(&t.ir, &t.diagnostics, &t.sources, &objects);
        assert_eq!(s.len(), 4);
        let host = s[0].host.as_ref().expect("a Host has a Host status");
        assert_eq!(host.state, "Ready");
        assert_eq!(host.tls_certificate_source, TlsCertificateSource::None);
        assert!(s[0].served);
        assert!(s[1].accepted() && s[1].served, "{:?}", s[1]);
        assert!(!s[2].accepted(), "{:?}", s[2]);
        assert!(s[2].errors[0].line.is_some_and(|l| l >= 19), "{:?}", s[2]);
        assert!(!s[2].served);
        assert!(s[3].accepted() && !s[3].served);
        assert!(s[1].host.is_none());
    }
}
