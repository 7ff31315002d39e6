//! `getambassador.io/v2` (and `v1`) manifests → `getambassador.io/v3alpha1`
//! text, for moving an Emissary install to one that serves only v3alpha1.
//!
//! [`migrate`] reads the documents of every file (YAML or JSON, Kubernetes
//! `List`s unwrapped into one document per item) and writes them back as one
//! multi-document YAML text: v2/v1 getambassador.io objects rewritten by the
//! conversion the readers apply to them (`model::v2`, which follows Emissary's
//! own v2 → v3alpha1 conversion; its doc lists the rules), everything else
//! (v3alpha1 objects, core Kubernetes objects) as it was. So translating the
//! output gives what translating the input gives. Comments are not kept;
//! keys keep their order, so the text depends only on the input's content.
//!
//! Server-set metadata (`resourceVersion`, `uid`, `creationTimestamp`,
//! `generation`, `selfLink`, `managedFields`, `status`, kubectl's
//! last-applied annotation) is dropped from converted objects, so the output
//! can be applied to another cluster. What has no v3alpha1 form is dropped
//! with a warning that names it, and so is the earlier copy of an object
//! defined with two apiVersions (the translator uses the later one; once
//! both were v3alpha1 it would keep the first).

use crate::diag::{self, Diagnostic, ObjectRef, Severity, SourceMap};
use crate::inputs::SourceFile;
use crate::model::v2;
use crate::source::{self, Node, Value};
use serde_json::Value as J;

/// The API version every converted object gets.
pub const TARGET: &str = "getambassador.io/v3alpha1";

/// Metadata the API server sets, dropped from converted objects.
const SERVER_METADATA: &[&str] = &[
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "managedFields",
];

/// The annotation kubectl keeps the last applied object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What [`migrate`] gives.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The migrated manifests, multi-document YAML (empty when there is no object).
    pub text: String,
    /// Findings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The input texts, for placing diagnostics.
    pub sources: SourceMap,
    /// How many objects were converted from v2 or v1.
    pub converted: usize,
    /// How many objects went out (converted or not).
    pub objects: usize,
}

impl Migration {
    /// True when some input could not be read (a document was lost).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
    /// The diagnostics as the CLI prints them.
    pub fn render_diagnostics(&self) -> String {
        diag::render(&self.diagnostics, &self.sources)
    }
}

/// Rewrites the getambassador.io v2/v1 objects of `files` as v3alpha1. Total:
/// unreadable documents are reported and left out, everything else goes out.
pub fn migrate(files: &[SourceFile]) -> Migration {
    let mut diags = Vec::new();
    let mut out = Vec::new();
    // The apiVersion each document of `out` had in the input.
    let mut from: Vec<String> = Vec::new();
    let mut converted = 0;
    for (i, f) in files.iter().enumerate() {
        let file = u32::try_from(i).unwrap_or(u32::MAX);
        let (docs, d) = source::parse(file, &f.text, &source::Limits::default());
        diags.extend(d);
        for doc in docs {
            document(&doc.root, &mut out, &mut from, &mut diags, &mut converted);
        }
    }
    let out = drop_superseded(out, &from, &mut diags);
    diag::sort(&mut diags);
    let mut text = String::new();
    for v in &out {
        text.push_str("---\n");
        yaml(&mut text, v);
    }
    Migration {
        text,
        diagnostics: diags,
        sources: SourceMap::new(
            files
                .iter()
                .map(|f| (f.name.clone(), f.text.clone()))
                .collect(),
        ),
        converted,
        objects: out.len(),
    }
}

