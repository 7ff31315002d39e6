//! The ADS server against a tonic client on 127.0.0.1, in process: SotW and
//! delta, ACK/NACK, nonces, ordering, subscriptions, reconnects, several
//! nodes, statistics and shutdown.
//!
//! "Nothing else was sent" is checked without timers: after the responses a
//! step expects, the test sends a probe (a first request for a type not yet
//! subscribed, which the server always answers) and asserts that the next
//! response is the probe's answer. Every wait is bounded by a timeout that
//! only turns a hang into a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use emissary_core::pb::envoy::config::core::v3::Node;
use emissary_core::pb::google::rpc::Status as RpcStatus;
use emissary_core::{Inputs, Options, SourceFile};
use emissary_k8s::admin::Metrics;
use emissary_k8s::ads::pb::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use emissary_k8s::ads::{
    AdsStats, DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use emissary_k8s::snapshot::{CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, Snapshot};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

const WAIT: Duration = Duration::from_secs(10);

/// A configuration: listeners on 8080 (and 8443 with `https`), a TLS Host
/// (placeholder certificate), and one Mapping `prefix` → `service`.
fn manifests(prefix: &str, service: &str, https: bool) -> String {
    manifests_on((8080, 8443), prefix, service, https)
}

fn manifests_on(ports: (u16, u16), prefix: &str, service: &str, https: bool) -> String {
    let mut s = format!(
        "---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: http, namespace: default}}
spec: {{port: {}, protocol: HTTP, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {{name: secure, namespace: default}}
spec: {{hostname: secure.example.local, tlsSecret: {{name: secure-cert}}}}
",
        ports.0
    );
    if https {
        s.push_str(&format!(
            "---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {{name: https, namespace: default}}
spec: {{port: {}, protocol: HTTPS, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}
",
            ports.1
        ));
    }
    s.push_str(&format!(
        "---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: m, namespace: default}}
spec: {{hostname: \"*\", prefix: {prefix}, service: {service}}}
"
    ));
    s
}

fn snapshot(version: u64, prefix: &str, service: &str, https: bool) -> Arc<Snapshot> {
    snapshot_of(version, manifests(prefix, service, https))
}

fn snapshot_of(version: u64, text: String) -> Arc<Snapshot> {
    let t = emissary_core::translate(&Inputs {
        files: vec![SourceFile {
            name: "in.yaml".into(),
            text,
        }],
        options: Options {
            placeholder_secrets: true,
            ..Options::default()
        },
    });
    assert!(!t.has_errors(), "{}", t.render_diagnostics());
    Arc::new(Snapshot::from_translation(version, &t))
}

fn names(s: &Snapshot, type_url: &str) -> Vec<String> {
    s.resources(type_url)
        .map(|r| r.resources.keys().cloned().collect())
        .unwrap_or_default()
}

struct Server {
    addr: std::net::SocketAddr,
    snapshots: watch::Sender<Option<Arc<Snapshot>>>,
    stats: Arc<AdsStats>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(first: Option<Arc<Snapshot>>) -> Server {
        // A port below the ephemeral range: see `emissary_tests::free_ports`.
        let port = emissary_tests::free_ports(1)[0];
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (snapshots, rx) = watch::channel(first);
        let stats = Arc::new(AdsStats::new());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(emissary_k8s::ads::serve(
            listener,
            rx,
            stats.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        Server {
            addr,
            snapshots,
            stats,
            stop: Some(stop),
            task,
        }
    }

    fn publish(&self, s: Arc<Snapshot>) {
        self.snapshots.send_replace(Some(s));
    }

    async fn client(&self) -> AggregatedDiscoveryServiceClient<Channel> {
        tokio::time::timeout(
            WAIT,
            AggregatedDiscoveryServiceClient::connect(format!("http://{}", self.addr)),
        )
        .await
        .expect("connect in time")
        .expect("connect")
    }

    async fn sotw(&self, node: &str) -> Sotw {
        let mut client = self.client().await;
        let (tx, rx) = mpsc::channel(16);
        let responses = client
            .stream_aggregated_resources(ReceiverStream::new(rx))
            .await
            .expect("stream")
            .into_inner();
        Sotw {
            node: node.into(),
            tx,
            rx: responses,
            last: BTreeMap::new(),
        }
    }

    async fn delta(&self, node: &str) -> Delta {
        let mut client = self.client().await;
        let (tx, rx) = mpsc::channel(16);
        let responses = client
            .delta_aggregated_resources(ReceiverStream::new(rx))
            .await
            .expect("stream")
            .into_inner();
        Delta {
            node: node.into(),
            tx,
            rx: responses,
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server result");
    }
}

/// A SotW client stream.
struct Sotw {
    node: String,
    tx: mpsc::Sender<DiscoveryRequest>,
    rx: Streaming<DiscoveryResponse>,
    /// Last response per type.
    last: BTreeMap<String, DiscoveryResponse>,
}

impl Sotw {
    async fn send(&self, req: DiscoveryRequest) {
        self.tx.send(req).await.expect("request sent");
    }

    /// A first request for a type (no nonce).
    async fn subscribe(&self, type_url: &str, names: &[&str]) {
        self.send(DiscoveryRequest {
            node: Some(Node {
                id: self.node.clone(),
                ..Default::default()
            }),
            type_url: type_url.into(),
            resource_names: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await;
    }

    async fn recv(&mut self) -> DiscoveryResponse {
        let r = tokio::time::timeout(WAIT, self.rx.next())
            .await
            .expect("response in time")
            .expect("stream open")
            .expect("response ok");
        self.last.insert(r.type_url.clone(), r.clone());
        r
    }

    /// ACKs the last response of a type, keeping its subscription `names`.
    async fn ack(&self, type_url: &str, names: &[&str]) {
        let r = &self.last[type_url];
        self.send(DiscoveryRequest {
            version_info: r.version_info.clone(),
            type_url: type_url.into(),
            response_nonce: r.nonce.clone(),
            resource_names: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await;
    }

    /// NACKs the last response of a type.
    async fn nack(&self, type_url: &str, previous_version: &str, message: &str) {
        let r = &self.last[type_url];
        self.send(DiscoveryRequest {
            version_info: previous_version.into(),
            type_url: type_url.into(),
            response_nonce: r.nonce.clone(),
            error_detail: Some(RpcStatus {
                code: 3,
                message: message.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;
    }

    /// Subscribes to `type_url` (not subscribed yet) and asserts that the
    /// very next response answers it: nothing else was queued before.
    async fn probe(&mut self, type_url: &str) {
        self.subscribe(type_url, &["probe"]).await;
        let r = self.recv().await;
        assert_eq!(r.type_url, type_url, "unexpected response: {r:?}");
    }
}

fn resource_names(r: &DiscoveryResponse) -> Vec<String> {
    r.resources
        .iter()
        .map(|a| match a.type_url.as_str() {
            CLUSTER => {
                a.unpack::<emissary_core::pb::envoy::config::cluster::v3::Cluster>()
                    .unwrap()
                    .name
            }
            LISTENER => {
                a.unpack::<emissary_core::pb::envoy::config::listener::v3::Listener>()
                    .unwrap()
                    .name
            }
            ROUTE => {
                a.unpack::<emissary_core::pb::envoy::config::route::v3::RouteConfiguration>()
                    .unwrap()
                    .name
            }
            SECRET => a
                .unpack::<emissary_core::pb::envoy::extensions::transport_sockets::tls::v3::Secret>(
                )
                .unwrap()
                .name,
            other => panic!("unexpected type {other}"),
        })
        .collect()
}

/// A delta client stream.
struct Delta {
    node: String,
    tx: mpsc::Sender<DeltaDiscoveryRequest>,
    rx: Streaming<DeltaDiscoveryResponse>,
}

impl Delta {
    async fn send(&self, req: DeltaDiscoveryRequest) {
        self.tx.send(req).await.expect("request sent");
    }

    async fn subscribe(&self, type_url: &str, names: &[&str], initial: BTreeMap<String, String>) {
        self.send(DeltaDiscoveryRequest {
            node: Some(Node {
                id: self.node.clone(),
                ..Default::default()
            }),
            type_url: type_url.into(),
            resource_names_subscribe: names.iter().map(|s| s.to_string()).collect(),
            initial_resource_versions: initial.into_iter().collect(),
            ..Default::default()
        })
        .await;
    }

    async fn recv(&mut self) -> DeltaDiscoveryResponse {
        tokio::time::timeout(WAIT, self.rx.next())
            .await
            .expect("response in time")
            .expect("stream open")
            .expect("response ok")
    }

    async fn ack(&self, r: &DeltaDiscoveryResponse) {
        self.send(DeltaDiscoveryRequest {
            type_url: r.type_url.clone(),
            response_nonce: r.nonce.clone(),
            ..Default::default()
        })
        .await;
    }

    async fn nack(&self, r: &DeltaDiscoveryResponse, message: &str) {
        self.send(DeltaDiscoveryRequest {
            type_url: r.type_url.clone(),
            response_nonce: r.nonce.clone(),
            error_detail: Some(RpcStatus {
                code: 3,
                message: message.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;
    }

    async fn probe(&mut self, type_url: &str) {
        self.subscribe(type_url, &["probe"], BTreeMap::new()).await;
        let r = self.recv().await;
        assert_eq!(r.type_url, type_url, "unexpected response: {r:?}");
        assert!(r.resources.is_empty() && r.removed_resources.is_empty());
    }
}

/// Waits (bounded) until `f` holds: for effects of a request that has no answer.
async fn eventually(f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in time");
}

fn delta_names(r: &DeltaDiscoveryResponse) -> Vec<String> {
    r.resources.iter().map(|r| r.name.clone()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn sotw_answers_the_first_request_of_every_type() {
    let s1 = snapshot(1, "/m/", "m", true);
    let server = Server::start(Some(s1.clone())).await;
    let mut c = server.sotw("envoy-1").await;

    c.subscribe(CLUSTER, &[]).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, CLUSTER);
    assert_eq!(r.version_info, "1");
    assert_eq!(resource_names(&r), names(&s1, CLUSTER));
    assert!(!names(&s1, CLUSTER).is_empty());

    c.subscribe(LISTENER, &[]).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, LISTENER);
    assert_eq!(resource_names(&r), names(&s1, LISTENER));
    assert_eq!(names(&s1, LISTENER).len(), 2);

    let routes = names(&s1, ROUTE);
    c.subscribe(ROUTE, &strs(&routes)).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, ROUTE);
    assert_eq!(resource_names(&r), routes);

    let secrets = names(&s1, SECRET);
    assert!(!secrets.is_empty());
    c.subscribe(SECRET, &strs(&secrets)).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, SECRET);
    assert_eq!(resource_names(&r), secrets);

    // Nonces are unique.
    let nonces: BTreeSet<&str> = c.last.values().map(|r| r.nonce.as_str()).collect();
    assert_eq!(nonces.len(), 4);
    server.stop().await;
}

#[tokio::test]
async fn sotw_waits_for_the_first_snapshot() {
    let server = Server::start(None).await;
    let mut c = server.sotw("envoy-1").await;
    c.subscribe(CLUSTER, &[]).await;
    // The request is read before the snapshot exists: the server must hold it.
    tokio::task::yield_now().await;
    server.publish(snapshot(7, "/m/", "m", false));
    let r = c.recv().await;
    assert_eq!(
        (r.type_url.as_str(), r.version_info.as_str()),
        (CLUSTER, "7")
    );
    server.stop().await;
}

/// Subscribes CDS, LDS and every route of `s`, and ACKs all three.
async fn sotw_settle(c: &mut Sotw, s: &Snapshot) -> Vec<String> {
    c.subscribe(CLUSTER, &[]).await;
    assert_eq!(c.recv().await.type_url, CLUSTER);
    c.ack(CLUSTER, &[]).await;
    c.subscribe(LISTENER, &[]).await;
    assert_eq!(c.recv().await.type_url, LISTENER);
    let routes = names(s, ROUTE);
    c.subscribe(ROUTE, &strs(&routes)).await;
    assert_eq!(c.recv().await.type_url, ROUTE);
    c.ack(LISTENER, &[]).await;
    c.ack(ROUTE, &strs(&routes)).await;
    routes
}

#[tokio::test]
async fn sotw_pushes_only_changed_types_clusters_first_and_removes_clusters_last() {
    let s1 = snapshot(1, "/m/", "m", false);
    let server = Server::start(Some(s1.clone())).await;
    let mut c = server.sotw("envoy-1").await;
    let routes = sotw_settle(&mut c, &s1).await;

    // A route change only: RDS alone.
    let s2 = snapshot(2, "/other/", "m", false);
    assert_eq!(
        names(&s2, ROUTE),
        routes,
        "route names do not depend on routes"
    );
    server.publish(s2.clone());
    let r = c.recv().await;
    assert_eq!((r.type_url.as_str(), r.version_info.as_str()), (ROUTE, "2"));
    c.ack(ROUTE, &strs(&routes)).await;
    c.probe(ENDPOINT).await;

    // A new service: a new cluster (kept with the old one), then routes; the
    // old cluster goes only once the routes are ACKed.
    let s3 = snapshot(3, "/other/", "n", false);
    let old: BTreeSet<String> = names(&s2, CLUSTER).into_iter().collect();
    let new: BTreeSet<String> = names(&s3, CLUSTER).into_iter().collect();
    let gone: Vec<&String> = old.difference(&new).collect();
    assert!(!gone.is_empty(), "the old service's cluster leaves");
    server.publish(s3.clone());
    let r = c.recv().await;
    assert_eq!(r.type_url, CLUSTER, "clusters first");
    let union: BTreeSet<String> = old.union(&new).cloned().collect();
    assert_eq!(
        resource_names(&r).into_iter().collect::<BTreeSet<_>>(),
        union
    );
    let r = c.recv().await;
    assert_eq!(r.type_url, ROUTE, "then routes (listeners unchanged)");
    c.ack(CLUSTER, &[]).await;
    c.ack(ROUTE, &strs(&routes)).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, CLUSTER, "clusters without the removed one");
    assert_eq!(resource_names(&r), names(&s3, CLUSTER));
    assert_eq!(r.version_info, "3");
    c.ack(CLUSTER, &[]).await;
    c.probe(SECRET).await;

    // The same content under a new version: nothing to push.
    server.publish(snapshot(4, "/other/", "n", false));
    c.subscribe(ENDPOINT, &["probe-2"]).await; // a changed EDS subscription
    let r = c.recv().await;
    assert_eq!(r.type_url, ENDPOINT);
    assert!(server.stats.ready());
    server.stop().await;
}

#[tokio::test]
async fn sotw_nack_is_recorded_and_not_resent_until_the_content_changes() {
    let s1 = snapshot(1, "/m/", "m", false);
    let server = Server::start(Some(s1.clone())).await;
    let mut c = server.sotw("envoy-nack").await;
    c.subscribe(CLUSTER, &[]).await;
    c.recv().await;
    let cluster = names(&s1, CLUSTER)
        .into_iter()
        .find(|n| n.contains("_m_"))
        .expect("the Mapping's cluster");
    c.nack(CLUSTER, "", &format!("cluster '{cluster}': bad config"))
        .await;
    // Same content, newer version: not sent again.
    server.publish(snapshot(2, "/m/", "m", false));
    c.probe(ENDPOINT).await;
    assert!(!server.stats.ready());

    let json = server.stats.to_json();
    let node = &json["nodes"][0];
    assert_eq!(node["id"], "envoy-nack");
    assert_eq!(node["protocol"], "sotw");
    let nack = &node["types"][CLUSTER]["last_nack"];
    assert_eq!(nack["version"], "1");
    assert_eq!(nack["nonce"], c.last[CLUSTER].nonce.as_str());
    assert!(nack["message"].as_str().unwrap().contains("bad config"));
    assert_eq!(nack["resources"], serde_json::json!([cluster]));
    assert_eq!(nack["sources"], serde_json::json!(["Mapping/default/m"]));
    assert_eq!(json["counters"][CLUSTER]["nacks"], 1);
    assert_eq!(json["counters"][CLUSTER]["acks"], 0);

    // Different content: pushed.
    server.publish(snapshot(3, "/m/", "fixed", false));
    let r = c.recv().await;
    assert_eq!(
        (r.type_url.as_str(), r.version_info.as_str()),
        (CLUSTER, "3")
    );
    c.ack(CLUSTER, &[]).await;
    c.probe(SECRET).await;
    let json = server.stats.to_json();
    assert_eq!(json["counters"][CLUSTER]["acks"], 1);
    assert_eq!(json["nodes"][0]["types"][CLUSTER]["acked_version"], "3");
    server.stop().await;
}

#[tokio::test]
async fn sotw_ignores_stale_nonces() {
    let server = Server::start(Some(snapshot(1, "/m/", "m", false))).await;
    let mut c = server.sotw("envoy-1").await;
    c.subscribe(CLUSTER, &[]).await;
    let first = c.recv().await;
    server.publish(snapshot(2, "/m/", "n", false));
    let second = c.recv().await;
    assert_eq!(second.version_info, "2");
    // A NACK of the superseded response: ignored entirely.
    c.send(DiscoveryRequest {
        version_info: "".into(),
        type_url: CLUSTER.into(),
        response_nonce: first.nonce.clone(),
        error_detail: Some(RpcStatus {
            code: 3,
            message: "stale".into(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await;
    // A nonce never sent, for a type not subscribed: no subscription either.
    c.send(DiscoveryRequest {
        type_url: ROUTE.into(),
        response_nonce: "never-sent".into(),
        resource_names: vec!["x".into()],
        ..Default::default()
    })
    .await;
    c.probe(LISTENER).await;
    let json = server.stats.to_json();
    assert_eq!(json["counters"][CLUSTER]["nacks"], 0);
    assert!(json["nodes"][0]["types"][CLUSTER]["last_nack"].is_null());
    assert_eq!(
        json["nodes"][0]["types"][CLUSTER]["pending_nonce"],
        second.nonce.as_str()
    );
    c.ack(CLUSTER, &[]).await;
    c.probe(SECRET).await;
    let json = server.stats.to_json();
    assert_eq!(json["nodes"][0]["types"][CLUSTER]["acked_version"], "2");
    assert!(json["nodes"][0]["types"][CLUSTER]["pending_nonce"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn sotw_serves_only_the_named_resources_of_non_wildcard_types() {
    let s1 = snapshot(1, "/m/", "m", true);
    let server = Server::start(Some(s1.clone())).await;
    let mut c = server.sotw("envoy-1").await;
    let routes = names(&s1, ROUTE);
    assert!(routes.len() >= 2, "{routes:?}");
    c.subscribe(ROUTE, &[&routes[1], "does-not-exist"]).await;
    let r = c.recv().await;
    assert_eq!(resource_names(&r), vec![routes[1].clone()]);
    // An empty RDS request is not a wildcard.
    c.ack(ROUTE, &[]).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, ROUTE);
    assert!(r.resources.is_empty());
    // Subscribing to another name sends the new set.
    c.ack(ROUTE, &[&routes[0]]).await;
    let r = c.recv().await;
    assert_eq!(resource_names(&r), vec![routes[0].clone()]);
    server.stop().await;
}

#[tokio::test]
async fn delta_sends_changes_only_and_removals_after_adds() {
    let s1 = snapshot(1, "/m/", "m", true);
    let server = Server::start(Some(s1.clone())).await;
    let mut c = server.delta("envoy-d").await;

    c.subscribe(CLUSTER, &[], BTreeMap::new()).await;
    let r = c.recv().await;
    assert_eq!(r.type_url, CLUSTER);
    assert_eq!(r.system_version_info, "1");
    assert_eq!(delta_names(&r), names(&s1, CLUSTER));
    for res in &r.resources {
        assert_eq!(res.version, s1.get(CLUSTER, &res.name).unwrap().version);
    }
    c.ack(&r).await;
    c.subscribe(LISTENER, &[], BTreeMap::new()).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), names(&s1, LISTENER));
    c.ack(&r).await;
    let routes = names(&s1, ROUTE);
    c.subscribe(ROUTE, &strs(&routes), BTreeMap::new()).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), routes);
    c.ack(&r).await;

    // Routes change: only they are sent.
    let s2 = snapshot(2, "/other/", "m", true);
    server.publish(s2.clone());
    let r = c.recv().await;
    assert_eq!(r.type_url, ROUTE);
    let changed: Vec<String> = routes
        .iter()
        .filter(|n| s1.get(ROUTE, n).unwrap().version != s2.get(ROUTE, n).unwrap().version)
        .cloned()
        .collect();
    assert!(!changed.is_empty());
    assert_eq!(delta_names(&r), changed);
    assert!(r.removed_resources.is_empty());
    c.ack(&r).await;
    c.probe(SECRET).await;

    // A new service and the HTTPS listener gone: adds and updates first, in
    // push order, then removals; the old cluster only after the routes are ACKed.
    let s3 = snapshot(3, "/other/", "n", false);
    server.publish(s3.clone());
    let mut responses = Vec::new();
    let mut kinds = Vec::new();
    loop {
        let r = c.recv().await;
        let removal = !r.removed_resources.is_empty();
        kinds.push((r.type_url.clone(), removal));
        let done = r.type_url == ROUTE && removal;
        responses.push(r);
        if done {
            break;
        }
    }
    assert_eq!(
        kinds,
        vec![
            (CLUSTER.to_string(), false),
            (ROUTE.to_string(), false),
            (LISTENER.to_string(), true),
            (ROUTE.to_string(), true),
        ]
    );
    let new_clusters: Vec<String> = names(&s3, CLUSTER)
        .into_iter()
        .filter(|n| s2.get(CLUSTER, n).is_none())
        .collect();
    assert_eq!(delta_names(&responses[0]), new_clusters);
    let gone_listeners: Vec<String> = names(&s2, LISTENER)
        .into_iter()
        .filter(|n| s3.get(LISTENER, n).is_none())
        .collect();
    assert_eq!(responses[2].removed_resources, gone_listeners);
    for r in &responses {
        c.ack(r).await;
    }
    let r = c.recv().await;
    assert_eq!(r.type_url, CLUSTER);
    assert!(r.resources.is_empty());
    let gone_clusters: Vec<String> = names(&s2, CLUSTER)
        .into_iter()
        .filter(|n| s3.get(CLUSTER, n).is_none())
        .collect();
    assert!(!gone_clusters.is_empty());
    assert_eq!(r.removed_resources, gone_clusters);
    c.ack(&r).await;
    c.probe(ENDPOINT).await;
    assert!(server.stats.ready());
    server.stop().await;
}

#[tokio::test]
async fn delta_nack_is_not_resent() {
    let server = Server::start(Some(snapshot(1, "/m/", "m", false))).await;
    let mut c = server.delta("envoy-d").await;
    c.subscribe(CLUSTER, &[], BTreeMap::new()).await;
    let r = c.recv().await;
    c.nack(&r, "rejected").await;
    server.publish(snapshot(2, "/m/", "m", false));
    c.probe(LISTENER).await;
    let json = server.stats.to_json();
    assert_eq!(json["counters"][CLUSTER]["nacks"], 1);
    assert_eq!(json["nodes"][0]["protocol"], "delta");
    let nack = &json["nodes"][0]["types"][CLUSTER]["last_nack"];
    assert_eq!(nack["message"], "rejected");
    assert_eq!(
        nack["resources"].as_array().unwrap().len(),
        r.resources.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn delta_reconnect_sends_only_differences_from_initial_versions() {
    let s1 = snapshot(1, "/m/", "m", false);
    let server = Server::start(Some(s1.clone())).await;
    let mut initial: BTreeMap<String, String> = s1
        .resources(CLUSTER)
        .unwrap()
        .resources
        .values()
        .map(|r| (r.name.clone(), r.version.clone()))
        .collect();
    let (changed, _) = initial
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    initial.insert(changed.clone(), "outdated".into());
    initial.insert("cluster_gone".into(), "x".into());
    let mut c = server.delta("envoy-d").await;
    c.subscribe(CLUSTER, &[], initial).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), vec![changed]);
    assert!(r.removed_resources.is_empty(), "removals come after adds");
    let r = c.recv().await;
    assert_eq!(r.removed_resources, vec!["cluster_gone".to_string()]);
    assert!(r.resources.is_empty());

    // Nothing differs: an empty answer.
    let mut c2 = server.delta("envoy-d").await;
    let routes = names(&s1, ROUTE);
    let initial: BTreeMap<String, String> = routes
        .iter()
        .map(|n| (n.clone(), s1.get(ROUTE, n).unwrap().version.clone()))
        .collect();
    c2.subscribe(ROUTE, &strs(&routes), initial).await;
    let r = c2.recv().await;
    assert!(r.resources.is_empty() && r.removed_resources.is_empty());
    c2.probe(SECRET).await;
    server.stop().await;
}

#[tokio::test]
async fn two_nodes_are_tracked_apart_and_counted_in_metrics() {
    let s1 = snapshot(1, "/m/", "m", false);
    let server = Server::start(Some(s1.clone())).await;
    let mut a = server.sotw("node-a").await;
    let mut b = server.delta("node-b").await;
    a.subscribe(CLUSTER, &[]).await;
    let ra = a.recv().await;
    b.subscribe(CLUSTER, &[], BTreeMap::new()).await;
    let rb = b.recv().await;
    assert_eq!(resource_names(&ra), delta_names(&rb));
    a.subscribe(LISTENER, &[]).await;
    assert_eq!(a.recv().await.type_url, LISTENER);
    a.ack(CLUSTER, &[]).await;
    a.probe(SECRET).await;
    assert!(!server.stats.ready(), "LDS of node-a not ACKed yet");
    a.ack(LISTENER, &[]).await;
    a.ack(SECRET, &["probe"]).await;
    b.ack(&rb).await;
    b.probe(LISTENER).await;
    eventually(|| server.stats.ready()).await;

    let json = server.stats.to_json();
    assert_eq!(json["connected"], 2);
    let ids: Vec<(&str, &str)> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n["protocol"].as_str().unwrap()))
        .collect();
    assert_eq!(ids, vec![("node-a", "sotw"), ("node-b", "delta")]);
    assert_eq!(json["nodes"][0]["types"][CLUSTER]["acked_version"], "1");
    assert_eq!(json["nodes"][1]["types"][CLUSTER]["acked_version"], "1");
    assert_eq!(json["counters"][CLUSTER]["pushes"], 2);
    assert_eq!(json["counters"][CLUSTER]["acks"], 2);
    let n = names(&s1, CLUSTER).len();
    assert_eq!(json["counters"][CLUSTER]["resources_sent"], 2 * n);

    // Rendered by the admin endpoint's metrics.
    let text = Metrics::new(
        server.snapshots.subscribe(),
        server.stats.clone(),
        Arc::default(),
    )
    .render();
    assert!(text.contains(&format!(
        "emissary_xds_pushes_total{{type_url=\"{CLUSTER}\"}} 2\n"
    )));
    assert!(text.contains(&format!(
        "emissary_xds_acks_total{{type_url=\"{CLUSTER}\"}} 2\n"
    )));
    assert!(text.contains(&format!(
        "emissary_xds_nacks_total{{type_url=\"{CLUSTER}\"}} 0\n"
    )));
    assert!(text.contains(&format!(
        "emissary_xds_resources_sent_total{{type_url=\"{CLUSTER}\"}} {}\n",
        2 * n
    )));
    assert!(
        text.contains(
            "# TYPE emissary_xds_connected_envoys gauge\nemissary_xds_connected_envoys 2\n"
        )
    );
    assert!(server.stats.ready());

    // A closed stream is kept, disconnected.
    drop(a);
    eventually(|| server.stats.to_json()["connected"] == 1).await;
    let json = server.stats.to_json();
    assert_eq!(json["nodes"][0]["connected"], false);
    assert_eq!(json["nodes"][1]["connected"], true);
    server.stop().await;
}

#[tokio::test]
async fn streams_outlive_the_snapshot_publisher() {
    let mut server = Server::start(Some(snapshot(1, "/m/", "m", false))).await;
    let mut c = server.sotw("envoy-1").await;
    c.subscribe(CLUSTER, &[]).await;
    c.recv().await;
    // The publisher goes away (the daemon's pipeline stops before its
    // Envoy has drained): the stream still answers.
    drop(std::mem::replace(
        &mut server.snapshots,
        watch::channel(None).0,
    ));
    c.subscribe(LISTENER, &[]).await;
    assert_eq!(c.recv().await.type_url, LISTENER);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = Server::start(Some(snapshot(1, "/m/", "m", false))).await;
    let mut c = server.sotw("envoy-1").await;
    c.subscribe(CLUSTER, &[]).await;
    c.recv().await;
    server.stop().await;
    let end = tokio::time::timeout(WAIT, c.rx.next())
        .await
        .expect("ends in time");
    assert!(!matches!(end, Some(Ok(_))), "no more responses: {end:?}");
}

#[test]
fn snapshot_versions_follow_content() {
    let a = snapshot(1, "/m/", "m", true);
    let b = snapshot(2, "/m/", "m", true);
    let c = snapshot(3, "/other/", "m", true);
    for t in [CLUSTER, LISTENER, ROUTE, SECRET] {
        assert_eq!(
            a.resources(t).unwrap().digest,
            b.resources(t).unwrap().digest
        );
    }
    assert_ne!(
        a.resources(ROUTE).unwrap().digest,
        c.resources(ROUTE).unwrap().digest
    );
    assert_eq!(
        a.resources(CLUSTER).unwrap().digest,
        c.resources(CLUSTER).unwrap().digest
    );
    assert!(a.same_content(&b));
    assert!(!a.same_content(&c));
    let stats = a.stats();
    assert_eq!(stats.len(), 5);
    assert!(stats.iter().all(|s| (s.count == 0) == (s.bytes == 0)));

    let route = names(&a, ROUTE)[0].clone();
    let r = a.get(ROUTE, &route).unwrap();
    assert!(
        r.sources.contains(&"Mapping/default/m".to_string()),
        "{:?}",
        r.sources
    );
    assert!(
        r.sources.contains(&"Host/default/secure".to_string()),
        "{:?}",
        r.sources
    );

    let json = a.to_json();
    assert_eq!(json["version"], "1");
    assert_eq!(json["listeners"].as_array().unwrap().len(), 2);
    assert_eq!(json["listeners"][0]["@type"], LISTENER);
    let secret = &json["secrets"][0];
    let key = &secret["tls_certificate"]["private_key"]["inline_string"];
    assert_eq!(key, "[redacted]", "{secret}");
    assert!(secret["tls_certificate"]["certificate_chain"].is_object());

    let text = Metrics::new(
        watch::channel(Some(a.clone())).1,
        Arc::default(),
        Arc::default(),
    )
    .render();
    assert!(text.contains(&format!(
        "emissary_snapshot_resources{{type_url=\"{LISTENER}\"}} 2\n"
    )));
}

/// A running Envoy, killed on drop.
struct Envoy(std::process::Child, std::path::PathBuf);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// Starts Envoy with an ADS bootstrap pointing at `ads` (`api_type` GRPC or DELTA_GRPC).
fn start_envoy(ads: std::net::SocketAddr, node: &str, api_type: &str) -> Envoy {
    let dir = std::env::temp_dir().join(format!("emissary-ads-test-{}-{node}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ads_source = serde_json::json!({"ads": {}, "resource_api_version": "V3"});
    let bootstrap = serde_json::json!({
        "node": {"id": node, "cluster": "emissary"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "dynamic_resources": {
            "ads_config": {
                "api_type": api_type,
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": "ads"}}],
            },
            "cds_config": ads_source,
            "lds_config": ads_source,
        },
        "static_resources": {"clusters": [{
            "name": "ads",
            "type": "STATIC",
            "connect_timeout": "1s",
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}},
                },
            },
            "load_assignment": {"cluster_name": "ads", "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": ads.port()}},
            }}]}]},
        }]},
    });
    let path = dir.join("bootstrap.json");
    std::fs::write(&path, bootstrap.to_string()).unwrap();
    let child =
        std::process::Command::new(emissary_tests::envoy_bin().expect("Envoy is installed"))
            .arg("-c")
            .arg(&path)
            .args(["--disable-hot-restart", "-l", "warning", "--log-path"])
            .arg(dir.join("envoy.log"))
            .arg("--admin-address-path")
            .arg(dir.join("admin"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start Envoy");
    Envoy(child, dir)
}

/// GET on Envoy's admin endpoint (empty until it listens).
fn envoy_admin(e: &Envoy, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let Ok(addr) = std::fs::read_to_string(e.1.join("admin")) else {
        return String::new();
    };
    let Ok(mut conn) = std::net::TcpStream::connect(addr.trim()) else {
        return String::new();
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = conn.read_to_string(&mut out);
    out
}

/// Envoy's own log, for failure messages.
fn envoy_log(e: &Envoy) -> String {
    std::fs::read_to_string(e.1.join("envoy.log")).unwrap_or_default()
}

/// Waits (bounded) until `f` holds, with Envoy's log in the failure.
async fn eventually_envoy(e: &Envoy, what: &str, f: impl Fn() -> bool) {
    for _ in 0..6000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} not reached in time; Envoy's log:\n{}", envoy_log(e));
}

/// A cluster Envoy's validation rejects (negative connect timeout).
/// The name of the cluster of service `n` in the server's current snapshot.
fn s2_cluster(server: &Server) -> String {
    let s = server.snapshots.borrow().clone().unwrap();
    names(&s, CLUSTER)
        .into_iter()
        .find(|c| c.starts_with("cluster_n_"))
        .expect("cluster of service n")
}

/// A cluster that Envoy's validation rejects (negative connect timeout).
fn bad_cluster_snapshot(good: &Snapshot, version: u64) -> Arc<Snapshot> {
    use emissary_core::pb::envoy::config::cluster::v3::Cluster;
    let bad = Cluster {
        name: "bad-cluster".into(),
        connect_timeout: Some(emissary_core::pb::google::protobuf::Duration {
            seconds: -1,
            nanos: 0,
        }),
        ..Default::default()
    };
    let mut resources = Vec::new();
    for t in [CLUSTER, ENDPOINT, SECRET, LISTENER, ROUTE] {
        for r in good.resources(t).unwrap().resources.values() {
            resources.push((t, r.name.clone(), r.any.clone(), r.sources.clone()));
        }
    }
    resources.push((
        CLUSTER,
        "bad-cluster".into(),
        emissary_core::xds::any(&bad),
        vec!["Mapping/default/bad".into()],
    ));
    Arc::new(Snapshot::from_resources(version, resources))
}

async fn real_envoy(api_type: &str, protocol: &str) {
    let [p1, p2] = emissary_tests::free_ports(2)[..] else {
        unreachable!()
    };
    let ports = (p1, p2);
    let s1 = snapshot_of(1, manifests_on(ports, "/m/", "m", true));
    let server = Server::start(Some(s1.clone())).await;
    let node = format!("real-{protocol}");
    let envoy = start_envoy(server.addr, &node, api_type);
    let stats = server.stats.clone();
    eventually_envoy(&envoy, "ready", || stats.ready()).await;
    let json = stats.to_json();
    let entry = &json["nodes"][0];
    assert_eq!(entry["id"], node.as_str());
    assert_eq!(entry["protocol"], protocol);
    for t in [CLUSTER, LISTENER, ROUTE, SECRET] {
        assert_eq!(entry["types"][t]["acked_version"], "1", "{t}: {json:#}");
        assert!(entry["types"][t]["last_nack"].is_null(), "{json:#}");
    }

    // A new route and service: ACKed.
    server.publish(snapshot_of(2, manifests_on(ports, "/n/", "n", true)));
    let st = stats.clone();
    eventually_envoy(&envoy, "version 2 ACKed", move || {
        let j = st.to_json();
        [CLUSTER, ROUTE]
            .iter()
            .all(|t| j["nodes"][0]["types"][*t]["acked_version"] == "2")
            && j["nodes"][0]["types"][CLUSTER]["pending_nonce"].is_null()
    })
    .await;

    // Envoy ends up with the new cluster only (the old one was kept until
    // the routes moved, then removed).
    let n = s2_cluster(&server);
    let e = &envoy;
    eventually_envoy(&envoy, "old cluster removed from Envoy", || {
        let clusters = envoy_admin(e, "/clusters");
        clusters.contains(&format!("{n}::")) && !clusters.contains("cluster_m_")
    })
    .await;

    // A cluster Envoy rejects: a NACK naming it.
    let good = snapshot_of(3, manifests_on(ports, "/n/", "n", true));
    server.publish(bad_cluster_snapshot(&good, 3));
    let st = stats.clone();
    eventually_envoy(&envoy, "NACK", move || {
        !st.to_json()["nodes"][0]["types"][CLUSTER]["last_nack"].is_null()
    })
    .await;
    let json = stats.to_json();
    let nack = &json["nodes"][0]["types"][CLUSTER]["last_nack"];
    assert_eq!(nack["version"], "3", "{json:#}");
    assert_eq!(
        nack["resources"],
        serde_json::json!(["bad-cluster"]),
        "{json:#}"
    );
    assert_eq!(
        nack["sources"],
        serde_json::json!(["Mapping/default/bad"]),
        "{json:#}"
    );
    assert!(json["counters"][CLUSTER]["nacks"].as_u64().unwrap() >= 1);

    // A newer good snapshot is pushed and accepted.
    server.publish(snapshot_of(4, manifests_on(ports, "/n/", "n", true)));
    let st = stats.clone();
    eventually_envoy(&envoy, "version 4 ACKed", move || {
        let j = st.to_json();
        j["nodes"][0]["types"][CLUSTER]["acked_version"] == "4"
    })
    .await;
    drop(envoy);
    server.stop().await;
}

#[tokio::test]
async fn real_envoy_sotw_acks_and_nacks() {
    real_envoy("GRPC", "sotw").await;
}

#[tokio::test]
async fn real_envoy_delta_acks_and_nacks() {
    real_envoy("DELTA_GRPC", "delta").await;
}

// Fan-out under load: stuck streams and churn.

/// A server like [`Server::start`] with explicit settings.
async fn start_with(first: Option<Arc<Snapshot>>, config: emissary_k8s::ads::Config) -> Server {
    let port = emissary_tests::free_ports(1)[0];
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (snapshots, rx) = watch::channel(first);
    let stats = Arc::new(AdsStats::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(emissary_k8s::ads::serve_with(
        listener,
        rx,
        stats.clone(),
        config,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        addr,
        snapshots,
        stats,
        stop: Some(stop),
        task,
    }
}

/// `count` Mappings whose services carry `tag`: every version has different
/// clusters, and a cluster response of several kilobytes.
fn many_mappings(version: u64, count: usize, tag: &str) -> Arc<Snapshot> {
    let mut text = manifests("/m/", "m", false);
    for i in 0..count {
        text.push_str(&format!(
            "---
apiVersion: getambassador.io/v3alpha1
kind: Mapping
metadata: {{name: m{i}, namespace: default}}
spec: {{hostname: \"*\", prefix: /m{i}/, service: svc-{tag}-{i}}}
"
        ));
    }
    snapshot_of(version, text)
}

#[tokio::test]
async fn a_stuck_stream_delays_no_one_and_is_cut_off() {
    let stall = Duration::from_secs(4);
    let server = start_with(
        Some(many_mappings(1, 40, "v1")),
        emissary_k8s::ads::Config {
            stall_timeout: stall,
        },
    )
    .await;
    // The stuck Envoy: a 1 KiB HTTP/2 window and it never reads, so the
    // server's writes stop at once and its response buffer fills up.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .initial_stream_window_size(Some(1024))
        .connect()
        .await
        .unwrap();
    let (stuck_tx, rx) = mpsc::channel(16);
    let stuck_rx = AggregatedDiscoveryServiceClient::new(channel)
        .stream_aggregated_resources(ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    let stuck = Sotw {
        node: "stuck".into(),
        tx: stuck_tx,
        rx: stuck_rx,
        last: BTreeMap::new(),
    };
    stuck.subscribe(CLUSTER, &[]).await;
    stuck.subscribe(LISTENER, &[]).await;

    let mut good = server.sotw("good").await;
    good.subscribe(CLUSTER, &[]).await;
    assert_eq!(good.recv().await.version_info, "1");
    good.ack(CLUSTER, &[]).await;
    eventually(|| server.stats.connected() == 2).await;

    // Many snapshots, each with new clusters: the good Envoy takes every
    // one it is sent and ends on the last.
    let last = 30;
    for v in 2..=last {
        server.publish(many_mappings(v, 40, &format!("v{v}")));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let r = good.recv().await;
        good.ack(CLUSTER, &[]).await;
        if r.version_info == last.to_string() {
            break;
        }
    }
    // ... while the stuck one was not cut off yet: it delayed no one.
    assert_eq!(server.stats.streams_cut(), 0);
    assert_eq!(server.stats.connected(), 2);

    // After the stall bound the stuck stream is gone, and counted.
    let deadline = tokio::time::Instant::now() + stall + WAIT;
    while server.stats.connected() != 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server.stats.connected(),
        1,
        "the stuck stream was not cut off"
    );
    assert_eq!(server.stats.streams_cut(), 1);
    let json = server.stats.to_json();
    let stuck_entry = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "stuck")
        .expect("the stuck stream's record");
    assert_eq!(stuck_entry["connected"], false);
    assert_eq!(json["streams_cut"], 1);
    let (_tx, rx) = watch::channel(None);
    let metrics = Metrics::new(rx, server.stats.clone(), Arc::default()).render();
    assert!(
        metrics.contains("emissary_xds_streams_cut_total 1\n"),
        "{metrics}"
    );
    // The good stream still works.
    server.publish(many_mappings(last + 1, 40, "after"));
    assert_eq!(good.recv().await.version_info, (last + 1).to_string());
    drop(stuck);
    server.stop().await;
}

#[tokio::test]
async fn streams_opened_and_closed_in_a_loop_leak_nothing() {
    let server = Server::start(Some(snapshot(1, "/m/", "m", false))).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    for i in 0..300 {
        // A new connection now and then, several streams on each.
        if i % 2 == 0 {
            let mut c = server.sotw(&format!("churn-{}", i % 7)).await;
            if i % 10 != 0 {
                c.subscribe(CLUSTER, &[]).await;
                c.recv().await;
            }
        } else {
            let mut c = server.delta(&format!("churn-{}", i % 7)).await;
            c.subscribe(CLUSTER, &[], BTreeMap::new()).await;
            c.recv().await;
        }
    }
    eventually(|| server.stats.connected() == 0).await;
    assert!(
        server.stats.stream_records() <= emissary_k8s::ads::MAX_CLOSED_STREAMS,
        "{} records",
        server.stats.stream_records()
    );
    // Every stream's task (and every connection's) has ended.
    eventually(|| metrics.num_alive_tasks() <= tasks_before).await;
    let json = server.stats.to_json();
    assert_eq!(json["connected"], 0);
    assert_eq!(
        json["nodes"].as_array().unwrap().len(),
        emissary_k8s::ads::MAX_CLOSED_STREAMS
    );
    server.stop().await;
}
