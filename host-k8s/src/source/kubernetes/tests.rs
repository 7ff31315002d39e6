//! The source against a scripted API server ([`crate::status::mock`]):
//! discovery, list then watch, events, bookmarks, `410 Gone`, errors and
//! scoping, as kube's watcher speaks the protocol, including what an API
//! emulator never does (expired resource versions, failing requests).

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use crate::source::Entry;
use crate::status::mock::{MockApi, Pending, status};

const V3: &str = "/apis/getambassador.io/v3alpha1";
const V2: &str = "/apis/getambassador.io/v2";
const CORE: &str = "/api/v1";
const DISCOVERY: &str = "/apis/discovery.k8s.io/v1";
const NETWORKING: &str = "/apis/networking.k8s.io/v1";
const MAPPINGS: &str = "/apis/getambassador.io/v3alpha1/mappings";
const HOSTS: &str = "/apis/getambassador.io/v3alpha1/hosts";

/// A source watching through a mock client, with time paused.
fn start(scope: Scope) -> (KubeSource, MockApi) {
    tokio::time::pause();
    let (client, api) = MockApi::new();
    let mut src = KubeSource::new(client, scope, "test".into());
    src.watch(Arc::new(Signal::default())).expect("a runtime");
    (src, api)
}

/// Answers the discovery of the group version at `path`: the resources
/// `plurals`, or `404` for `None` (its CRDs are not installed).
async fn discovery(api: &mut MockApi, path: &str, plurals: Option<&[&str]>) {
    let p = api.take(Method::GET, path, |p| p.path_only() == path).await;
    match plurals {
        Some(plurals) => {
            let gv = path
                .trim_start_matches("/apis/")
                .trim_start_matches("/api/");
            let resources: Vec<Value> = plurals
                .iter()
                .map(|r| {
                    json!({"name": r, "singularName": "", "namespaced": true,
                           "kind": "X", "verbs": ["list", "watch"]})
                })
                .collect();
            p.answer(
                200,
                &json!({"kind": "APIResourceList", "apiVersion": "v1",
                        "groupVersion": gv, "resources": resources}),
            );
        }
        None => p.answer(404, &not_found()),
    }
}

fn not_found() -> Value {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// Discovery of a cluster that serves Mappings and Hosts (at `v3alpha1`)
/// and nothing else.
async fn discover_mappings_and_hosts(api: &mut MockApi) {
    discovery(api, V3, Some(&["mappings", "hosts"])).await;
    discovery(api, V2, None).await;
    discovery(api, CORE, Some(&[])).await;
    discovery(api, DISCOVERY, None).await;
    discovery(api, NETWORKING, None).await;
}

/// An object as the API server sends it, with what it adds.
fn obj(kind: &str, name: &str, rv: &str, spec: Value, state: &str) -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {
            "name": name, "namespace": "ns", "resourceVersion": rv, "uid": "u",
            "generation": 1, "managedFields": [{"manager": "kubectl"}]
        },
        "spec": spec,
        "status": {"state": state}
    })
}

fn mapping(name: &str, rv: &str, prefix: &str) -> Value {
    obj(
        "Mapping",
        name,
        rv,
        json!({"prefix": prefix, "service": "s"}),
        "Running",
    )
}

fn host(name: &str, rv: &str) -> Value {
    obj("Host", name, rv, json!({"hostname": "h.example"}), "Ready")
}

/// A list answer at `rv`.
fn list(rv: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": rv}, "items": items})
}

fn event(kind: &str, object: Value) -> Value {
    json!({"type": kind, "object": object})
}

/// The next list request under `path`.
async fn list_request(api: &mut MockApi, path: &str) -> Pending {
    api.take(Method::GET, path, |p| !p.is_watch()).await
}

/// The next watch request under `path`.
async fn watch_request(api: &mut MockApi, path: &str) -> Pending {
    api.take(Method::GET, path, Pending::is_watch).await
}

/// The next request under `path`, list or watch.
async fn any_request(api: &mut MockApi, path: &str) -> Pending {
    api.take(Method::GET, path, |_| true).await
}

/// Waits (a bounded while) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never: {what}");
}

/// The text of an upsert.
fn text_of(c: &Change) -> Value {
    match c {
        Change::Upsert { text, .. } => serde_json::from_str(text).expect("JSON text"),
        other => panic!("not an upsert: {other:?}"),
    }
}

fn upserted(key: &str, c: &Change) -> bool {
    matches!(c, Change::Upsert { key: k, .. } if k.0 == key)
}

