//! Kubernetes Services and Ingresses as Emissary reads them: the
//! `getambassador.io/config` annotation, and Ingress rules turned into Hosts
//! and Mappings.
//!
//! An annotation holds one or more YAML documents of Emissary resources in
//! the flat form; each document's namespace and labels default to the
//! annotated object's. An Ingress is ours when its class is `ambassador`
//! (the `kubernetes.io/ingress.class` annotation) or an IngressClass whose
//! controller is `getambassador.io/ingress-controller`. Its TLS entries
//! become Hosts, its rules and default backend Mappings, exactly as
//! Emissary's `IngressProcessor` builds them; the generated objects are then
//! read like any other flat-form object, after every document is loaded
//! (IngressClasses and Service port names may come later in the input).

use crate::diag::{Diagnostic, ObjectRef, Span};
use crate::source::{Node, Value};
use std::collections::{BTreeMap, BTreeSet};

const CONTROLLER: &str = "getambassador.io/ingress-controller";

/// What Ingress translation needs from the whole input.
#[derive(Debug, Default, Clone)]
pub(crate) struct Kube {
    ingresses: Vec<IngressDoc>,
    /// Names of IngressClasses whose controller is Emissary's.
    classes: BTreeSet<String>,
    /// Named Service ports: (namespace, service, port name) → port.
    ports: BTreeMap<(String, String, String), i64>,
}

#[derive(Debug, Clone)]
struct IngressDoc {
    node: Node,
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
}

fn annotation<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get("metadata")?.get("annotations")?.get(key)
}

fn ambassador_id(node: &Node) -> String {
    annotation(node, "getambassador.io/ambassador-id")
        .and_then(Node::as_str)
        .unwrap_or("default")
        .to_string()
}

/// Gives every node of a tree the same span (text from an annotation has no
/// position of its own in the file).
fn respan(node: &mut Node, span: Span) {
    node.span = span;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| respan(n, span)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            respan(k, span);
            respan(v, span);
        }),
        _ => {}
    }
}

fn s(text: &str, span: Span) -> Node {
    Node {
        value: Value::Str(text.to_string()),
        span,
    }
}

fn map(entries: Vec<(&str, Node)>, span: Span) -> Node {
    Node {
        value: Value::Map(entries.into_iter().map(|(k, v)| (s(k, span), v)).collect()),
        span,
    }
}

fn labels_node(labels: &BTreeMap<String, String>, span: Span) -> Node {
    Node {
        value: Value::Map(
            labels
                .iter()
                .map(|(k, v)| (s(k, span), s(v, span)))
                .collect(),
        ),
        span,
    }
}

