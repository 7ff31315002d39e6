//! Benchmark of ADS fan-out: `emissary serve` (a separate process, file
//! source) with many simulated Envoys on loopback, half Delta, half SotW,
//! written with the crate's generated tonic client. Each client subscribes
//! as Envoy does (CDS and LDS wildcard, then EDS and RDS for the names it
//! received) and ACKs every response at once. For each change (one Mapping's
//! prefix and cluster rewritten in the manifests file) it measures the time
//! from the write to the last client's last ACK; it also reports the
//! daemon's CPU time per change (`/proc/<pid>/stat`) and its RSS, and checks
//! that every client ends with exactly the daemon's final configuration
//! (each resource's bytes, against `/debug/config`).
//!
//! `cargo bench -p emissary-k8s --bench fanout [-- MAPPINGS CLIENTS CHANGES]`
//! (default 10000 100 1000); figures in BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emissary_core::pb::Any;
use emissary_core::pb::envoy::config::cluster::v3::Cluster;
use emissary_core::pb::envoy::config::cluster::v3::cluster::{ClusterDiscoveryType, DiscoveryType};
use emissary_core::pb::envoy::config::core::v3::Node;
use emissary_core::pb::envoy::config::listener::v3::Listener;
use emissary_core::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager::RouteSpecifier,
};
use emissary_k8s::ads::pb::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use emissary_k8s::ads::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use emissary_k8s::snapshot::{CLUSTER, ENDPOINT, LISTENER, ROUTE, type_short_name};
use prost::Message as _;
use support::*;
use tokio::sync::mpsc;
use tokio_stream::StreamExt as _;
use tonic::transport::{Channel, Endpoint};

/// The manifests after change `i` (if any): Mapping `i % n` gets the
/// prefix `/changed-<i>/` and a cluster of its own.
fn manifests(n: usize, change: Option<usize>) -> String {
    match change {
        Some(i) => mappings(n, 9, Some((i % n, &format!("/changed-{i}/")))),
        None => mappings(n, 9, None),
    }
}

/// The first field of every xDS resource type is its name.
#[derive(Clone, PartialEq, prost::Message)]
struct Named {
    #[prost(string, tag = "1")]
    name: String,
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// What one client shows the benchmark.
#[derive(Default)]
struct Shared {
    /// When it last sent an ACK.
    last_ack: Mutex<Option<Instant>>,
    /// The version of the last RouteConfiguration response it ACKed.
    route_version: AtomicU64,
    /// Errors (a broken stream).
    failed: Mutex<Option<String>>,
    /// Its final resources (read at the end): type URL → name → hash, and,
    /// for the clients that keep them, the resources themselves.
    state: Mutex<State>,
}

#[derive(Default, Clone)]
struct State {
    hashes: BTreeMap<String, BTreeMap<String, u64>>,
    kept: BTreeMap<String, BTreeMap<String, Any>>,
}

/// Every client together.
#[derive(Default)]
struct Global {
    responses: AtomicU64,
    max_version: AtomicU64,
}

/// The names to ask for next, as Envoy derives them: EDS for the EDS
/// clusters, RDS for the route configurations the listeners' HTTP
/// connection managers name.
fn eds_name(c: &Cluster) -> Option<String> {
    let eds = matches!(
        c.cluster_discovery_type,
        Some(ClusterDiscoveryType::Type(t)) if t == DiscoveryType::Eds as i32
    );
    eds.then(|| {
        c.eds_cluster_config
            .as_ref()
            .map(|e| e.service_name.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| c.name.clone())
    })
}

fn rds_names(l: &Listener) -> Vec<String> {
    let mut out = Vec::new();
    for fc in l.filter_chains.iter().chain(l.default_filter_chain.iter()) {
        for f in &fc.filters {
            let Some(
                emissary_core::pb::envoy::config::listener::v3::filter::ConfigType::TypedConfig(a),
            ) = &f.config_type
            else {
                continue;
            };
            if let Some(hcm) = a.unpack::<HttpConnectionManager>()
                && let Some(RouteSpecifier::Rds(rds)) = hcm.route_specifier
            {
                out.push(rds.route_config_name);
            }
        }
    }
    out
}

/// A client's view of its resources, and the names it derives.
struct View {
    keep: bool,
    state: State,
    /// Cluster name → EDS name (for EDS clusters), listener → RDS names.
    eds: BTreeMap<String, String>,
    rds: BTreeMap<String, Vec<String>>,
}

impl View {
    fn new(keep: bool) -> View {
        View {
            keep,
            state: State::default(),
            eds: BTreeMap::new(),
            rds: BTreeMap::new(),
        }
    }

