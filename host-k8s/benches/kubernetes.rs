//! Benchmark of `emissary serve --kubernetes` against the API emulator of
//! `tests/k8s/`, with real Envoys: N Mappings, N Services and N
//! EndpointSlices (each Mapping resolved by a `KubernetesEndpointResolver`,
//! so every cluster is fed by EDS). It reports the initial sync (emulator
//! loaded → first snapshot → Envoy serving the last route), the time from a
//! changed Mapping in the API to Envoy serving it, from a changed
//! EndpointSlice to Envoy sending traffic to the new endpoint (p50/p99), and
//! the daemon's RSS, with one Envoy and then with four. `cargo bench -p emissary-k8s --bench
//! kubernetes [-- N [ROUNDS]]` (default 10000 40); figures in BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::*;

fn mapping(i: usize, prefix: &str) -> Value {
    json!({
        "apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping",
        "metadata": {"name": format!("svc-{i}"), "namespace": "default"},
        "spec": {"hostname": "*", "prefix": prefix, "service": format!("svc-{i}.default:80"),
                 "resolver": "endpoint", "load_balancer": {"policy": "round_robin"}}
    })
}

fn slice(i: usize, port: u16) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("svc-{i}-x"), "namespace": "default",
                     "labels": {"kubernetes.io/service-name": format!("svc-{i}")}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}]
    })
}

/// The emulator's state file: a Listener, a Host, the resolver and N of each.
fn state(n: usize, listen: u16, backend: u16) -> String {
    let mut objects = vec![
        json!({"apiVersion": "getambassador.io/v3alpha1", "kind": "Listener",
               "metadata": {"name": "http", "namespace": "default"},
               "spec": {"port": listen, "protocol": "HTTP", "securityModel": "XFP",
                        "hostBinding": {"namespace": {"from": "ALL"}}}}),
        json!({"apiVersion": "getambassador.io/v3alpha1", "kind": "Host",
               "metadata": {"name": "any", "namespace": "default"},
               "spec": {"hostname": "*", "requestPolicy": {"insecure": {"action": "Route"}}}}),
        json!({"apiVersion": "getambassador.io/v3alpha1", "kind": "KubernetesEndpointResolver",
               "metadata": {"name": "endpoint", "namespace": "default"}}),
    ];
    for i in 0..n {
        objects.push(mapping(i, &format!("/svc-{i}/")));
        objects.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("svc-{i}"), "namespace": "default"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend}]}
        }));
        objects.push(slice(i, backend));
    }
    Value::Array(objects).to_string()
}