/// Discovery, then the lists (Mappings `m1` and `m2` at resourceVersion
/// 10, Host `h1` at 20), the first batch taken; returns the Mapping watch.
async fn synced(src: &mut KubeSource, api: &mut MockApi) -> Pending {
    discover_mappings_and_hosts(api).await;
    list_request(api, MAPPINGS).await.answer(
        200,
        &list(
            "10",
            vec![mapping("m1", "5", "/a/"), mapping("m2", "6", "/b/")],
        ),
    );
    list_request(api, HOSTS)
        .await
        .answer(200, &list("20", vec![host("h1", "7")]));
    until("synced", || src.synced()).await;
    let first = src.changes();
    assert!(matches!(first.as_slice(), [Change::Reset(e)] if e.len() == 3));
    let h = watch_request(api, HOSTS).await;
    api.hold(h);
    watch_request(api, MAPPINGS).await
}

#[tokio::test]
async fn a_kind_served_only_at_v2_is_watched_at_v2() {
    let (mut src, mut api) = start(Scope::default());
    discovery(&mut api, V3, Some(&["mappings"])).await;
    discovery(&mut api, V2, Some(&["mappings", "hosts"])).await;
    discovery(&mut api, CORE, Some(&[])).await;
    discovery(&mut api, DISCOVERY, None).await;
    discovery(&mut api, NETWORKING, None).await;
    list_request(&mut api, MAPPINGS)
        .await
        .answer(200, &list("1", vec![]));
    let mut v2_host = host("h1", "2");
    v2_host["apiVersion"] = json!("getambassador.io/v2");
    list_request(&mut api, "/apis/getambassador.io/v2/hosts")
        .await
        .answer(200, &list("3", vec![v2_host]));
    until("synced", || src.synced()).await;
    let served: Vec<_> = src.served().into_iter().map(|(k, v)| (k.kind, v)).collect();
    assert_eq!(
        served,
        [
            ("Mapping", "getambassador.io/v3alpha1".to_string()),
            ("Host", "getambassador.io/v2".to_string())
        ]
    );
    let first = src.changes();
    let [Change::Reset(entries)] = first.as_slice() else {
        panic!("one Reset: {first:?}");
    };
    let [(key, Entry::Text(text))] = entries.as_slice() else {
        panic!("the Host: {entries:?}");
    };
    assert_eq!(key.0, "Host/ns/h1");
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(v["apiVersion"], "getambassador.io/v2");
    assert!(
        !api.held_paths().iter().any(|p| p.contains("/v2/mappings")),
        "a kind is watched at one version: {:?}",
        api.held_paths()
    );
}

#[tokio::test]
async fn a_crd_not_installed_is_not_watched_and_does_not_hold_back_the_first_batch() {
    let (mut src, mut api) = start(Scope::default());
    discovery(&mut api, V3, None).await;
    discovery(&mut api, V2, None).await;
    discovery(&mut api, CORE, Some(&["services"])).await;
    discovery(&mut api, DISCOVERY, None).await;
    discovery(&mut api, NETWORKING, None).await;
    let mut svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "ns", "resourceVersion": "4"},
        "spec": {"ports": [{"port": 80}]}});
    list_request(&mut api, "/api/v1/services")
        .await
        .answer(200, &list("4", vec![svc.take()]));
    until("synced", || src.synced()).await;
    let kinds: Vec<_> = src.served().into_iter().map(|(k, _)| k.kind).collect();
    assert_eq!(kinds, ["Service"]);
    let first = src.changes();
    let [Change::Reset(entries)] = first.as_slice() else {
        panic!("one Reset: {first:?}");
    };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0.0, "Service/ns/s");
}

#[tokio::test]
async fn a_failing_discovery_is_retried_with_backoff_and_nothing_is_handed_out_meanwhile() {
    let (mut src, mut api) = start(Scope::default());
    let p = api.take(Method::GET, V3, |_| true).await;
    let t0 = Instant::now();
    p.answer(500, &status(500, "InternalError", "etcd is down"));
    let p = api.take(Method::GET, V3, |_| true).await;
    let t1 = Instant::now();
    assert!(t1 - t0 >= Duration::from_millis(500), "{:?}", t1 - t0);
    assert!(src.served().is_empty() && src.changes().is_empty());
    p.fail(); // connection refused
    let p = api.take(Method::GET, V3, |_| true).await;
    assert!(
        Instant::now() - t1 >= Duration::from_secs(1),
        "backoff doubles"
    );
    assert!(src.served().is_empty() && src.changes().is_empty());
    api.hold(p);
    discover_mappings_and_hosts(&mut api).await;
    list_request(&mut api, MAPPINGS)
        .await
        .answer(200, &list("1", vec![mapping("m1", "1", "/")]));
    list_request(&mut api, HOSTS)
        .await
        .answer(200, &list("1", vec![]));
    until("synced", || src.synced()).await;
    assert!(matches!(src.changes().as_slice(), [Change::Reset(e)] if e.len() == 1));
}