    /// A resource arrived (changed or not).
    fn put(&mut self, type_url: &str, name: String, any: &Any) {
        let h = hash(&any.value);
        let hashes = self.state.hashes.entry(type_url.into()).or_default();
        if hashes.get(&name) == Some(&h) {
            return;
        }
        match type_url {
            CLUSTER => {
                let c = Cluster::decode(&*any.value).expect("a Cluster");
                match eds_name(&c) {
                    Some(e) => self.eds.insert(name.clone(), e),
                    None => self.eds.remove(&name),
                };
            }
            LISTENER => {
                let l = Listener::decode(&*any.value).expect("a Listener");
                self.rds.insert(name.clone(), rds_names(&l));
            }
            _ => {}
        }
        hashes.insert(name.clone(), h);
        if self.keep {
            self.state
                .kept
                .entry(type_url.into())
                .or_default()
                .insert(name, any.clone());
        }
    }

    fn remove(&mut self, type_url: &str, name: &str) {
        if let Some(h) = self.state.hashes.get_mut(type_url) {
            h.remove(name);
        }
        if let Some(k) = self.state.kept.get_mut(type_url) {
            k.remove(name);
        }
        match type_url {
            CLUSTER => {
                self.eds.remove(name);
            }
            LISTENER => {
                self.rds.remove(name);
            }
            _ => {}
        }
    }

    /// Names of `type_url` that the SotW response did not hold any more.
    fn retain(&mut self, type_url: &str, names: &BTreeSet<String>) {
        let gone: Vec<String> = self
            .state
            .hashes
            .get(type_url)
            .map(|h| h.keys().filter(|n| !names.contains(*n)).cloned().collect())
            .unwrap_or_default();
        for n in gone {
            self.remove(type_url, &n);
        }
    }

    /// The EDS and RDS names it wants now.
    fn wanted(&self, type_url: &str) -> BTreeSet<String> {
        match type_url {
            ENDPOINT => self.eds.values().cloned().collect(),
            ROUTE => self.rds.values().flatten().cloned().collect(),
            _ => BTreeSet::new(),
        }
    }
}

fn node(id: &str) -> Option<Node> {
    Some(Node {
        id: id.into(),
        ..Default::default()
    })
}

async fn connect(ads: u16) -> AggregatedDiscoveryServiceClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{ads}"))
        .unwrap()
        .connect()
        .await
        .expect("connect to ADS");
    AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(usize::MAX)
}

fn acked(shared: &Shared, global: &Global, type_url: &str, version: &str) {
    let v: u64 = version.parse().unwrap_or(0);
    global.max_version.fetch_max(v, Ordering::Relaxed);
    global.responses.fetch_add(1, Ordering::Relaxed);
    if type_url == ROUTE {
        shared.route_version.store(v, Ordering::Relaxed);
    }
    *shared.last_ack.lock().unwrap() = Some(Instant::now());
}

