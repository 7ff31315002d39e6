//! Soak benchmark of the daemon with one real Envoy: many changes in a row
//! at a large configuration, watching for what a long-running control plane
//! must not do: grow its memory, slow down, or leak file descriptors or
//! threads. `cargo bench -p emissary-k8s --bench soak [-- N CHANGES]`
//! (default 10,000 Mappings and 10,000 changes); figures in BENCHMARKS.md.
//!
//! The changes cycle through the three kinds a cluster sees: a Mapping's
//! route and cluster change (every change, each time another Mapping), and
//! every third change a Mapping file appears or disappears. Each change is
//! applied once the previous one is served and ACKed, so every latency is
//! that of one change alone. The first 10 % of the changes are the warm-up
//! (caches fill, the allocator finds its working set); resource figures are
//! compared between the end of the warm-up and the end of the run, each
//! taken after a short rest so that freed memory can be returned.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::*;

/// What the soak watches in a process: resident memory, open file
/// descriptors and threads.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss_kb: u64,
    fds: usize,
    threads: u64,
}

fn usage(pid: i32) -> Usage {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Usage {
        rss_kb: rss_kb(pid),
        fds,
        threads,
    }
}

/// The machine's 1-minute load average, which explains latency drift that
/// is not the daemon's.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// Polls until `done` holds, failing the run after a minute.
fn until(what: &str, t0: Instant, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn run(n: usize, changes: usize) {
    let w = Workdir::new();
    let [listen, b] = free_ports(2)[..] else {
        unreachable!()
    };
    let _backend = backend(w.path(), "soak", b);
    w.write("listener.yaml", &listener_yaml(listen));
    w.write("mappings.yaml", &mappings(n, b, None));
    let plane = Plane::new();
    let serve = plane.start(w.path(), &w.config(), &[]);
    let envoy = Envoy::start(w.path(), &plane, "soak", AdsProtocol::Delta);
    envoy.wait_live(Duration::from_secs(600));
    let last = format!("/svc-{}/", n - 1);
    wait_for("the last route", Duration::from_secs(600), || {
        get(listen, &last).ok().filter(|r| r.status == 200)
    });
    let started = usage(serve.pid());

    let warmup = (changes / 10).max(1);
    let mut latencies = Vec::with_capacity(changes);
    // The daemon's own part of each change (read to snapshot), which the
    // machine's other load disturbs less than the whole path through Envoy.
    let mut translations = Vec::with_capacity(changes);
    let mut after_warmup = None;
    let mut extra: Option<String> = None;
    let wall = Instant::now();
    for i in 0..changes {
        if i == warmup {
            std::thread::sleep(Duration::from_secs(3));
            after_warmup = Some((usage(serve.pid()), rss_kb(envoy.proc.pid()), load()));
        }
        let versions = route_versions(&plane);
        let t0 = Instant::now();
        let prefix = format!("/changed-{i}/");
        w.write("mappings.yaml", &mappings(n, b, Some((i % n, &prefix))));
        // Every third change also adds or removes a file of its own.
        let gone = if i % 3 == 2 {
            match extra.take() {
                Some(old) => {
                    std::fs::remove_file(w.config().join("extra.yaml")).expect("remove extra.yaml");
                    Some(old)
                }
                None => {
                    let p = format!("/extra-{i}/");
                    w.write("extra.yaml", &mapping_yaml(&format!("extra-{i}"), &p, b));
                    extra = Some(p);
                    None
                }
            }
        } else {
            None
        };
        until("the changed route", t0, || {
            get(listen, &prefix).is_ok_and(|r| r.status == 200)
        });
        if i % 3 == 2 {
            match (&gone, &extra) {
                (Some(old), _) => until("the removed route's end", t0, || {
                    get(listen, old).is_ok_and(|r| r.status == 404)
                }),
                (None, Some(new)) => until("the added route", t0, || {
                    get(listen, new).is_ok_and(|r| r.status == 200)
                }),
                (None, None) => unreachable!(),
            }
        }
        latencies.push(t0.elapsed());
        until("Envoy's ACK", t0, || {
            let now = route_versions(&plane);
            now.len() == 1 && now[0].is_some() && now[0] != versions[0]
        });
        let took = plane.admin_json("/debug/diagnostics")["last"]["duration_ms"]
            .as_f64()
            .unwrap_or(0.0);
        translations.push(Duration::from_secs_f64(took / 1e3));
    }
    let elapsed = wall.elapsed();
    std::thread::sleep(Duration::from_secs(3));
    let end = usage(serve.pid());
    let envoy_end = rss_kb(envoy.proc.pid());
    let (warm, envoy_warm, load_warm) = after_warmup.unwrap_or((started, envoy_end, load()));

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "N={n} changes={changes} in {:.0} s ({:.1} ms per change)",
        elapsed.as_secs_f64(),
        ms(elapsed) / changes as f64
    );
    // p50/p99 per tenth of the run (warm-up first), and the p99 of the
    // first and second half after the warm-up.
    let p99 = |s: &[Duration]| {
        let mut s = s.to_vec();
        s.sort();
        if s.is_empty() {
            Duration::ZERO
        } else {
            pct(&s, 0.99)
        }
    };
    for (what, all) in [
        ("change->served", &latencies),
        ("translation", &translations),
    ] {
        let tenths: Vec<String> = all
            .chunks(warmup)
            .map(|c| {
                let mut c = c.to_vec();
                c.sort();
                format!("{:.0}/{:.0}", ms(pct(&c, 0.5)), ms(pct(&c, 0.99)))
            })
            .collect();
        println!("  {what} p50/p99 ms per tenth: {}", tenths.join(" "));
        let steady = &all[warmup.min(all.len())..];
        let half = steady.len() / 2;
        let (first, second) = (p99(&steady[..half]), p99(&steady[half..]));
        println!(
            "  {what} p99 after warm-up: first half {:.1} ms, second half {:.1} ms ({:+.1} %)",
            ms(first),
            ms(second),
            (ms(second) / ms(first).max(1e-9) - 1.0) * 100.0
        );
    }
    println!(
        "  machine load average (1 min): after warm-up {load_warm}, end {}",
        load()
    );
    println!(
        "  daemon RSS: start {:.1} MB, after warm-up {:.1} MB, end {:.1} MB ({:+.1} % after warm-up)",
        mb(started.rss_kb),
        mb(warm.rss_kb),
        mb(end.rss_kb),
        (end.rss_kb as f64 / warm.rss_kb.max(1) as f64 - 1.0) * 100.0
    );
    println!(
        "  daemon fds: start {}, after warm-up {}, end {}; threads: start {}, after warm-up {}, end {}",
        started.fds, warm.fds, end.fds, started.threads, warm.threads, end.threads
    );
    println!(
        "  Envoy RSS: after warm-up {:.1} MB, end {:.1} MB",
        mb(envoy_warm),
        mb(envoy_end)
    );
}

/// `soak [N [CHANGES]]`, default 10,000 Mappings and 10,000 changes.
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(10_000);
    let changes = args.get(1).copied().unwrap_or(10_000);
    run(n, changes);
}
