//! Translation benchmark on generated manifests (`gen.rs`): N Mappings over H
//! Hosts behind the two standard Listeners.
//!
//! Measures **translation proper** — `lower::lower` (lowering to the IR)
//! plus `xds::build(_, Mode::Ads)` (Envoy messages) — on
//! objects parsed and loaded once outside the timed loop, for N = 100, 1,000,
//! 5,000, 10,000 and 50,000 Mappings on 1 cleartext Host and for 5,000 Mappings on 100
//! TLS Hosts; and, as the daemon re-translates, `Translator::translate` of
//! 10,000 Mappings with one of them changed since the call before. For
//! information it also times, at N = 5,000 on 1 Host,
//! parse + load (`source::parse` + `model::load`) and the static Bootstrap:
//! building it (`xds::bootstrap`) and rendering it with
//! `pb::json::write`.
//!
//! Run with `cargo bench -p emissary-core --bench translate [-- FILTER…]`
//! (a case runs when its label — `100x1`, `1000x1`, `5000x1`, `10000x1`,
//! `50000x1`, `5000x100tls`, `10000change`, `info` — contains some FILTER;
//! all run without one, which
//! is handy to profile one case under `perf`). Each case runs
//! at least 10 times (and for at least about a second); it prints the best
//! and median wall time, the median per Mapping, the medians of its two
//! stages (lowering, building the messages) and of dropping the results, and
//! the growth of the per Mapping time against an n·log n model.
//! Single-threaded throughout.
//!
//! The allocator is mimalloc, the one the `emissary` binary runs
//! translation with (`host-k8s/src/main.rs`); core cannot choose one. Under
//! glibc's `malloc` the share of its free-list consolidation
//! (`malloc_consolidate`, `unlink_chunk`) in a profile doubles from 1,000 to
//! 10,000 Mappings (BENCHMARKS.md, "Scale: 10,000 and 50,000 Mappings").
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

#[path = "gen.rs"]
mod r#gen;

use std::hint::black_box;
use std::time::{Duration, Instant};

use emissary_core::ir::Ir;
use emissary_core::model::{self, Objects};
use emissary_core::pb::json;
use emissary_core::{Inputs, Options, SourceFile, Translator, lower, source, translate, xds};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs `f` at least `MIN_RUNS` times and until about a second has passed;
/// returns (best, median).
fn time<T>(mut f: impl FnMut() -> T) -> (Duration, Duration) {
    const MIN_RUNS: usize = 10;
    const MAX_RUNS: usize = 200;
    let budget = Duration::from_secs(1);
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < MIN_RUNS || (times.len() < MAX_RUNS && started.elapsed() < budget) {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed());
        drop(black_box(out));
    }
    times.sort();
    (times[0], times[times.len() / 2])
}

/// Like [`time`], but times only dropping what `make` returns.
fn time_drop<T>(mut make: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 10 || (times.len() < 200 && started.elapsed() < Duration::from_secs(1)) {
        let out = black_box(make());
        let start = Instant::now();
        drop(out);
        times.push(start.elapsed());
    }
    times.sort();
    (times[0], times[times.len() / 2])
}

fn files(n: usize, hosts: usize, tls: bool) -> Vec<SourceFile> {
    r#gen::manifests(n, hosts, tls)
        .into_iter()
        .map(|(name, text)| SourceFile {
            name: name.into(),
            text,
        })
        .collect()
}

fn load(files: &[SourceFile], opts: &Options) -> Objects {
    let mut diags = Vec::new();
    let limits = source::Limits::default();
    let mut docs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let (d, mut ds) = source::parse(i as u32, &f.text, &limits);
        diags.append(&mut ds);
        docs.extend(d.into_iter().map(|d| (i as u32, d)));
    }
    let objects = model::load(&docs, opts, &mut diags);
    assert!(diags.is_empty(), "parse/load diagnostics: {diags:?}");
    objects
}

/// The IR of typed objects, and the diagnostics of lowering them.
fn lowered(objects: &Objects, opts: &Options) -> (Ir, Vec<emissary_core::diag::Diagnostic>) {
    let mut diags = Vec::new();
    let ir = lower::lower(objects, opts, &mut diags);
    (ir, diags)
}

fn translation_proper(objects: &Objects, opts: &Options) -> xds::Resources {
    xds::build(&lowered(objects, opts).0, xds::Mode::Ads)
}