/// A SotW client: ACKs carry the version and nonce of the response and the
/// type's current subscription.
async fn sotw(ads: u16, id: String, keep: bool, shared: Arc<Shared>, global: Arc<Global>) {
    let mut client = connect(ads).await;
    let (tx, rx) = mpsc::unbounded_channel::<DiscoveryRequest>();
    for t in [CLUSTER, LISTENER] {
        let _ = tx.send(DiscoveryRequest {
            node: node(&id),
            type_url: t.into(),
            ..Default::default()
        });
    }
    let mut inbound = client
        .stream_aggregated_resources(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .expect("SotW stream")
        .into_inner();
    let mut view = View::new(keep);
    // Per non-wildcard type: the names subscribed, and the last response.
    let mut subscribed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut last: BTreeMap<String, (String, String)> = BTreeMap::new();
    while let Some(r) = inbound.next().await {
        let r: DiscoveryResponse = match r {
            Ok(r) => r,
            Err(e) => {
                *shared.failed.lock().unwrap() = Some(e.to_string());
                return;
            }
        };
        let mut names = BTreeSet::new();
        for any in &r.resources {
            let name = Named::decode(&*any.value).expect("a resource").name;
            names.insert(name.clone());
            view.put(&r.type_url, name, any);
        }
        view.retain(&r.type_url, &names);
        last.insert(
            r.type_url.clone(),
            (r.version_info.clone(), r.nonce.clone()),
        );
        let _ = tx.send(DiscoveryRequest {
            version_info: r.version_info.clone(),
            type_url: r.type_url.clone(),
            response_nonce: r.nonce.clone(),
            resource_names: subscribed
                .get(r.type_url.as_str())
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
            ..Default::default()
        });
        acked(&shared, &global, &r.type_url, &r.version_info);
        for t in [ENDPOINT, ROUTE] {
            let want = view.wanted(t);
            let have = subscribed.get(t);
            if have == Some(&want) || (have.is_none() && want.is_empty()) {
                continue;
            }
            let (version, nonce) = last.get(t).cloned().unwrap_or_default();
            let _ = tx.send(DiscoveryRequest {
                version_info: version,
                type_url: t.into(),
                response_nonce: nonce,
                resource_names: want.iter().cloned().collect(),
                ..Default::default()
            });
            subscribed.insert(t, want);
        }
        *shared.state.lock().unwrap() = view.state.clone();
    }
}

/// A Delta client: ACKs carry the nonce; subscriptions change by
/// (un)subscribe lists.
async fn delta(ads: u16, id: String, keep: bool, shared: Arc<Shared>, global: Arc<Global>) {
    let mut client = connect(ads).await;
    let (tx, rx) = mpsc::unbounded_channel::<DeltaDiscoveryRequest>();
    for t in [CLUSTER, LISTENER] {
        let _ = tx.send(DeltaDiscoveryRequest {
            node: node(&id),
            type_url: t.into(),
            ..Default::default()
        });
    }
    let mut inbound = client
        .delta_aggregated_resources(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await
        .expect("Delta stream")
        .into_inner();
    let mut view = View::new(keep);
    let mut subscribed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    while let Some(r) = inbound.next().await {
        let r: DeltaDiscoveryResponse = match r {
            Ok(r) => r,
            Err(e) => {
                *shared.failed.lock().unwrap() = Some(e.to_string());
                return;
            }
        };
        for res in &r.resources {
            let any = res.resource.as_ref().expect("a resource");
            view.put(&r.type_url, res.name.clone(), any);
        }
        for n in &r.removed_resources {
            view.remove(&r.type_url, n);
        }
        let _ = tx.send(DeltaDiscoveryRequest {
            type_url: r.type_url.clone(),
            response_nonce: r.nonce.clone(),
            ..Default::default()
        });
        acked(&shared, &global, &r.type_url, &r.system_version_info);
        for t in [ENDPOINT, ROUTE] {
            let want = view.wanted(t);
            let have = subscribed.get(t).cloned().unwrap_or_default();
            if want == have {
                continue;
            }
            let _ = tx.send(DeltaDiscoveryRequest {
                node: (!subscribed.contains_key(t)).then(|| node(&id)).flatten(),
                type_url: t.into(),
                resource_names_subscribe: want.difference(&have).cloned().collect(),
                resource_names_unsubscribe: have.difference(&want).cloned().collect(),
                ..Default::default()
            });
            subscribed.insert(t, want);
        }
        *shared.state.lock().unwrap() = view.state.clone();
    }
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: i32, ticks: f64) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which is in parentheses).
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; 12 and 13 here.
    (t(11) + t(12)) / ticks
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Waits until every client has ACKed routes of the newest version seen
/// and no response arrived for `quiet`; returns that version.
async fn settle(clients: &[Arc<Shared>], global: &Global, above: u64, pid: i32, peak: &mut u64) {
    let quiet = Duration::from_millis(100);
    let start = Instant::now();
    let mut seen = global.responses.load(Ordering::Relaxed);
    let mut still = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        *peak = (*peak).max(rss_kb(pid));
        for c in clients {
            if let Some(e) = c.failed.lock().unwrap().as_ref() {
                panic!("a client's stream failed: {e}");
            }
        }
        let n = global.responses.load(Ordering::Relaxed);
        if n != seen {
            seen = n;
            still = Instant::now();
        }
        let max = global.max_version.load(Ordering::Relaxed);
        let all = max > above
            && clients
                .iter()
                .all(|c| c.route_version.load(Ordering::Relaxed) == max);
        if all && still.elapsed() >= quiet {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "clients did not settle (newest version {max})"
        );
    }
}