#[tokio::test]
async fn the_first_batch_waits_for_every_list_then_is_one_reset() {
    let (mut src, mut api) = start(Scope::default());
    discover_mappings_and_hosts(&mut api).await;
    let l = list_request(&mut api, MAPPINGS).await;
    assert_eq!(l.param("limit").as_deref(), Some("500"), "{}", l.path);
    l.answer(
        200,
        &list(
            "10",
            vec![mapping("m1", "5", "/a/"), mapping("m2", "6", "/b/")],
        ),
    );
    let w = watch_request(&mut api, MAPPINGS).await;
    assert_eq!(
        w.param("resourceVersion").as_deref(),
        Some("10"),
        "{}",
        w.path
    );
    assert_eq!(
        w.param("allowWatchBookmarks").as_deref(),
        Some("true"),
        "{}",
        w.path
    );
    api.hold(w);
    assert!(!src.synced());
    assert!(src.changes().is_empty(), "the Hosts are not listed yet");
    list_request(&mut api, HOSTS)
        .await
        .answer(200, &list("20", vec![host("h1", "7")]));
    until("synced", || src.synced()).await;
    let first = src.changes();
    let [Change::Reset(entries)] = first.as_slice() else {
        panic!("one Reset: {first:?}");
    };
    let keys: Vec<_> = entries.iter().map(|(k, _)| k.0.as_str()).collect();
    assert_eq!(keys, ["Host/ns/h1", "Mapping/ns/m1", "Mapping/ns/m2"]);
    for (key, e) in entries {
        let Entry::Text(t) = e else {
            panic!("{key:?} unreadable")
        };
        let v: Value = serde_json::from_str(t).unwrap();
        assert!(v["spec"].is_object(), "{t}");
        assert!(v.get("status").is_none(), "{t}");
        for gone in ["resourceVersion", "managedFields", "uid"] {
            assert!(v["metadata"].get(gone).is_none(), "{gone} in {t}");
        }
    }
    assert!(src.changes().is_empty(), "one batch");
}

#[tokio::test]
async fn watch_events_become_upserts_and_deletes_and_a_status_change_changes_no_text() {
    let (mut src, mut api) = start(Scope::default());
    let w = synced(&mut src, &mut api).await;
    let mut m3_status = mapping("m3", "14", "/c/");
    m3_status["status"] = json!({"state": "Inactive", "reason": "x"});
    w.answer_stream(
        200,
        &[
            event("MODIFIED", mapping("m1", "11", "/a2/")),
            event("ADDED", mapping("m3", "12", "/c/")),
            event("DELETED", mapping("m2", "13", "/b/")),
            event("MODIFIED", m3_status),
        ],
    );
    // The body ended: the watch resumes from the last event's version,
    // after every event was handled.
    let w = watch_request(&mut api, MAPPINGS).await;
    assert_eq!(
        w.param("resourceVersion").as_deref(),
        Some("14"),
        "{}",
        w.path
    );
    api.hold(w);
    let c = src.changes();
    assert_eq!(c.len(), 4, "{c:?}");
    assert!(upserted("Mapping/ns/m1", &c[0]));
    assert_eq!(text_of(&c[0])["spec"]["prefix"], "/a2/");
    assert!(upserted("Mapping/ns/m3", &c[1]));
    assert_eq!(
        c[2],
        Change::Delete {
            key: Key("Mapping/ns/m2".into())
        }
    );
    assert!(upserted("Mapping/ns/m3", &c[3]));
    assert_eq!(c[1], c[3], "a status change gives the same text");
    assert!(src.changes().is_empty());
}

#[tokio::test]
async fn a_bookmark_moves_the_next_watch_and_changes_nothing() {
    let (mut src, mut api) = start(Scope::default());
    let w = synced(&mut src, &mut api).await;
    w.answer_stream(
        200,
        &[event(
            "BOOKMARK",
            json!({"apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping",
                   "metadata": {"resourceVersion": "50"}}),
        )],
    );
    let w = watch_request(&mut api, MAPPINGS).await;
    assert_eq!(
        w.param("resourceVersion").as_deref(),
        Some("50"),
        "{}",
        w.path
    );
    api.hold(w);
    assert!(src.changes().is_empty());
}

