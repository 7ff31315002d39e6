//! Benchmark of the daemon with the real Envoy: time from a Mapping file
//! change to Envoy serving the new route (p50/p99), the control plane's RSS
//! with four connected Envoys, and how many resources one Mapping change
//! sends on a delta stream. `cargo bench -p emissary-k8s --bench propagation
//! [-- N...]` (default 1000 10000); figures in BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::*;

/// N Mappings on `127.0.0.1:backend`, each with its own cluster (a
/// `cluster_tag` per Mapping), as N Services would give; the changed one, if
/// any, gets a new prefix and a new cluster tag.
fn mappings(n: usize, backend: u16, changed: Option<(usize, &str)>) -> String {
    let mut s = String::with_capacity(n * 220);
    for k in 0..n {
        let (prefix, tag) = match changed {
            Some((c, p)) if c == k => (p.to_string(), format!("c{}", p.trim_matches('/'))),
            _ => (format!("/svc-{k}/"), format!("t{k}")),
        };
        s.push_str(&format!(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
             metadata: {{name: m-{k}, namespace: default}}\n\
             spec: {{hostname: \"*\", prefix: {prefix}, service: \"127.0.0.1:{backend}\", cluster_tag: {tag}}}\n"
        ));
    }
    s
}

/// The ADS streams still connected, as `/debug/diagnostics` shows them.
fn connected_streams(plane: &Plane) -> Vec<serde_json::Value> {
    let mut d = plane.admin_json("/debug/diagnostics");
    match d["ads"]["nodes"].take() {
        serde_json::Value::Array(nodes) => nodes
            .into_iter()
            .filter(|n| n["connected"] == true)
            .collect(),
        _ => Vec::new(),
    }
}

/// Per ADS stream (in stream order): resources sent so far, summed over types.
fn sent_per_stream(plane: &Plane) -> Vec<(String, u64)> {
    connected_streams(plane)
        .iter()
        .map(|n| {
            let sent = n["types"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, t)| t["resources_sent"].as_u64())
                .sum();
            (n["protocol"].as_str().unwrap_or("").to_string(), sent)
        })
        .collect()
}

/// Per connected stream: the RouteConfiguration version it has ACKed, or
/// `None` while a response is pending.
fn route_versions(plane: &Plane) -> Vec<Option<String>> {
    const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    connected_streams(plane)
        .iter()
        .map(|n| {
            let t = &n["types"][ROUTE];
            t["pending_nonce"]
                .is_null()
                .then(|| t["acked_version"].as_str().map(str::to_string))
                .flatten()
        })
        .collect()
}

/// Wall-clock milliseconds since the Unix epoch (the daemon reports its
/// translation start that way).
fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn run(n: usize, envoy_count: usize, rounds: usize) {
    let w = Workdir::new();
    let [listen, b] = free_ports(2)[..] else {
        unreachable!()
    };
    let _backend = backend(w.path(), "bench", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mappings(n, b, None));
    let plane = Plane::new();
    let serve = plane.start(w.path(), &w.config(), &[]);
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
    let last = format!("/svc-{}/", n - 1);
    wait_for("the last route", Duration::from_secs(600), || {
        get(listen, &last).ok().filter(|r| r.status == 200)
    });
    wait_for("every Envoy to ACK", Duration::from_secs(600), || {
        let v = route_versions(&plane);
        (v.len() == envoy_count && v.iter().all(|x| x.is_some())).then_some(())
    });
    let rss = rss_kb(serve.pid());

    let mut served = Vec::new();
    let mut acked = Vec::new();
    // Where the time goes: until translation starts (the first change
    // seen), translation (read to snapshot), the rest of the debounce (its
    // quiet time may outlast translation), then push and Envoy applying it.
    let mut waited = Vec::new();
    let mut translated = Vec::new();
    let mut quiet = Vec::new();
    let mut applied = Vec::new();
    let mut delta_sent = Vec::new();
    let mut sotw_sent = Vec::new();
    for i in 0..rounds {
        let prefix = format!("/changed-{i}/");
        let before = sent_per_stream(&plane);
        let versions = route_versions(&plane);
        let text = mappings(n, b, Some((i % n, &prefix)));
        let wall0 = unix_ms();
        let t0 = Instant::now();
        w.write("mappings.yaml", &text);
        loop {
            if get(listen, &prefix).is_ok_and(|r| r.status == 200) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "route never served");
            std::thread::sleep(Duration::from_millis(2));
        }
        served.push(t0.elapsed());
        let served_ms = wall0 + t0.elapsed().as_secs_f64() * 1e3;
        let last = &plane.admin_json("/debug/diagnostics")["last"];
        let start = last["unix_ms"].as_f64().unwrap_or(0.0);
        let took = last["duration_ms"].as_f64().unwrap_or(0.0);
        let committed = last["committed_unix_ms"].as_f64().unwrap_or(0.0);
        let span = |from: f64, to: f64| Duration::from_secs_f64((to - from).max(0.0) / 1e3);
        waited.push(span(wall0, start));
        translated.push(Duration::from_secs_f64(took / 1e3));
        quiet.push(span(start + took, committed));
        applied.push(span(committed, served_ms));
        loop {
            let now = route_versions(&plane);
            if now.len() == envoy_count
                && now
                    .iter()
                    .zip(&versions)
                    .all(|(a, b)| a.is_some() && a != b)
            {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "never ACKed");
            std::thread::sleep(Duration::from_millis(2));
        }
        acked.push(t0.elapsed());
        let after = sent_per_stream(&plane);
        for ((proto, a), (_, b)) in after.iter().zip(&before) {
            match proto.as_str() {
                "delta" => delta_sent.push(a - b),
                _ => sotw_sent.push(a - b),
            }
        }
    }
    served.sort();
    acked.sort();
    waited.sort();
    translated.sort();
    quiet.sort();
    applied.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "N={n:>6} Envoys={envoy_count} rounds={rounds}: change->served p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms | \
         change->all ACKed p50 {:.1} ms, p99 {:.1} ms | daemon RSS {:.1} MB",
        ms(pct(&served, 0.5)),
        ms(pct(&served, 0.99)),
        ms(*served.last().unwrap()),
        ms(pct(&acked, 0.5)),
        ms(pct(&acked, 0.99)),
        rss as f64 / 1024.0,
    );
    println!(
        "         p50 breakdown: change->translation start {:.1} ms, translation {:.1} ms (p99 {:.1}), rest of the quiet time {:.1} ms, push + Envoy applying {:.1} ms (p99 {:.1})",
        ms(pct(&waited, 0.5)),
        ms(pct(&translated, 0.5)),
        ms(pct(&translated, 0.99)),
        ms(pct(&quiet, 0.5)),
        ms(pct(&applied, 0.5)),
        ms(pct(&applied, 0.99)),
    );
    delta_sent.sort_unstable();
    sotw_sent.sort_unstable();
    println!(
        "         resources sent per change: delta stream min {} max {}; each SotW stream min {} max {}",
        delta_sent.first().unwrap_or(&0),
        delta_sent.last().unwrap_or(&0),
        sotw_sent.first().unwrap_or(&0),
        sotw_sent.last().unwrap_or(&0),
    );
    // Steady state: give the allocator a moment to return freed pages.
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "         daemon RSS 3 s after the last change {:.1} MB",
        rss_kb(serve.pid()) as f64 / 1024.0
    );
}

/// `propagation [N...]`: for each N (default 1,000 and 10,000), one run
/// with a single Delta Envoy, then one with four (one Delta, three SotW).
fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() { vec![1000, 10000] } else { ns };
    for n in ns {
        let rounds = if n > 5000 { 60 } else { 150 };
        run(n, 1, rounds);
        run(n, 4, rounds / 3);
    }
}
