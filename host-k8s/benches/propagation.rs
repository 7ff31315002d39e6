//! Benchmark of the daemon with the real Envoy: time from a Mapping file
//! change to Envoy serving the new route (p50/p99), the control plane's RSS
//! with four connected Envoys, and how many resources one Mapping change
//! sends on a delta stream. `cargo bench -p emissary-k8s --bench propagation
//! [-- N...]` (default 1000 10000 50000); figures in BENCHMARKS.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::*;

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
        "         daemon RSS 3 s after the last change {:.1} MB, peak {:.1} MB",
        rss_kb(serve.pid()) as f64 / 1024.0,
        vm_hwm_kb(serve.pid()) as f64 / 1024.0
    );
}

/// `propagation [N...]`: for each N (default 1,000, 10,000 and 50,000), one
/// run with a single Delta Envoy, then, up to 10,000 Mappings, one with four
/// (one Delta, three SotW). 50,000 Mappings run with one Envoy only: four
/// Envoys holding 50,000 clusters each do not fit the machine beside the
/// daemon.
fn main() {
    let ns: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() {
        vec![1000, 10000, 50000]
    } else {
        ns
    };
    for n in ns {
        let rounds = match n {
            0..=5000 => 150,
            5001..=20000 => 60,
            _ => 20,
        };
        run(n, 1, rounds);
        if n <= 20000 {
            run(n, 4, rounds / 3);
        }
    }
}