/// The daemon's served configuration, `/debug/config`: type URL → name →
/// JSON of the resource.
fn daemon_config(plane: &Plane) -> (u64, BTreeMap<String, BTreeMap<String, serde_json::Value>>) {
    let mut c = plane.admin_json("/debug/config");
    let version = c["version"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut out = BTreeMap::new();
    for t in [CLUSTER, ENDPOINT, LISTENER, ROUTE] {
        let items = match c[type_short_name(t)].take() {
            serde_json::Value::Array(a) => a,
            _ => Vec::new(),
        };
        let by_name = items
            .into_iter()
            .map(|v| {
                let name = v["name"]
                    .as_str()
                    .or_else(|| v["clusterName"].as_str())
                    .unwrap_or_default()
                    .to_string();
                (name, v)
            })
            .collect();
        out.insert(t.to_string(), by_name);
    }
    (version, out)
}

fn run(n: usize, clients: usize, changes: usize) {
    let w = Workdir::new();
    let listen = free_ports(1)[0];
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &manifests(n, None));
    let plane = Plane::new();
    let serve = plane.start(w.path(), &w.config(), &[]);
    let pid = serve.pid();
    let ticks = clock_ticks();
    let rss_idle = rss_kb(pid);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let global = Arc::new(Global::default());
    let shared: Vec<Arc<Shared>> = (0..clients).map(|_| Arc::default()).collect();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    rt.block_on(async {
        // Wait for the first snapshot, so that connecting is measured apart.
        wait_for("the first snapshot", Duration::from_secs(600), || {
            let v = plane.admin_json("/debug/diagnostics")["serving_version"].as_u64()?;
            (v > 0).then_some(())
        });
        let t0 = Instant::now();
        for (i, s) in shared.iter().enumerate() {
            let id = format!("fanout-{i}");
            // Clients 0 (Delta) and 1 (SotW) keep their resources for the
            // content check; the others keep hashes.
            let keep = i < 2;
            if i % 2 == 0 {
                tokio::spawn(delta(plane.ads, id, keep, s.clone(), global.clone()));
            } else {
                tokio::spawn(sotw(plane.ads, id, keep, s.clone(), global.clone()));
            }
        }
        let mut peak = rss_kb(pid);
        settle(&shared, &global, 0, pid, &mut peak).await;
        let connected = shared
            .iter()
            .filter_map(|s| *s.last_ack.lock().unwrap())
            .max()
            .map_or(Duration::ZERO, |t| t - t0);
        let rss_start = rss_kb(pid);
        let cpu_start = cpu_seconds(pid, ticks);
        println!(
            "N={n} clients={clients}: all connected and ACKed in {:.0} ms; daemon RSS before clients {:.1} MB, with them {:.1} MB",
            ms(connected),
            rss_idle as f64 / 1024.0,
            rss_start as f64 / 1024.0
        );

        let mut lat = Vec::with_capacity(changes);
        let wall = Instant::now();
        for i in 0..changes {
            let before = global.max_version.load(Ordering::Relaxed);
            let text = manifests(n, Some(i));
            let t0 = Instant::now();
            w.write("mappings.yaml", &text);
            settle(&shared, &global, before, pid, &mut peak).await;
            let last = shared
                .iter()
                .filter_map(|s| *s.last_ack.lock().unwrap())
                .max()
                .expect("ACKs");
            lat.push(last.saturating_duration_since(t0));
        }
        let elapsed = wall.elapsed();
        let cpu = cpu_seconds(pid, ticks) - cpu_start;
        lat.sort();
        let rss_end = rss_kb(pid);
        println!(
            "N={n} clients={clients} changes={changes}: change->last client's ACK p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | \
             daemon CPU {:.1} ms per change ({:.1} s in {:.1} s) | daemon RSS start {:.1} MB, peak {:.1} MB (VmHWM {:.1} MB), end {:.1} MB",
            ms(pct(&lat, 0.5)),
            ms(pct(&lat, 0.99)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            cpu * 1e3 / changes.max(1) as f64,
            cpu,
            elapsed.as_secs_f64(),
            rss_start as f64 / 1024.0,
            peak as f64 / 1024.0,
            vm_hwm_kb(pid) as f64 / 1024.0,
            rss_end as f64 / 1024.0,
        );
    });

    // Every client holds exactly the daemon's final configuration.
    let (version, config) = daemon_config(&plane);
    assert_eq!(
        version,
        global.max_version.load(Ordering::Relaxed),
        "clients ended on the daemon's version"
    );
    let states: Vec<State> = shared
        .iter()
        .map(|s| s.state.lock().unwrap().clone())
        .collect();
    for (i, s) in states.iter().enumerate().take(2) {
        for (t, want) in &config {
            let have = s.kept.get(t).cloned().unwrap_or_default();
            assert_eq!(
                have.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "client {i}: the names of {t}"
            );
            for (name, any) in &have {
                let json = emissary_core::pb::json::to_value(any).expect("JSON");
                assert_eq!(&json, &want[name], "client {i}: {t} {name}");
            }
        }
    }
    for (i, s) in states.iter().enumerate().skip(1) {
        assert!(
            s.hashes == states[0].hashes,
            "client {i} does not hold what client 0 holds"
        );
    }
    let resources: usize = states[0].hashes.values().map(BTreeMap::len).sum();
    println!(
        "         every client ends on version {version} with the daemon's {resources} resources, byte for byte"
    );
    drop(rt);
    drop(serve);
}

/// `fanout [MAPPINGS [CLIENTS [CHANGES]]]`, default 10000 100 1000.
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let clients = args.get(1).copied().unwrap_or(100).max(2);
    let changes = args.get(2).copied().unwrap_or(1_000);
    run(n, clients, changes);
}