/// The documents of a `getambassador.io/config` annotation, folded as
/// Emissary's Go side folds them: namespace and labels default to the
/// parent's, `ambassador/vX` means `getambassador.io/vX`.
pub(crate) fn annotation_docs(
    parent: &Node,
    obj: &ObjectRef,
    labels: &BTreeMap<String, String>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Node> {
    let Some(ann) = annotation(parent, "getambassador.io/config") else {
        return Vec::new();
    };
    let span = ann.span;
    let Some(text) = ann.as_str() else {
        diags.push(
            Diagnostic::error(
                "annotation-invalid",
                format!(
                    "the getambassador.io/config annotation must be a string, found {}",
                    ann.type_name()
                ),
            )
            .with_object(obj.clone())
            .with_path("metadata.annotations.getambassador.io/config")
            .with_span(Some(span)),
        );
        return Vec::new();
    };
    let (docs, errs) = crate::source::parse(span.file, text, &crate::source::Limits::default());
    for e in errs {
        diags.push(
            Diagnostic::error(
                "annotation-invalid",
                format!(
                    "the getambassador.io/config annotation is not valid YAML: {}",
                    e.message
                ),
            )
            .with_object(obj.clone())
            .with_path("metadata.annotations.getambassador.io/config")
            .with_span(Some(span)),
        );
    }
    let mut out = Vec::new();
    for d in docs {
        let mut root = d.root;
        respan(&mut root, span);
        if let Value::Map(entries) = &mut root.value {
            for (k, v) in entries.iter_mut() {
                if k.as_str() == Some("apiVersion")
                    && let Some(rest) = v.as_str().and_then(|a| a.strip_prefix("ambassador/"))
                {
                    *v = s(&format!("getambassador.io/{rest}"), span);
                }
            }
            let has = |entries: &[(Node, Node)], key: &str| {
                entries
                    .iter()
                    .any(|(k, v)| k.as_str() == Some(key) && !v.is_null())
            };
            if !has(entries, "metadata") {
                if !has(entries, "namespace") {
                    entries.retain(|(k, _)| k.as_str() != Some("namespace"));
                    entries.push((s("namespace", span), s(&obj.namespace, span)));
                }
                if !has(entries, "metadata_labels") && !labels.is_empty() {
                    entries.push((s("metadata_labels", span), labels_node(labels, span)));
                }
            }
        } else if root.is_null() {
            continue;
        }
        out.push(root);
    }
    out
}

impl Kube {
    /// True when nothing was remembered.
    pub(crate) fn is_empty(&self) -> bool {
        self.ingresses.is_empty() && self.classes.is_empty() && self.ports.is_empty()
    }

    /// True when it holds an Ingress: without one, nothing is generated.
    pub(crate) fn has_ingresses(&self) -> bool {
        !self.ingresses.is_empty()
    }

    /// Adds what `other` remembered, as if its documents had come after ours.
    pub(crate) fn append(&mut self, other: Kube) {
        self.ingresses.extend(other.ingresses);
        self.classes.extend(other.classes);
        self.ports.extend(other.ports);
    }

    /// Remembers a Service's named ports.
    pub(crate) fn service(&mut self, node: &Node, namespace: &str, name: &str) {
        let ports = node.get("spec").and_then(|s| s.get("ports"));
        for p in ports.and_then(Node::as_seq).unwrap_or_default() {
            if let (Some(pn), Some(Value::Int(port))) = (
                p.get("name").and_then(Node::as_str),
                p.get("port").map(|n| &n.value),
            ) {
                self.ports.insert(
                    (namespace.to_string(), name.to_string(), pn.to_string()),
                    *port,
                );
            }
        }
    }

    /// Remembers an IngressClass whose controller is Emissary's.
    pub(crate) fn ingress_class(&mut self, node: &Node, name: &str, ambassador_id_wanted: &str) {
        let controller = node
            .get("spec")
            .and_then(|s| s.get("controller"))
            .and_then(Node::as_str)
            .unwrap_or("");
        if controller.eq_ignore_ascii_case(CONTROLLER)
            && ambassador_id(node) == ambassador_id_wanted
        {
            self.classes.insert(name.to_string());
        }
    }

    pub(crate) fn ingress(
        &mut self,
        node: &Node,
        name: &str,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) {
        self.ingresses.push(IngressDoc {
            node: node.clone(),
            name: name.to_string(),
            namespace: namespace.to_string(),
            labels: labels.clone(),
        });
    }

    /// The flat-form Hosts and Mappings of every Ingress that is ours.
    pub(crate) fn generated(
        &self,
        ambassador_id_wanted: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Node> {
        let mut out = Vec::new();
        for ing in &self.ingresses {
            self.ingress_objects(ing, ambassador_id_wanted, diags, &mut out);
        }
        out
    }

    fn ingress_objects(
        &self,
        ing: &IngressDoc,
        wanted_id: &str,
        diags: &mut Vec<Diagnostic>,
        out: &mut Vec<Node>,
    ) {
        let node = &ing.node;
        let obj = ObjectRef {
            kind: "Ingress".into(),
            namespace: ing.namespace.clone(),
            name: ing.name.clone(),
        };
        let spec = node.get("spec");
        let class = spec
            .and_then(|s| s.get("ingressClassName"))
            .and_then(Node::as_str)
            .unwrap_or("");
        let annotated = annotation(node, "kubernetes.io/ingress.class")
            .and_then(Node::as_str)
            .is_some_and(|c| c.eq_ignore_ascii_case("ambassador"));
        if !(annotated || self.classes.contains(class)) {
            diags.push(
                Diagnostic::info(
                    "ingress-not-ours",
                    if class.is_empty() {
                        "Ingress has neither `kubernetes.io/ingress.class: ambassador` nor an ingressClassName; it is ignored".to_string()
                    } else {
                        format!("IngressClass `{class}` is not one whose controller is {CONTROLLER}; the Ingress is ignored")
                    },
                )
                .with_object(obj)
                .with_span(Some(node.span)),
            );
            return;
        }
        if ambassador_id(node) != wanted_id {
            return;
        }
        let span = node.span;
        let ns = ing.namespace.as_str();
        let flat = |kind: &str,
                    name: String,
                    labels: &BTreeMap<String, String>,
                    mut spec: Vec<(&str, Node)>| {
            let mut e = vec![
                ("apiVersion", s("getambassador.io/v3alpha1", span)),
                ("kind", s(kind, span)),
                ("name", s(&name, span)),
                ("namespace", s(ns, span)),
                ("ambassador_id", s(wanted_id, span)),
            ];
            if !labels.is_empty() {
                e.push(("metadata_labels", labels_node(labels, span)));
            }
            e.append(&mut spec);
            map(e, span)
        };
        let spec_get = |k: &str| spec.and_then(|s| s.get(k));

        let mut ingress_id = None;
        for (ti, tls) in spec_get("tls")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let id = format!("a10r-ingress-{}-{}", ing.name, ns);
            ingress_id = Some(id.clone());
            let Some(secret) = tls.get("secretName").and_then(Node::as_str) else {
                continue;
            };
            let hosts: Vec<String> = match tls.get("hosts").and_then(Node::as_seq) {
                Some(h) => h.iter().map(Node::scalar_text).collect(),
                None => vec!["*".into()],
            };
            for (hi, host) in hosts.iter().enumerate() {
                out.push(flat(
                    "Host",
                    format!("{}-{ti}-{hi}", ing.name),
                    &ing.labels,
                    vec![
                        ("hostname", s(host, span)),
                        ("tlsSecret", map(vec![("name", s(secret, span))], span)),
                        (
                            "mappingSelector",
                            map(
                                vec![(
                                    "matchLabels",
                                    map(vec![("a10r-k8s-ingress", s(&id, span))], span),
                                )],
                                span,
                            ),
                        ),
                        (
                            "requestPolicy",
                            map(
                                vec![("insecure", map(vec![("action", s("Route", span))], span))],
                                span,
                            ),
                        ),
                    ],
                ));
            }
        }
        let mut mapping_labels = ing.labels.clone();
        if let Some(id) = &ingress_id {
            mapping_labels.insert("a10r-k8s-ingress".into(), id.clone());
        }

        let default_backend = spec_get("defaultBackend").or_else(|| spec_get("backend"));
        if let Some(b) = default_backend
            && let Some((svc, port)) = self.backend(b, ns)
        {
            out.push(flat(
                "Mapping",
                format!("{}-default-backend", ing.name),
                &mapping_labels,
                vec![
                    ("hostname", s("*", span)),
                    ("prefix", s("/", span)),
                    ("service", s(&format!("{svc}.{ns}:{port}"), span)),
                ],
            ));
        }

        let rules = spec_get("rules").and_then(Node::as_seq).unwrap_or_default();
        for (ri, rule) in rules.iter().enumerate() {
            let host = rule.get("host").and_then(Node::as_str);
            let paths = rule
                .get("http")
                .and_then(|h| h.get("paths"))
                .and_then(Node::as_seq)
                .unwrap_or_default();
            for (pi, p) in paths.iter().enumerate() {
                let Some((svc, port)) = p.get("backend").and_then(|b| self.backend(b, ns)) else {
                    diags.push(
                        Diagnostic::warning(
                            "ingress-backend",
                            "this Ingress path has no Service backend with a name and port; it is ignored (as in Emissary)",
                        )
                        .with_object(obj.clone())
                        .with_path(format!("spec.rules[{ri}].http.paths[{pi}].backend"))
                        .with_span(Some(p.span)),
                    );
                    continue;
                };
                let path = p.get("path").and_then(Node::as_str).unwrap_or("/");
                if path.is_empty() {
                    continue;
                }
                let exact = p.get("pathType").and_then(Node::as_str) == Some("Exact");
                let mut spec = vec![
                    ("prefix", s(path, span)),
                    (
                        "prefix_exact",
                        Node {
                            value: Value::Bool(exact),
                            span,
                        },
                    ),
                    (
                        "precedence",
                        Node {
                            value: Value::Int(i64::from(exact)),
                            span,
                        },
                    ),
                    ("service", s(&format!("{svc}.{ns}:{port}"), span)),
                ];
                match host {
                    Some(h) if h.starts_with("*.") => {
                        let re = format!(
                            "{}$",
                            h.replace('.', "\\.").replacen(
                                '*',
                                "^[a-z0-9]([-a-z0-9]*[a-z0-9])?",
                                1
                            )
                        );
                        spec.push(("host", s(&re, span)));
                        spec.push((
                            "host_regex",
                            Node {
                                value: Value::Bool(true),
                                span,
                            },
                        ));
                    }
                    Some(h) => spec.push(("hostname", s(h, span))),
                    None if ingress_id.is_none() => spec.push(("hostname", s("*", span))),
                    None => {}
                }
                out.push(flat(
                    "Mapping",
                    format!("{}-{ri}-{pi}", ing.name),
                    &mapping_labels,
                    spec,
                ));
            }
        }
    }

    /// A backend's Service name and port (a named port resolved through the
    /// Service when it is known), from either the v1 or the v1beta1 shape.
    fn backend(&self, b: &Node, ns: &str) -> Option<(String, String)> {
        let (name, port) = match b.get("service") {
            Some(svc) => {
                let name = svc.get("name").and_then(Node::as_str)?;
                let port = svc.get("port")?;
                let port = port
                    .get("number")
                    .or_else(|| port.get("name"))
                    .filter(|n| !n.is_null())?;
                (name.to_string(), port.scalar_text())
            }
            None => (
                b.get("serviceName").and_then(Node::as_str)?.to_string(),
                b.get("servicePort").filter(|n| !n.is_null())?.scalar_text(),
            ),
        };
        if name.is_empty() || port.is_empty() {
            return None;
        }
        if port.parse::<i64>().is_ok() {
            return Some((name, port));
        }
        let resolved = self
            .ports
            .get(&(ns.to_string(), name.clone(), port.clone()))
            .map(|p| p.to_string())
            .unwrap_or(port);
        Some((name, resolved))
    }
}
