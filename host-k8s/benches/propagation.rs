//! Benchmark of the daemon with the real Envoy: time from a Mapping file
//! change to Envoy serving the new route (p50/p99), the control plane's RSS
//! with four connected Envoys, and how many resources one Mapping change
//! sends on a delta stream. `cargo bench -p emissary-k8s --bench propagation
//! [-- N...]` (default 1000 10000); figures in BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::*;

fn mappings(n: usize, backend: u16, changed: Option<(usize, &str)>) -> String {
    let mut s = String::with_capacity(n * 200);
    for k in 0..n {
        let prefix = match changed {
            Some((c, p)) if c == k => p.to_string(),
            _ => format!("/svc-{k}/"),
        };
        s.push_str(&mapping_yaml(&format!("m-{k}"), &prefix, backend));
    }
    s
}

fn resources_sent(plane: &Plane) -> u64 {
    plane
        .admin_get("/metrics")
        .body
        .lines()
        .filter(|l| l.starts_with("emissary_xds_resources_sent_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn rss_kb(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn run(n: usize, rounds: usize) {
    let w = Workdir::new();
    let [listen, b] = free_ports(2)[..] else {
        unreachable!()
    };
    let _backend = backend(w.path(), "bench", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mappings(n, b, None));
    let plane = Plane::new();
    let serve = plane.start(w.path(), &w.config(), &[]);
    let envoys: Vec<Envoy> = (0..4)
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
        e.wait_live(Duration::from_secs(300));
    }
    let last = format!("/svc-{}/", n - 1);
    wait_for("the last route", Duration::from_secs(300), || {
        get(listen, &last).ok().filter(|r| r.status == 200)
    });
    // Let every Envoy ACK before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_kb(serve.pid());

    let mut times = Vec::new();
    let mut sent = Vec::new();
    for i in 0..rounds {
        let prefix = format!("/changed-{i}/");
        let before = resources_sent(&plane);
        let text = mappings(n, b, Some((i % n, &prefix)));
        let t0 = Instant::now();
        w.write("mappings.yaml", &text);
        loop {
            if get(listen, &prefix).is_ok_and(|r| r.status == 200) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "route never served");
            std::thread::sleep(Duration::from_millis(2));
        }
        times.push(t0.elapsed());
        // All four Envoys get the change; settle, then count.
        std::thread::sleep(Duration::from_millis(500));
        sent.push(resources_sent(&plane) - before);
    }
    let delta_stats = plane.admin_json("/debug/diagnostics")["ads"].clone();
    times.sort();
    println!(
        "N={n:>6} rounds={rounds} change->served p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms | daemon RSS with 4 Envoys {:.1} MB | resources sent per change (4 Envoys, 1 delta): {:?}",
        pct(&times, 0.5).as_secs_f64() * 1e3,
        pct(&times, 0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
        rss as f64 / 1024.0,
        &sent[..sent.len().min(5)],
    );
    let connected = delta_stats["connected"].as_u64().unwrap_or(0);
    println!("         connected Envoys: {connected}");
}

fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() { vec![1000, 10000] } else { ns };
    for n in ns {
        run(n, if n > 5000 { 20 } else { 40 });
    }
}