/// One getambassador.io object defined with two apiVersions (a v2 copy
/// beside its v3alpha1 one): the translator uses the later definition, as
/// Emissary's store does, so the earlier ones are left out of the migrated
/// text (once converted they would be exact duplicates, of which the
/// translator would keep the first). Each left out is reported.
fn drop_superseded(out: Vec<Node>, from: &[String], diags: &mut Vec<Diagnostic>) -> Vec<Node> {
    use std::collections::BTreeMap;
    let identity = |n: &Node| -> Option<(String, String, String)> {
        let kind = n.get("kind").and_then(Node::as_str)?;
        let api = n.get("apiVersion").and_then(Node::as_str)?;
        if !api.starts_with("getambassador.io/") {
            return None;
        }
        let md = n.get("metadata");
        let name = md
            .and_then(|m| m.get("name"))
            .or_else(|| n.get("name"))
            .and_then(Node::as_str)?;
        let ns = md
            .and_then(|m| m.get("namespace"))
            .or_else(|| n.get("namespace"))
            .and_then(Node::as_str)
            .unwrap_or("");
        Some((kind.to_string(), ns.to_string(), name.to_string()))
    };
    let mut groups: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, n) in out.iter().enumerate() {
        if let Some(id) = identity(n) {
            groups.entry(id).or_default().push(i);
        }
    }
    let mut drop = vec![false; out.len()];
    for ((kind, ns, name), members) in groups {
        let versions: std::collections::BTreeSet<&str> =
            members.iter().map(|&i| from[i].as_str()).collect();
        if versions.len() < 2 {
            continue;
        }
        let Some((&last, earlier)) = members.split_last() else {
            continue;
        };
        for &i in earlier {
            drop[i] = true;
            let obj = ObjectRef {
                kind: kind.clone(),
                namespace: ns.clone(),
                name: name.clone(),
            };
            diags.push(
                Diagnostic::warning(
                    "object-duplicate",
                    format!(
                        "{obj} is defined again later in the input as {}: the translator uses that definition, so this {} one is left out of the migrated text",
                        from[last], from[i]
                    ),
                )
                .with_object(obj)
                .with_span(Some(out[i].span)),
            );
        }
    }
    out.into_iter()
        .zip(drop)
        .filter_map(|(n, d)| (!d).then_some(n))
        .collect()
}

/// One document (or List item): pushed as it is, or converted.
fn document(
    node: &Node,
    out: &mut Vec<Node>,
    from: &mut Vec<String>,
    diags: &mut Vec<Diagnostic>,
    converted: &mut usize,
) {
    let str_of = |k: &str| node.get(k).and_then(Node::as_str).unwrap_or("");
    let (api_version, kind) = (str_of("apiVersion"), str_of("kind"));
    let is_list = kind == "List" || (api_version == "v1" && kind.ends_with("List"));
    if is_list && let Some(items) = node.get("items").and_then(Node::as_seq) {
        for it in items {
            document(it, out, from, diags, converted);
        }
        return;
    }
    if !matches!(api_version, "getambassador.io/v2" | "getambassador.io/v1")
        || node.as_map().is_none()
    {
        out.push(node.clone());
        from.push(api_version.to_string());
        return;
    }
    let mut root = node.clone();
    let obj = object_ref(node, kind);
    // The flat form (no metadata, `name` at the top) keeps its fields at the top.
    let flat = node.get("metadata").is_none() && node.get("name").is_some();
    if flat {
        let mut sink = v2::Sink {
            diags,
            obj,
            path: "",
        };
        v2::convert(kind, &mut root, &mut sink);
    } else if let Some(spec) = field_mut(&mut root, "spec") {
        let mut sink = v2::Sink {
            diags,
            obj,
            path: "spec",
        };
        v2::convert(kind, spec, &mut sink);
    }
    if let Value::Map(top) = &mut root.value {
        for (k, v) in top.iter_mut() {
            if k.as_str() == Some("apiVersion") {
                v.value = Value::Str(TARGET.into());
            }
        }
        top.retain(|(k, _)| k.as_str() != Some("status"));
    }
    if let Some(Value::Map(md)) = field_mut(&mut root, "metadata").map(|m| &mut m.value) {
        md.retain(|(k, _)| !k.as_str().is_some_and(|k| SERVER_METADATA.contains(&k)));
        if let Some(Value::Map(ann)) = md
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some("annotations"))
            .map(|(_, v)| &mut v.value)
        {
            ann.retain(|(k, _)| k.as_str() != Some(LAST_APPLIED));
            if ann.is_empty() {
                md.retain(|(k, _)| k.as_str() != Some("annotations"));
            }
        }
    }
    *converted += 1;
    out.push(root);
    from.push(api_version.to_string());
}

