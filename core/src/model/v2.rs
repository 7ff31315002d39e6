//! getambassador.io `v2` (and `v1`) specs rewritten as `v3alpha1` specs,
//! field by field, the way Emissary's own conversion (its `apiext` webhook)
//! rewrites them: what Emissary serves for a v2 object in a cluster is what
//! this conversion gives. The readers of this module read v2 objects through
//! it, and `emissary migrate` ([`mod@crate::migrate`]) writes its result out, so
//! both agree by construction.
//!
//! The rules (`spec` fields, or the top level of the flat annotation form):
//! - every kind: `ambassador_id` becomes a list (without the marker Emissary
//!   adds to v3alpha1-only ids); the `v3…` spellings v2 used for fields added
//!   later (`v3StatsName`, `v3CircuitBreakers`, `v3health_checks`, `v3GRPC`,
//!   `v3ProtocolVersion`, `v3CRLSecret`, `v3CustomTags`,
//!   `v3PropagationModes`) take their v3alpha1 names;
//! - Mapping, TCPMapping, AuthService, RateLimitService: `tls: true` becomes
//!   an `https://` scheme on the service (an `http://` one is replaced);
//!   `tls: false`, `""` or null goes; a TLSContext name stays;
//! - Mapping: `host` becomes `hostname` (a glob) unless `host_regex: true`,
//!   which keeps `host` as the regex; no `host` becomes `hostname: "*"`. A
//!   `headers`/`query_parameters` entry `true` becomes a `regex_headers`/
//!   `regex_query_parameters` entry `.*` (unless that name has a regex
//!   already); `false` and null entries go, with a warning. `cors.origins` as
//!   one comma-separated string becomes a list. Rate-limit `labels` in the v2
//!   shorthands become v3alpha1 entries (`source_cluster`,
//!   `destination_cluster`, `remote_address`, `generic_key`,
//!   `request_headers`);
//! - Host: `ambassadorId` joins `ambassador_id`; `selector` becomes
//!   `mappingSelector`;
//! - TracingService: `tag_headers` becomes `custom_tags` with a
//!   `request_header` each, unless `custom_tags` is set (then it goes, with a
//!   warning).
//!
//! Nodes keep the spans of the text they came from, so diagnostics about the
//! converted spec point into the v2 text.

use crate::diag::{Diagnostic, ObjectRef};
use crate::source::{Node, Value};

/// Emissary's marker for ids that exist only in v3alpha1 (its v3alpha1 → v2
/// conversion adds it); it is taken off.
const ID_MANGLE: &str = "--apiVersion-v3alpha1-only--";

/// Where findings go: the object and the path of the spec (`spec`, or empty
/// for the flat form).
pub(crate) struct Sink<'a> {
    pub(crate) diags: &'a mut Vec<Diagnostic>,
    pub(crate) obj: ObjectRef,
    pub(crate) path: &'a str,
}

impl Sink<'_> {
    fn path(&self, field: &str) -> String {
        if self.path.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.path)
        }
    }
    /// A field with no v3alpha1 form, dropped.
    fn dropped(&mut self, field: &str, node: &Node, why: &str) {
        self.diags.push(
            Diagnostic::warning(
                "unknown-field",
                format!("`{field}` has no getambassador.io/v3alpha1 form ({why}); it is dropped"),
            )
            .with_object(self.obj.clone())
            .with_path(self.path(field))
            .with_span(Some(node.span)),
        );
    }
}