/// A re-translation after one Mapping changed, at 10,000 Mappings on 1 Host:
/// `Translator::translate` (what the daemon does on a change: parse and read
/// only the changed document) against `translate` of the same text.
fn change(opts: &Options) {
    let base = files(10_000, 1, false);
    let mut round = 0usize;
    // Each call sees a different Mapping changed from the call before.
    let mut next = || {
        round += 1;
        let k = round % 10_000;
        let mut files = base.clone();
        for f in &mut files {
            f.text = f
                .text
                .replacen(&format!("/svc-{k}/"), &format!("/changed-{k}/"), 1);
        }
        Inputs {
            files,
            options: opts.clone(),
        }
    };
    let mut translator = Translator::default();
    drop(translator.translate(&next()));
    let inputs: Vec<_> = (0..20).map(|_| next()).collect();
    let mut it = inputs.iter().cycle();
    let (best, median) = time(|| translator.translate(it.next().expect("cycle")));
    assert!(
        translator.reused_objects() >= 9_999,
        "{}",
        translator.reused_objects()
    );
    println!(
        "one Mapping changed at N=10000 H=1: Translator::translate best {:>9.3} ms  median {:>9.3} ms",
        ms(best),
        ms(median)
    );
    let (best, median) = time(|| translate(it.next().expect("cycle")));
    println!(
        "                                    translate (from nothing) best {:>9.3} ms  median {:>9.3} ms",
        ms(best),
        ms(median)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected = |label: &str| filters.is_empty() || filters.iter().any(|f| label.contains(f));
    let opts = Options::default();
    println!("translation proper = lower::lower + xds::build(Mode::Ads), allocator: mimalloc");
    let mut growth = Vec::new();
    for (n, hosts, tls) in [
        (100, 1, false),
        (1_000, 1, false),
        (5_000, 1, false),
        (10_000, 1, false),
        (50_000, 1, false),
        (5_000, 100, true),
    ] {
        if !selected(&format!("{n}x{hosts}{}", if tls { "tls" } else { "" })) {
            continue;
        }
        let objects = load(&files(n, hosts, tls), &opts);
        // Sanity: the input translates cleanly into one route per Mapping and
        // Host-bound listener (at least).
        let (ir, diags) = lowered(&objects, &opts);
        assert!(diags.is_empty(), "{diags:?}");
        let res = xds::build(&ir, xds::Mode::Ads);
        let routes: usize = res
            .routes
            .iter()
            .flat_map(|rc| &rc.virtual_hosts)
            .map(|vh| vh.routes.len())
            .sum();
        assert!(routes >= n, "{routes} routes for {n} Mappings");
        let (clusters, secrets) = (res.clusters.len(), res.secrets.len());
        drop((ir, res));

        let (best, median) = time(|| translation_proper(&objects, &opts));
        let per = median.as_secs_f64() * 1e6 / n as f64;
        println!(
            "  N={n:>6} H={hosts:>3} {:<9} best {:>9.3} ms  median {:>9.3} ms  \
             {per:>6.2} µs/Mapping  ({routes} routes, {clusters} clusters, {secrets} secrets)",
            if tls { "TLS" } else { "cleartext" },
            ms(best),
            ms(median),
        );
        // The stages, for where growth comes from: lowering, building the
        // messages from a kept IR, and dropping both.
        let (_, lower_med) = time(|| lowered(&objects, &opts));
        let ir = lowered(&objects, &opts).0;
        let (_, build_med) = time(|| xds::build(&ir, xds::Mode::Ads));
        let (_, drop_med) =
            time_drop(|| (lowered(&objects, &opts), xds::build(&ir, xds::Mode::Ads)));
        drop(ir);
        println!(
            "  {:>20} stages (median): lower {:>9.3} ms  build {:>9.3} ms  drop IR + messages {:>9.3} ms",
            "",
            ms(lower_med),
            ms(build_med),
            ms(drop_med),
        );
        if hosts == 1 {
            growth.push((n, per));
        }
    }
    // Growth check: per-Mapping time divided by log2(n), relative to the
    // smallest N. n·log n (or better) keeps this ratio ≲ 1.
    if let Some(&(n0, p0)) = growth.first().filter(|_| growth.len() > 1) {
        println!("growth vs n·log n (per-Mapping time / log2 n, relative to N={n0}):");
        for &(n, p) in &growth {
            let rel = (p / (n as f64).log2()) / (p0 / (n0 as f64).log2());
            println!(
                "  N={n:>6}: per-Mapping ×{:.2} vs N={n0}, n·log n ratio {rel:.2}",
                p / p0
            );
        }
    }
    if selected("10000change") {
        change(&opts);
    }
    if !selected("info") {
        return;
    }

    println!("for information, N=5000 H=1:");
    let input = files(5_000, 1, false);
    let (best, median) = time(|| load(&input, &opts));
    println!(
        "  parse + load:          best {:>9.3} ms  median {:>9.3} ms",
        ms(best),
        ms(median)
    );
    let objects = load(&input, &opts);
    let (ir, _) = lowered(&objects, &opts);
    let bootstrap = || xds::bootstrap(&ir, xds::build(&ir, xds::Mode::Static));
    let (best, median) = time(bootstrap);
    println!(
        "  bootstrap() build:     best {:>9.3} ms  median {:>9.3} ms",
        ms(best),
        ms(median)
    );
    let bootstrap = bootstrap();
    let mut size = 0;
    let (best, median) = time(|| {
        let mut out = Vec::with_capacity(8 << 20);
        json::write(&bootstrap, &mut out).expect("render");
        size = out.len();
        out
    });
    println!(
        "  json::write bootstrap: best {:>9.3} ms  median {:>9.3} ms  ({size} bytes)",
        ms(best),
        ms(median)
    );
}