/// Writes a document as block YAML, keys in the order of the input (so
/// that what the readers take in order, such as header matches, stays in
/// order); scalars as `pb::yaml` writes them.
fn yaml(out: &mut String, node: &Node) {
    match &node.value {
        Value::Map(m) if !m.is_empty() => map(out, m, 0),
        Value::Seq(items) if !items.is_empty() => seq(out, items, 0),
        _ => {
            scalar(out, node);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn map(out: &mut String, m: &[(Node, Node)], ind: usize) {
    for (k, v) in m {
        indent(out, ind);
        key(out, k);
        after_key(out, v, ind);
    }
}

fn seq(out: &mut String, items: &[Node], ind: usize) {
    for v in items {
        indent(out, ind);
        out.push('-');
        match &v.value {
            Value::Map(m) if !m.is_empty() => {
                // The first entry on the dash line, the others under it.
                for (i, (k, vv)) in m.iter().enumerate() {
                    if i == 0 {
                        out.push(' ');
                    } else {
                        indent(out, ind + 2);
                    }
                    key(out, k);
                    after_key(out, vv, ind + 2);
                }
            }
            Value::Seq(inner) if !inner.is_empty() => {
                out.push('\n');
                seq(out, inner, ind + 2);
            }
            _ => {
                out.push(' ');
                scalar(out, v);
                out.push('\n');
            }
        }
    }
}

fn after_key(out: &mut String, v: &Node, ind: usize) {
    match &v.value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, ind + 2);
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push('\n');
            seq(out, items, ind);
        }
        _ => {
            out.push(' ');
            scalar(out, v);
            out.push('\n');
        }
    }
}

/// A key: always a string, as the readers take keys.
fn key(out: &mut String, k: &Node) {
    let text = crate::pb::yaml::to_string(&J::String(k.scalar_text()));
    out.push_str(text.trim_end_matches('\n'));
    out.push(':');
}

/// A scalar (or an empty collection) as `pb::yaml` writes it.
fn scalar(out: &mut String, v: &Node) {
    let text = crate::pb::yaml::to_string(&v.to_json());
    out.push_str(text.trim_end_matches('\n'));
}