/// After a `410 Gone` (however it came): the next request is a list, and
/// the batch replaces what the kind held (`m2` was deleted meanwhile).
async fn relists(src: &mut KubeSource, api: &mut MockApi) {
    let l = any_request(api, MAPPINGS).await;
    assert!(!l.is_watch(), "a list after 410: {}", l.path);
    l.answer(
        200,
        &list(
            "60",
            vec![mapping("m1", "5", "/a/"), mapping("m4", "55", "/d/")],
        ),
    );
    let w = watch_request(api, MAPPINGS).await;
    assert_eq!(
        w.param("resourceVersion").as_deref(),
        Some("60"),
        "{}",
        w.path
    );
    api.hold(w);
    let c = src.changes();
    assert_eq!(c.len(), 3, "{c:?}");
    assert_eq!(
        c[0],
        Change::Delete {
            key: Key("Mapping".into())
        }
    );
    assert!(upserted("Mapping/ns/m1", &c[1]));
    assert!(upserted("Mapping/ns/m4", &c[2]));
}

#[tokio::test]
async fn gone_in_the_watch_stream_relists_and_replaces_the_kind() {
    let (mut src, mut api) = start(Scope::default());
    let w = synced(&mut src, &mut api).await;
    w.answer_stream(
        200,
        &[event(
            "ERROR",
            status(410, "Expired", "too old resource version: 10 (40)"),
        )],
    );
    relists(&mut src, &mut api).await;
}

#[tokio::test]
async fn gone_on_the_watch_request_relists_and_replaces_the_kind() {
    let (mut src, mut api) = start(Scope::default());
    let w = synced(&mut src, &mut api).await;
    let t = Instant::now();
    w.answer(
        410,
        &status(410, "Gone", "too old resource version: 10 (40)"),
    );
    relists(&mut src, &mut api).await;
    assert!(
        Instant::now() - t >= Duration::from_millis(500),
        "relisted after a wait"
    );
}

#[tokio::test]
async fn a_failing_watch_is_retried_with_backoff_and_what_was_synced_stays() {
    let (mut src, mut api) = start(Scope::default());
    let mut w = synced(&mut src, &mut api).await;
    for _ in 0..3 {
        let t = Instant::now();
        w.answer(500, &status(500, "InternalError", "etcd is down"));
        w = watch_request(&mut api, MAPPINGS).await;
        assert!(Instant::now() > t, "retried after a wait");
        assert_eq!(
            w.param("resourceVersion").as_deref(),
            Some("10"),
            "{}",
            w.path
        );
        assert!(src.changes().is_empty(), "nothing lost, nothing changed");
    }
    assert!(src.synced());
    w.answer_stream(200, &[event("ADDED", mapping("m3", "11", "/c/"))]);
    let next = watch_request(&mut api, MAPPINGS).await;
    api.hold(next);
    let c = src.changes();
    assert!(
        matches!(c.as_slice(), [u] if upserted("Mapping/ns/m3", u)),
        "{c:?}"
    );
}

#[tokio::test]
async fn one_namespace_scopes_every_request_and_ingress_classes_are_not_watched() {
    let (src, mut api) = start(Scope {
        namespace: Some("ns".into()),
        ..Default::default()
    });
    discovery(&mut api, V3, Some(&["mappings"])).await;
    discovery(&mut api, V2, None).await;
    discovery(&mut api, CORE, Some(&[])).await;
    discovery(&mut api, DISCOVERY, None).await;
    discovery(&mut api, NETWORKING, Some(&["ingresses", "ingressclasses"])).await;
    let namespaced = [
        "/apis/getambassador.io/v3alpha1/namespaces/ns/mappings",
        "/apis/networking.k8s.io/v1/namespaces/ns/ingresses",
    ];
    for path in namespaced {
        list_request(&mut api, path)
            .await
            .answer(200, &list("1", vec![]));
    }
    // An IngressClass watcher would hold the first batch back forever.
    until("synced", || src.synced()).await;
    let kinds: Vec<_> = src.served().into_iter().map(|(k, _)| k.kind).collect();
    assert_eq!(kinds, ["Mapping", "Ingress"]);
    for path in namespaced {
        let w = watch_request(&mut api, path).await;
        api.hold(w);
    }
    let held = api.held_paths();
    assert!(
        held.iter().all(|p| p.contains("/namespaces/ns/")),
        "{held:?}"
    );
}