/// Converts the spec of a v2/v1 object of `kind` in place.
pub(crate) fn convert(kind: &str, spec: &mut Node, sink: &mut Sink<'_>) {
    let span = spec.span;
    let Value::Map(s) = &mut spec.value else {
        return;
    };
    ambassador_id(s);
    let renames: &[(&str, &str)] = match kind {
        "Mapping" => &[
            ("v3StatsName", "stats_name"),
            ("v3health_checks", "health_checks"),
        ],
        "TCPMapping" => &[("v3StatsName", "stats_name")],
        "AuthService" => &[
            ("v3StatsName", "stats_name"),
            ("v3CircuitBreakers", "circuit_breakers"),
        ],
        "RateLimitService" => &[("v3StatsName", "stats_name"), ("v3GRPC", "grpc")],
        "LogService" => &[
            ("v3StatsName", "stats_name"),
            ("v3ProtocolVersion", "protocol_version"),
        ],
        "TracingService" => &[
            ("v3StatsName", "stats_name"),
            ("v3CustomTags", "custom_tags"),
        ],
        "TLSContext" => &[("v3CRLSecret", "crl_secret")],
        _ => &[],
    };
    for (from, to) in renames {
        rename(s, from, to, sink, "");
    }
    match kind {
        "Mapping" => {
            tls_service(s, "service");
            mapping_host(s, span);
            bool_matches(s, "headers", "regex_headers", sink);
            bool_matches(s, "query_parameters", "regex_query_parameters", sink);
            if let Some(cors) = get_mut(s, "cors").and_then(map_mut) {
                origins(cors);
            }
            if let Some(labels) = get_mut(s, "labels").and_then(map_mut) {
                rate_limit_labels(labels);
            }
        }
        "TCPMapping" | "RateLimitService" => tls_service(s, "service"),
        "AuthService" => tls_service(s, "auth_service"),
        "Host" => {
            host_ids(s);
            rename(s, "selector", "mappingSelector", sink, "");
            if let Some(tls) = get_mut(s, "tls").and_then(map_mut) {
                rename(tls, "v3CRLSecret", "crl_secret", sink, "tls.");
            }
        }
        "TracingService" => {
            tag_headers(s, sink);
            if let Some(c) = get_mut(s, "config").and_then(map_mut) {
                rename(
                    c,
                    "v3PropagationModes",
                    "propagation_modes",
                    sink,
                    "config.",
                );
            }
        }
        _ => {}
    }
}

type Entries = Vec<(Node, Node)>;