/// Polls `path` through Envoy every 2 ms until the body holds `want`.
fn until_served(listen: u16, path: &str, want: &str, t0: Instant) -> Duration {
    loop {
        if get(listen, path).is_ok_and(|r| r.status == 200 && r.body.contains(want)) {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{path} never served by {want}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn run(n: usize, rounds: usize, envoy_count: usize) {
    let w = Workdir::new();
    let [listen, b1, b2, api_port] = free_ports(4)[..] else {
        unreachable!()
    };
    let _v1 = backend(w.path(), "backend-one", b1);
    let _v2 = backend(w.path(), "backend-two", b2);
    std::fs::write(w.path().join("state.json"), state(n, listen, b1)).unwrap();
    let t = Instant::now();
    let api = Emulator::start_loaded(w.path(), api_port);
    let loaded = t.elapsed();

    let plane = Plane::new();
    let t = Instant::now();
    let serve = plane.start_kubernetes(w.path(), &api.kubeconfig, &["--no-status"]);
    wait_for("the first snapshot", Duration::from_secs(600), || {
        (plane.admin_get("/debug/config").status == 200).then_some(())
    });
    let first_snapshot = t.elapsed();
    // Envoy 0 speaks Delta ADS, the others SotW; all share the listener
    // port (SO_REUSEPORT), so a request reaches one of them.
    let envoys: Vec<Envoy> = (0..envoy_count)
        .map(|i| {
            let proto = if i == 0 {
                AdsProtocol::Delta
            } else {
                AdsProtocol::Sotw
            };
            Envoy::start(w.path(), &plane, &format!("bench-{i}"), proto)
        })
        .collect();
    for e in &envoys {
        e.wait_live(Duration::from_secs(600));
    }
    until_served(listen, &format!("/svc-{}/", n - 1), "backend-one", t);
    let envoy_serving = t.elapsed();
    println!(
        "N={n} Envoys={envoy_count}: emulator loaded in {:.1} s; from the daemon's start: first snapshot {:.2} s, Envoys serving {:.2} s",
        loaded.as_secs_f64(),
        first_snapshot.as_secs_f64(),
        envoy_serving.as_secs_f64()
    );

    let mut mapping_served = Vec::new();
    let mut slice_served = Vec::new();
    // Where the daemon's time went (its own record of the last attempt).
    let mut mapping_phases: Vec<Vec<(String, f64)>> = Vec::new();
    let mut slice_phases: Vec<Vec<(String, f64)>> = Vec::new();
    let phases = |plane: &Plane| -> Vec<(String, f64)> {
        let d = plane.admin_json("/debug/diagnostics");
        let mut v: Vec<(String, f64)> = d["last"]["phases_ms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_f64()?)))
            .collect();
        let wait = d["last"]["committed_unix_ms"].as_f64().unwrap_or(0.0)
            - d["last"]["unix_ms"].as_f64().unwrap_or(0.0)
            - d["last"]["duration_ms"].as_f64().unwrap_or(0.0);
        v.push(("quiet".into(), wait.max(0.0)));
        v
    };
    for r in 0..rounds {
        // A Mapping's prefix changes.
        let i = (r * 7919) % n;
        let prefix = format!("/changed-{r}/");
        let t0 = Instant::now();
        api.replace(&mapping(i, &prefix));
        mapping_served.push(until_served(listen, &prefix, "backend-", t0));
        mapping_phases.push(phases(&plane));
        // An EndpointSlice's endpoint moves to the other backend.
        let j = (r * 104_729 + 1) % n;
        let (port, name) = if r % 2 == 0 {
            (b2, "backend-two")
        } else {
            (b1, "backend-one")
        };
        let path = if j == i {
            prefix.clone()
        } else {
            format!("/svc-{j}/")
        };
        let mut s = api
            .get("EndpointSlice", "default", &format!("svc-{j}-x"))
            .unwrap();
        s["ports"] = slice(j, port)["ports"].clone();
        let t0 = Instant::now();
        api.replace(&s);
        slice_served.push(until_served(listen, &path, name, t0));
        slice_phases.push(phases(&plane));
        if port == b2 {
            // Back to the first backend, so that the next round's check means something.
            let mut s = api
                .get("EndpointSlice", "default", &format!("svc-{j}-x"))
                .unwrap();
            s["ports"] = slice(j, b1)["ports"].clone();
            api.replace(&s);
            until_served(listen, &path, "backend-one", Instant::now());
        }
    }
    mapping_served.sort();
    slice_served.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "         Mapping change -> served p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} rounds)",
        ms(pct(&mapping_served, 0.5)),
        ms(pct(&mapping_served, 0.99)),
        ms(*mapping_served.last().unwrap()),
        mapping_served.len()
    );
    println!(
        "         EndpointSlice change -> traffic on the new endpoint p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(pct(&slice_served, 0.5)),
        ms(pct(&slice_served, 0.99)),
        ms(*slice_served.last().unwrap()),
    );
    for (what, all) in [
        ("Mapping", &mapping_phases),
        ("EndpointSlice", &slice_phases),
    ] {
        let names: Vec<String> = all
            .first()
            .map(|p| p.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let medians: Vec<String> = names
            .iter()
            .map(|n| {
                let mut v: Vec<f64> = all
                    .iter()
                    .filter_map(|p| p.iter().find(|(m, _)| m == n).map(|(_, x)| *x))
                    .collect();
                v.sort_by(f64::total_cmp);
                format!("{n} {:.1}", v.get(v.len() / 2).copied().unwrap_or(0.0))
            })
            .collect();
        println!(
            "         {what} change, the daemon's phases (median ms): {}",
            medians.join(", ")
        );
    }
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "         daemon RSS 3 s after the last change {:.1} MB",
        rss_kb(serve.pid()) as f64 / 1024.0
    );
}

/// `kubernetes [N [ROUNDS]]`: one run with one Envoy (Delta), then one with
/// four (one Delta, three SotW).
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let rounds = args.get(1).copied().unwrap_or(40);
    run(n, rounds, 1);
    run(n, rounds, 4);
}
