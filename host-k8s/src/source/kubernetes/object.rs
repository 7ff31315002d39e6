//! One watched object as the store holds it: its [`Key`] and its text.
//!
//! The text is the object as JSON (which core reads as YAML), one field per
//! line so that diagnostics point at a useful line, without what the API
//! server adds and translation never reads: `status`, `managedFields`,
//! `resourceVersion`, `uid`, `creationTimestamp` and kubectl's
//! `last-applied-configuration` annotation. So a status write (ours or
//! anyone's) gives the same text, and the pipeline sees nothing to do.
//! `generation` stays: status conditions report it as `observedGeneration`.
//!
//! A Secret keeps only what TLS needs (`tls.crt`, `tls.key`, `ca.crt`,
//! `crl.pem`, `user.key`, as core's Secret reader does), so other data in
//! the cluster's Secrets is never held.

use kube::api::DynamicObject;
use serde_json::{Map, Value};

use super::Kind;
use crate::source::Key;

/// The keys of a Secret's `data` that translation reads.
pub const SECRET_KEYS: &[&str] = &["tls.crt", "tls.key", "ca.crt", "crl.pem", "user.key"];

/// The key of an object of `kind`: `Kind/namespace/name`, or `Kind/name`
/// for a cluster-scoped kind.
pub fn key(kind: &Kind, namespace: Option<&str>, name: &str) -> Key {
    match namespace {
        Some(ns) if kind.namespaced => Key(format!("{}/{ns}/{name}", kind.kind)),
        _ => Key(format!("{}/{name}", kind.kind)),
    }
}

/// The key of a watched object.
pub fn key_of(kind: &Kind, obj: &DynamicObject) -> Key {
    key(
        kind,
        obj.metadata.namespace.as_deref(),
        obj.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// What the status writer needs of `obj`: its generation and status.
pub fn observed(obj: &DynamicObject) -> super::Observed {
    super::Observed {
        generation: obj.metadata.generation,
        status: obj.data.get("status").cloned(),
    }
}

/// The text the store holds for `obj` (see the module docs), as
/// `api_version` (the version it was watched at).
pub fn text(kind: &Kind, api_version: &str, obj: DynamicObject) -> String {
    let mut meta = Map::new();
    let m = obj.metadata;
    if let Some(n) = m.name {
        meta.insert("name".into(), Value::String(n));
    }
    if let Some(ns) = m.namespace {
        meta.insert("namespace".into(), Value::String(ns));
    }
    if let Some(g) = m.generation {
        meta.insert("generation".into(), Value::from(g));
    }
    if let Some(l) = m.labels.filter(|l| !l.is_empty()) {
        meta.insert("labels".into(), serde_json::to_value(l).unwrap_or_default());
    }
    if let Some(mut a) = m.annotations {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        if !a.is_empty() {
            meta.insert(
                "annotations".into(),
                serde_json::to_value(a).unwrap_or_default(),
            );
        }
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.to_string()));
    out.insert("kind".into(), Value::String(kind.kind.to_string()));
    out.insert("metadata".into(), Value::Object(meta));
    if let Value::Object(body) = obj.data {
        for (k, mut v) in body {
            match k.as_str() {
                "apiVersion" | "kind" | "metadata" | "status" => continue,
                "data" if kind.kind == "Secret" => {
                    if let Value::Object(d) = &mut v {
                        d.retain(|k, _| SECRET_KEYS.contains(&k.as_str()));
                    }
                }
                "stringData" if kind.kind == "Secret" => continue,
                _ => {}
            }
            out.insert(k, v);
        }
    }
    serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> DynamicObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn text_drops_what_the_server_adds_and_keeps_the_spec() {
        let k = super::super::kind("Mapping").unwrap();
        let o = obj(serde_json::json!({
            "apiVersion": "getambassador.io/v3alpha1",
            "kind": "Mapping",
            "metadata": {
                "name": "a", "namespace": "ns", "resourceVersion": "42", "uid": "u",
                "generation": 3,
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "x": "y"}
            },
            "spec": {"prefix": "/a/", "service": "a"},
            "status": {"conditions": []}
        }));
        let t = text(k, "getambassador.io/v3alpha1", o);
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["spec"]["prefix"], "/a/");
        assert_eq!(v["metadata"]["generation"], 3);
        assert_eq!(v["metadata"]["annotations"]["x"], "y");
        for gone in ["resourceVersion", "uid", "managedFields"] {
            assert!(v["metadata"].get(gone).is_none(), "{gone} kept");
        }
        assert!(v.get("status").is_none());
        assert!(t.lines().count() > 5, "one field per line");
        assert_eq!(key_of(k, &obj(v)).0, "Mapping/ns/a");
    }

    #[test]
    fn a_secret_keeps_only_what_tls_reads() {
        let k = super::super::kind("Secret").unwrap();
        let o = obj(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "ns"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Yw==", "tls.key": "aw==", "password": "cA=="},
            "stringData": {"other": "x"}
        }));
        let v: Value = serde_json::from_str(&text(k, "v1", o)).unwrap();
        assert_eq!(v["data"]["tls.crt"], "Yw==");
        assert!(v["data"].get("password").is_none());
        assert!(v.get("stringData").is_none());
        assert_eq!(v["type"], "kubernetes.io/tls");
    }

    #[test]
    fn cluster_scoped_keys_have_no_namespace() {
        let k = super::super::kind("IngressClass").unwrap();
        assert_eq!(key(k, Some("x"), "c").0, "IngressClass/c");
        assert_eq!(key(k, None, "c").0, "IngressClass/c");
    }
}