fn get<'a>(s: &'a Entries, key: &str) -> Option<&'a Node> {
    s.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn get_mut<'a>(s: &'a mut Entries, key: &str) -> Option<&'a mut Node> {
    s.iter_mut()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn map_mut(n: &mut Node) -> Option<&mut Entries> {
    match &mut n.value {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// Removes an entry, giving its key and value.
fn remove(s: &mut Entries, key: &str) -> Option<(Node, Node)> {
    let i = s.iter().position(|(k, _)| k.as_str() == Some(key))?;
    Some(s.remove(i))
}

fn string(value: &str, like: &Node) -> Node {
    Node {
        value: Value::Str(value.to_string()),
        span: like.span,
    }
}

/// A mapping node with one entry, placed at `like`.
fn one(key: &str, value: Node, like: &Node) -> Node {
    Node {
        value: Value::Map(vec![(string(key, like), value)]),
        span: like.span,
    }
}

/// `ambassador_id: x` → `[x]`, without Emissary's v3alpha1-only marker.
fn ambassador_id(s: &mut Entries) {
    let Some(n) = get_mut(s, "ambassador_id") else {
        return;
    };
    if let Value::Str(_) = n.value {
        *n = Node {
            value: Value::Seq(vec![n.clone()]),
            span: n.span,
        };
    }
    if let Value::Seq(ids) = &mut n.value {
        for id in ids {
            if let Value::Str(v) = &mut id.value
                && let Some(rest) = v.strip_prefix(ID_MANGLE)
            {
                *v = rest.to_string();
            }
        }
    }
}

/// Moves `from` to `to` (keeping the key's place); when both are set, `to`
/// wins and `from` is dropped.
fn rename(s: &mut Entries, from: &str, to: &str, sink: &mut Sink<'_>, prefix: &str) {
    if get(s, to).is_some() {
        if let Some((_, v)) = remove(s, from) {
            sink.dropped(
                &format!("{prefix}{from}"),
                &v,
                &format!("`{to}` is set too, and is kept"),
            );
        }
        return;
    }
    if let Some((k, _)) = s.iter_mut().find(|(k, _)| k.as_str() == Some(from)) {
        k.value = Value::Str(to.to_string());
    }
}

/// `tls: true` becomes the service's `https://` scheme; a false, empty or
/// null `tls` goes; a TLSContext name stays.
fn tls_service(s: &mut Entries, service: &str) {
    match get(s, "tls").map(|n| &n.value) {
        Some(Value::Bool(true)) => {
            let Some(svc) = get_mut(s, service) else {
                return; // nothing to put the scheme on: the reader reports the missing service
            };
            let Value::Str(v) = &mut svc.value else {
                return;
            };
            let lower = v.to_ascii_lowercase();
            if lower.starts_with("http://") {
                *v = format!("https://{}", &v["http://".len()..]);
            } else if !lower.starts_with("https://") {
                *v = format!("https://{v}");
            }
            remove(s, "tls");
        }
        Some(Value::Bool(false) | Value::Null) => {
            remove(s, "tls");
        }
        Some(Value::Str(t)) if t.is_empty() => {
            remove(s, "tls");
        }
        _ => {}
    }
}

/// `host` is v3alpha1's `hostname` (a glob) unless `host_regex` is true; a
/// Mapping with neither matches every host.
fn mapping_host(s: &mut Entries, span: crate::diag::Span) {
    if get(s, "hostname").is_some() {
        return; // not a v2 field; read as in v3alpha1, where it wins over `host`
    }
    let regex = matches!(
        get(s, "host_regex").map(|n| &n.value),
        Some(Value::Bool(true))
    );
    let host = get(s, "host").map(|n| n.value.clone());
    match host {
        _ if regex && host.is_some() => {}
        Some(Value::Str(h)) if h == "_skip_mapping_with_empty_host_" => {
            remove(s, "host");
        }
        Some(Value::Str(h)) if !h.is_empty() => {
            if let Some((k, _)) = s.iter_mut().find(|(k, _)| k.as_str() == Some("host")) {
                k.value = Value::Str("hostname".into());
            }
        }
        Some(Value::Str(_) | Value::Null) | None => {
            let at = remove(s, "host").map_or(
                Node {
                    value: Value::Null,
                    span,
                },
                |(k, _)| k,
            );
            s.push((string("hostname", &at), string("*", &at)));
        }
        Some(_) => {} // a wrong type: the reader reports it
    }
}

/// `headers`/`query_parameters`: `true` (present) becomes a regex `.*`;
/// `false` and null match nothing v3alpha1 can say.
fn bool_matches(s: &mut Entries, key: &str, regex_key: &str, sink: &mut Sink<'_>) {
    if !matches!(get(s, key).map(|n| &n.value), Some(Value::Map(_)))
        || get(s, regex_key).is_some_and(|r| !matches!(r.value, Value::Map(_)))
    {
        return; // absent, or a wrong type the reader reports
    }
    let Some((key_node, mut entries)) = remove(s, key) else {
        return;
    };
    let Value::Map(items) = std::mem::replace(&mut entries.value, Value::Map(Vec::new())) else {
        return;
    };
    let mut exact = Vec::new();
    let mut presence = Vec::new();
    for (name, v) in items {
        match v.value {
            Value::Bool(true) => presence.push((name, string(".*", &v))),
            Value::Bool(false) | Value::Null => sink.dropped(
                &format!("{key}.{}", name.scalar_text()),
                &v,
                "v2 matches a string or `true` only, and Emissary's conversion drops anything else",
            ),
            // v3alpha1 takes strings only; the readers take a number as its text.
            Value::Int(_) | Value::Float(_) => {
                let text = string(&v.scalar_text(), &v);
                exact.push((name, text));
            }
            _ => exact.push((name, v)),
        }
    }
    if !exact.is_empty() {
        entries.value = Value::Map(exact);
        s.push((key_node.clone(), entries));
    }
    if presence.is_empty() {
        return;
    }
    if get(s, regex_key).is_none() {
        s.push((
            string(regex_key, &key_node),
            Node {
                value: Value::Map(Vec::new()),
                span: key_node.span,
            },
        ));
    }
    if let Some(regex) = get_mut(s, regex_key).and_then(map_mut) {
        for (name, v) in presence {
            if !regex
                .iter()
                .any(|(k, _)| k.scalar_text() == name.scalar_text())
            {
                regex.push((name, v));
            }
        }
    }
}

/// `origins: "a, b"` → `[a, b]`.
fn origins(cors: &mut Entries) {
    let Some(o) = get_mut(cors, "origins") else {
        return;
    };
    if let Value::Str(text) = &o.value {
        let list = text
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| string(x, o))
            .collect();
        o.value = Value::Seq(list);
    }
}

/// Rate-limit labels: `{domain: [{group: [entry, …]}, …]}`; each entry in a
/// v2 shorthand becomes its v3alpha1 form.
fn rate_limit_labels(labels: &mut Entries) {
    for (_, groups) in labels.iter_mut() {
        let Value::Seq(groups) = &mut groups.value else {
            continue;
        };
        for g in groups {
            let Some(g) = map_mut(g) else { continue };
            for (_, entries) in g.iter_mut() {
                let Value::Seq(entries) = &mut entries.value else {
                    continue;
                };
                for e in entries {
                    if let Some(v3) = label_entry(e) {
                        *e = v3;
                    }
                }
            }
        }
    }
}

/// One label entry in v3alpha1 form, when it is in a v2 shorthand.
fn label_entry(e: &Node) -> Option<Node> {
    match &e.value {
        Value::Str(s) => Some(match s.as_str() {
            "source_cluster" | "destination_cluster" | "remote_address" => {
                one(s, one("key", e.clone(), e), e)
            }
            _ => one("generic_key", one("value", e.clone(), e), e),
        }),
        Value::Map(m) if m.len() == 1 => {
            let (k, v) = &m[0];
            match (k.as_str()?, &v.value) {
                ("generic_key", Value::Str(_)) => {
                    Some(one("generic_key", one("value", v.clone(), v), e))
                }
                (
                    "source_cluster"
                    | "destination_cluster"
                    | "remote_address"
                    | "generic_key"
                    | "request_headers",
                    _,
                ) => None,
                (key, Value::Map(h)) => {
                    let header = get(h, "header")?;
                    let mut rh = vec![
                        (string("key", k), string(key, k)),
                        (string("header_name", header), header.clone()),
                    ];
                    if let Some(o) = get(h, "omit_if_not_present") {
                        rh.push((string("omit_if_not_present", o), o.clone()));
                    }
                    let rh = Node {
                        value: Value::Map(rh),
                        span: v.span,
                    };
                    Some(one("request_headers", rh, e))
                }
                _ => None,
            }
        }
        // `{generic_key: value, v3Key: key}`, as Emissary's v3alpha1 → v2 conversion writes it.
        Value::Map(m) if m.len() == 2 => {
            let value = get(m, "generic_key").filter(|v| matches!(v.value, Value::Str(_)))?;
            let key = get(m, "v3Key")?;
            let g = Node {
                value: Value::Map(vec![
                    (string("key", key), key.clone()),
                    (string("value", value), value.clone()),
                ]),
                span: e.span,
            };
            Some(one("generic_key", g, e))
        }
        _ => None,
    }
}

/// Host: `ambassadorId` joins `ambassador_id`.
fn host_ids(s: &mut Entries) {
    let Some((k, extra)) = remove(s, "ambassadorId") else {
        return;
    };
    let extra = match extra.value {
        Value::Seq(ids) => ids,
        _ => vec![extra],
    };
    match get_mut(s, "ambassador_id") {
        Some(Node {
            value: Value::Seq(ids),
            ..
        }) => ids.extend(extra),
        Some(_) => {} // a wrong type: the reader reports it
        None => s.push((
            string("ambassador_id", &k),
            Node {
                value: Value::Seq(extra),
                span: k.span,
            },
        )),
    }
    ambassador_id(s);
}

/// TracingService `tag_headers: [h, …]` → `custom_tags: [{tag: h, request_header: {name: h}}, …]`.
fn tag_headers(s: &mut Entries, sink: &mut Sink<'_>) {
    if !matches!(get(s, "tag_headers").map(|n| &n.value), Some(Value::Seq(_))) {
        return; // absent, or a wrong type the reader reports
    }
    let Some((k, tags)) = remove(s, "tag_headers") else {
        return;
    };
    if get(s, "custom_tags").is_some() {
        sink.diags.push(
            Diagnostic::warning(
                "tracing-tag-headers",
                "`tag_headers` and `custom_tags` are both set; `tag_headers` is dropped, as Emissary's conversion does",
            )
            .with_object(sink.obj.clone())
            .with_path(sink.path("tag_headers"))
            .with_span(Some(k.span)),
        );
        return;
    }
    let Value::Seq(tags) = tags.value else {
        return;
    };
    let custom = tags
        .into_iter()
        .map(|t| Node {
            value: Value::Map(vec![
                (string("tag", &t), t.clone()),
                (string("request_header", &t), one("name", t.clone(), &t)),
            ]),
            span: t.span,
        })
        .collect();
    s.push((
        string("custom_tags", &k),
        Node {
            value: Value::Seq(custom),
            span: k.span,
        },
    ));
}