fn field_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(m) => m
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn object_ref(node: &Node, kind: &str) -> ObjectRef {
    let meta = node.get("metadata");
    let text = |n: Option<&Node>| n.map(Node::scalar_text).unwrap_or_default();
    ObjectRef {
        kind: kind.to_string(),
        namespace: text(
            meta.and_then(|m| m.get("namespace"))
                .or_else(|| node.get("namespace")),
        ),
        name: text(
            meta.and_then(|m| m.get("name"))
                .or_else(|| node.get("name")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Migration {
        migrate(&[SourceFile {
            name: "in.yaml".into(),
            text: text.into(),
        }])
    }

    /// The migrated spec of the only object of `text`, as JSON.
    fn spec_of(text: &str) -> J {
        let m = run(text);
        assert_eq!(m.objects, 1, "{}", m.text);
        let (docs, d) = source::parse(0, &m.text, &source::Limits::default());
        assert!(d.is_empty(), "{d:?}");
        let v = docs[0].root.to_json();
        assert_eq!(v["apiVersion"], TARGET, "{}", m.text);
        v["spec"].clone()
    }

    fn v2(kind: &str, spec: &str) -> String {
        format!(
            "apiVersion: getambassador.io/v2\nkind: {kind}\nmetadata: {{name: x, namespace: ns}}\nspec: {spec}\n"
        )
    }

    #[test]
    fn ambassador_id_becomes_a_list_without_the_v3_marker() {
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, ambassador_id: blue}",
        ));
        assert_eq!(s["ambassador_id"], serde_json::json!(["blue"]));
        let s = spec_of(&v2(
            "KubernetesServiceResolver",
            "{ambassador_id: [a, --apiVersion-v3alpha1-only--b]}",
        ));
        assert_eq!(s["ambassador_id"], serde_json::json!(["a", "b"]));
    }

    #[test]
    fn tls_true_becomes_the_https_scheme() {
        let s = spec_of(&v2("Mapping", "{prefix: /, service: s:8443, tls: true}"));
        assert_eq!(s["service"], "https://s:8443");
        assert!(s.get("tls").is_none());
        let s = spec_of(&v2("Mapping", "{prefix: /, service: http://s, tls: true}"));
        assert_eq!(s["service"], "https://s");
        let s = spec_of(&v2("Mapping", "{prefix: /, service: HTTPS://s, tls: true}"));
        assert_eq!(s["service"], "HTTPS://s");
        let s = spec_of(&v2("Mapping", "{prefix: /, service: s, tls: false}"));
        assert_eq!(s["service"], "s");
        assert!(s.get("tls").is_none());
        let s = spec_of(&v2("Mapping", "{prefix: /, service: s, tls: ctx}"));
        assert_eq!((&s["service"], &s["tls"]), (&"s".into(), &"ctx".into()));
        let s = spec_of(&v2("TCPMapping", "{port: 2222, service: s:22, tls: true}"));
        assert_eq!(s["service"], "https://s:22");
        let s = spec_of(&v2("AuthService", "{auth_service: auth:3000, tls: true}"));
        assert_eq!(s["auth_service"], "https://auth:3000");
        let s = spec_of(&v2("RateLimitService", "{service: rl:81, tls: \"\"}"));
        assert_eq!(s["service"], "rl:81");
        assert!(s.get("tls").is_none());
    }

    #[test]
    fn host_becomes_hostname_unless_it_is_a_regex() {
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, host: a.example.com}",
        ));
        assert_eq!(s["hostname"], "a.example.com");
        assert!(s.get("host").is_none());
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, host: '^a[.]', host_regex: true}",
        ));
        assert_eq!(
            (&s["host"], &s["host_regex"]),
            (&"^a[.]".into(), &true.into())
        );
        assert!(s.get("hostname").is_none());
        let s = spec_of(&v2("Mapping", "{prefix: /, service: s}"));
        assert_eq!(s["hostname"], "*");
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, hostname: b, host: c}",
        ));
        assert_eq!((&s["hostname"], &s["host"]), (&"b".into(), &"c".into()));
    }

    #[test]
    fn boolean_matches_become_regexes() {
        let m = run(&v2(
            "Mapping",
            "{prefix: /, service: s, headers: {x-a: true, x-b: v, x-c: false, x-n: 7}, \
             regex_headers: {x-d: '^d$'}, query_parameters: {q: true}}",
        ));
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, headers: {x-a: true, x-b: v, x-c: false, x-n: 7}, \
             regex_headers: {x-d: '^d$'}, query_parameters: {q: true}}",
        ));
        assert_eq!(s["headers"], serde_json::json!({"x-b": "v", "x-n": "7"}));
        assert_eq!(
            s["regex_headers"],
            serde_json::json!({"x-a": ".*", "x-d": "^d$"})
        );
        assert_eq!(s["regex_query_parameters"], serde_json::json!({"q": ".*"}));
        assert!(s.get("query_parameters").is_none());
        let d = &m.diagnostics;
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].code, d[0].path.as_str()),
            ("unknown-field", "spec.headers.x-c")
        );
        let p = m
            .sources
            .position(d[0].span.unwrap(), diag::PositionEncoding::Utf8Bytes);
        assert_eq!(p.map(|p| p.line), Some(4));
        // A regex already set for the name wins, as in Emissary.
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, headers: {x-a: true}, regex_headers: {x-a: '^a$'}}",
        ));
        assert_eq!(s["regex_headers"], serde_json::json!({"x-a": "^a$"}));
    }

    #[test]
    fn comma_separated_origins_become_a_list() {
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, cors: {origins: 'https://a, https://b', methods: GET}}",
        ));
        assert_eq!(
            s["cors"],
            serde_json::json!({"origins": ["https://a", "https://b"], "methods": "GET"})
        );
    }

    #[test]
    fn label_shorthands_become_v3_entries() {
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, labels: {ambassador: [{g: [source_cluster, remote_address, \
             literal, {generic_key: gv}, {x-user: {header: x-user, omit_if_not_present: true}}, \
             {destination_cluster: {key: destination_cluster}}]}]}}",
        ));
        assert_eq!(
            s["labels"]["ambassador"][0]["g"],
            serde_json::json!([
                {"source_cluster": {"key": "source_cluster"}},
                {"remote_address": {"key": "remote_address"}},
                {"generic_key": {"value": "literal"}},
                {"generic_key": {"value": "gv"}},
                {"request_headers": {"key": "x-user", "header_name": "x-user", "omit_if_not_present": true}},
                {"destination_cluster": {"key": "destination_cluster"}},
            ])
        );
    }

    #[test]
    fn renamed_fields_take_their_v3alpha1_names() {
        let s = spec_of(&v2(
            "Mapping",
            "{prefix: /, service: s, v3StatsName: st, v3health_checks: [{health_check: {http: {path: /h}}}]}",
        ));
        assert_eq!(s["stats_name"], "st");
        assert!(s["health_checks"].is_array());
        let s = spec_of(&v2(
            "RateLimitService",
            "{service: rl, v3GRPC: {use_alpn: true}}",
        ));
        assert_eq!(s["grpc"], serde_json::json!({"use_alpn": true}));
        let s = spec_of(&v2("LogService", "{service: l, v3ProtocolVersion: v3}"));
        assert_eq!(s["protocol_version"], "v3");
        let s = spec_of(&v2("TLSContext", "{secret: s, v3CRLSecret: crl}"));
        assert_eq!(s["crl_secret"], "crl");
        let s = spec_of(&v2(
            "AuthService",
            "{auth_service: a, v3CircuitBreakers: [{max_connections: 1}]}",
        ));
        assert!(s["circuit_breakers"].is_array());
        // Both spellings: the v3alpha1 one is kept and the other reported.
        let m = run(&v2(
            "Mapping",
            "{prefix: /, service: s, v3StatsName: a, stats_name: b}",
        ));
        assert!(m.text.contains("stats_name: b"), "{}", m.text);
        assert_eq!(m.diagnostics[0].path, "spec.v3StatsName");
    }

    #[test]
    fn host_fields() {
        let s = spec_of(&v2(
            "Host",
            "{hostname: a, ambassador_id: [x], ambassadorId: y, selector: {matchLabels: {a: b}}, \
             tls: {v3CRLSecret: crl}}",
        ));
        assert_eq!(s["ambassador_id"], serde_json::json!(["x", "y"]));
        assert_eq!(
            s["mappingSelector"],
            serde_json::json!({"matchLabels": {"a": "b"}})
        );
        assert!(s.get("selector").is_none() && s.get("ambassadorId").is_none());
        assert_eq!(s["tls"], serde_json::json!({"crl_secret": "crl"}));
    }

    #[test]
    fn tag_headers_become_custom_tags() {
        let s = spec_of(&v2(
            "TracingService",
            "{service: z:9411, driver: zipkin, tag_headers: [x-a], config: {v3PropagationModes: [B3]}}",
        ));
        assert_eq!(
            s["custom_tags"],
            serde_json::json!([{"tag": "x-a", "request_header": {"name": "x-a"}}])
        );
        assert_eq!(
            s["config"],
            serde_json::json!({"propagation_modes": ["B3"]})
        );
        let m = run(&v2(
            "TracingService",
            "{service: z, driver: zipkin, tag_headers: [x-a], v3CustomTags: [{tag: t, literal: {value: v}}]}",
        ));
        assert!(!m.text.contains("x-a"), "{}", m.text);
        assert_eq!(m.diagnostics[0].code, "tracing-tag-headers");
    }

    #[test]
    fn a_v2_copy_beside_a_later_v3alpha1_one_is_left_out() {
        let m = run(&format!(
            "{}---\n{}---\n{}",
            "apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: same, namespace: ns}\nspec: {prefix: /first/, service: a}\n",
            "apiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {name: same, namespace: ns}\nspec: {prefix: /second/, service: b}\n",
            "apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: other, namespace: ns}\nspec: {prefix: /other/, service: c}\n",
        ));
        assert_eq!((m.objects, m.converted), (2, 2));
        assert!(!m.text.contains("/first/"), "{}", m.text);
        assert!(m.text.contains("/second/") && m.text.contains("/other/"));
        let d: Vec<_> = m.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(d, ["object-duplicate"]);
        // Two copies of one apiVersion are left to the translator.
        let same = run(&format!(
            "{0}---\n{0}",
            "apiVersion: getambassador.io/v2\nkind: Mapping\nmetadata: {name: same}\nspec: {prefix: /x/, service: a}\n"
        ));
        assert_eq!(same.objects, 2);
        assert!(same.diagnostics.is_empty());
    }

    #[test]
    fn metadata_is_kept_without_server_fields_and_others_pass_through() {
        let text = "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: ''}\nitems:\n\
            - apiVersion: getambassador.io/v2\n  kind: Module\n  metadata:\n    name: ambassador\n    namespace: ns\n    \
            labels: {a: b}\n    resourceVersion: '12'\n    uid: u\n    generation: 3\n    \
            creationTimestamp: '2020-01-01T00:00:00Z'\n    managedFields: [{manager: kubectl}]\n    \
            annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}', keep: me}\n  \
            spec: {config: {diagnostics: {enabled: false}}}\n  status: {}\n\
            - apiVersion: v1\n  kind: Service\n  metadata: {name: s, resourceVersion: '9'}\n  spec: {ports: [{port: 80}]}\n\
            - apiVersion: getambassador.io/v3alpha1\n  kind: Mapping\n  metadata: {name: m, uid: u}\n  spec: {prefix: /, service: s, host: h}\n";
        let m = run(text);
        assert_eq!((m.objects, m.converted), (3, 1));
        assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
        assert_eq!(
            m.text,
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata:\n  name: ambassador\n  \
             namespace: ns\n  labels:\n    a: b\n  annotations:\n    keep: me\nspec:\n  config:\n    \
             diagnostics:\n      enabled: false\n\
             ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  resourceVersion: \"9\"\nspec:\n  ports:\n  - port: 80\n\
             ---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata:\n  name: m\n  uid: u\nspec:\n  prefix: /\n  service: s\n  host: h\n"
        );
    }

    #[test]
    fn flat_form_json_and_v1_are_converted() {
        let s = run(
            "{\"apiVersion\": \"getambassador.io/v1\", \"kind\": \"Mapping\", \"name\": \"m\", \
             \"prefix\": \"/\", \"service\": \"s\", \"host\": \"h\", \"tls\": true}",
        );
        assert_eq!(
            s.text,
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nname: m\nprefix: /\nservice: https://s\nhostname: h\n"
        );
    }

    #[test]
    fn unreadable_documents_are_errors() {
        let m = run(
            "apiVersion: getambassador.io/v2\nkind: [\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
        );
        assert!(m.has_errors());
        assert_eq!(m.objects, 1);
        assert!(m.render_diagnostics().contains("yaml-syntax"));
    }
}