#[tokio::test]
async fn selectors_go_to_the_scoped_kinds_and_secrets_keep_their_type_filter() {
    let (src, mut api) = start(Scope {
        namespace: None,
        label_selector: Some("team=a".into()),
        field_selector: Some("metadata.name!=x".into()),
    });
    discovery(&mut api, V3, Some(&["mappings"])).await;
    discovery(&mut api, V2, None).await;
    discovery(&mut api, CORE, Some(&["secrets"])).await;
    discovery(&mut api, DISCOVERY, None).await;
    discovery(&mut api, NETWORKING, None).await;
    let l = list_request(&mut api, MAPPINGS).await;
    assert_eq!(
        l.param("labelSelector").as_deref(),
        Some("team=a"),
        "{}",
        l.path
    );
    assert_eq!(
        l.param("fieldSelector").as_deref(),
        Some("metadata.name!=x"),
        "{}",
        l.path
    );
    l.answer(200, &list("1", vec![]));
    let l = list_request(&mut api, "/api/v1/secrets").await;
    assert_eq!(l.param("labelSelector"), None, "{}", l.path);
    assert_eq!(
        l.param("fieldSelector").as_deref(),
        Some(SECRET_FIELDS),
        "{}",
        l.path
    );
    l.answer(200, &list("1", vec![]));
    until("synced", || src.synced()).await;
    let w = watch_request(&mut api, MAPPINGS).await;
    assert_eq!(
        w.param("labelSelector").as_deref(),
        Some("team=a"),
        "{}",
        w.path
    );
    assert_eq!(
        w.param("fieldSelector").as_deref(),
        Some("metadata.name!=x"),
        "{}",
        w.path
    );
    api.hold(w);
    let w = watch_request(&mut api, "/api/v1/secrets").await;
    assert_eq!(w.param("labelSelector"), None, "{}", w.path);
    assert_eq!(
        w.param("fieldSelector").as_deref(),
        Some(SECRET_FIELDS),
        "{}",
        w.path
    );
    api.hold(w);
}

#[tokio::test]
async fn a_refetch_lists_the_secrets_again_and_hands_them_out_in_full() {
    let (mut src, mut api) = start(Scope::default());
    discovery(&mut api, V3, Some(&["mappings"])).await;
    discovery(&mut api, V2, None).await;
    discovery(&mut api, CORE, Some(&["secrets"])).await;
    discovery(&mut api, DISCOVERY, None).await;
    discovery(&mut api, NETWORKING, None).await;
    let secret = |rv: &str, key: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
               "metadata": {"name": "s", "namespace": "ns", "resourceVersion": rv},
               "data": {"tls.crt": "Y2VydA==", "tls.key": key}})
    };
    list_request(&mut api, MAPPINGS)
        .await
        .answer(200, &list("1", vec![]));
    list_request(&mut api, "/api/v1/secrets")
        .await
        .answer(200, &list("2", vec![secret("2", "a2V5")]));
    until("synced", || src.synced()).await;
    assert!(matches!(src.changes().as_slice(), [Change::Reset(e)] if e.len() == 1));
    let w = watch_request(&mut api, MAPPINGS).await;
    api.hold(w);
    let w = watch_request(&mut api, "/api/v1/secrets").await;
    api.hold(w);
    // Asking for a Secret again starts a new list of Secrets (no `get`).
    src.refetch(&[Key("Secret/ns/s".into())]);
    let l = list_request(&mut api, "/api/v1/secrets").await;
    assert_eq!(
        l.param("fieldSelector").as_deref(),
        Some(SECRET_FIELDS),
        "{}",
        l.path
    );
    l.answer(200, &list("3", vec![secret("3", "bmV3")]));
    let mut got = Vec::new();
    until("the relist is handed out", || {
        got.extend(src.changes());
        got.iter().any(|c| upserted("Secret/ns/s", c))
    })
    .await;
    assert!(
        matches!(&got[0], Change::Delete { key } if key.0 == "Secret"),
        "a relist replaces the kind: {got:?}"
    );
    let up = got.iter().find(|c| upserted("Secret/ns/s", c)).unwrap();
    assert_eq!(text_of(up)["data"]["tls.key"], "bmV3");
    // Then it watches from the new list.
    let w = api
        .take(Method::GET, "/api/v1/secrets", |p| {
            p.is_watch() && p.param("resourceVersion").as_deref() == Some("3")
        })
        .await;
    api.hold(w);
    // A refetch of inputs that are not Secrets lists nothing again.
    src.refetch(&[Key("Mapping/ns/m".into())]);
    assert!(src.changes().is_empty());
}
