//! Endpoint churn benchmark: 10,000 Mappings, each to its own Service by the
//! Kubernetes endpoint resolver (a `KubernetesEndpointResolver` named on the
//! Mapping with `resolver:`), each Service with a named port and its own
//! EndpointSlice. It times what the daemon does on a change, a
//! `Translator::translate` plus an `xds::Encoder::encode` of its IR, for two
//! kinds of change: one EndpointSlice's address, and one Mapping's prefix.
//!
//! Each object is in its own input file, as a Kubernetes source delivers
//! them; `-- --per-kind` puts each kind in one file instead.
//!
//! Run with `cargo bench -p emissary-core --bench endpoints`. Each kind of
//! change runs 50 times (each a different object changed from the call
//! before); it prints the median and the 99th percentile wall time.
//! Single-threaded (`xds::Serial`).
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::hint::black_box;
use std::time::{Duration, Instant};

use emissary_core::xds::{Encoder, Serial};
use emissary_core::{Inputs, Options, SourceFile, Translator};

const N: usize = 10_000;
const RUNS: usize = 50;

const HEAD: &str = "\
---
apiVersion: getambassador.io/v3alpha1
kind: Listener
metadata: {name: http, namespace: default}
spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}
---
apiVersion: getambassador.io/v3alpha1
kind: Host
metadata: {name: h, namespace: default}
spec: {hostname: \"*\", requestPolicy: {insecure: {action: Route}}}
---
apiVersion: getambassador.io/v3alpha1
kind: KubernetesEndpointResolver
metadata: {name: endpoint, namespace: default}
";

/// The input, with Mapping `m` routed at `/changed-<round>/` and the slice
/// of Service `s` at address `10.200.<round>` when given. Each object is in
/// its own file, as a Kubernetes source delivers them, unless `per_kind`:
/// then one file holds each kind.
fn inputs(
    mapping: Option<(usize, usize)>,
    slice: Option<(usize, usize)>,
    per_kind: bool,
) -> Inputs {
    let file = |name: String, text: String| SourceFile { name, text };
    let mut files = vec![file("head.yaml".into(), HEAD.into())];
    let (mut mappings, mut services, mut slices) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..N {
        let prefix = match mapping {
            Some((m, round)) if m == k => format!("/changed-{round}/"),
            _ => format!("/svc-{k}/"),
        };
        mappings.push(format!(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
             metadata: {{name: m-{k}, namespace: default}}\n\
             spec: {{hostname: \"*\", prefix: {prefix}, service: \"svc-{k}:80\", resolver: endpoint}}\n"
        ));
        services.push(format!(
            "---\napiVersion: v1\nkind: Service\n\
             metadata: {{name: svc-{k}, namespace: default}}\n\
             spec: {{ports: [{{name: http, port: 80, targetPort: http}}]}}\n"
        ));
        let address = match slice {
            Some((s, round)) if s == k => format!("10.200.{}.{}", round / 250, round % 250),
            _ => format!("10.{}.{}.1", k / 250, k % 250),
        };
        slices.push(format!(
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
             metadata: {{name: svc-{k}-x1, namespace: default, labels: {{kubernetes.io/service-name: svc-{k}}}}}\n\
             addressType: IPv4\nports: [{{name: http, port: 8080}}]\n\
             endpoints: [{{addresses: [{address}]}}]\n"
        ));
    }
    for (kind, texts) in [
        ("mappings", mappings),
        ("services", services),
        ("slices", slices),
    ] {
        if per_kind {
            files.push(file(format!("{kind}.yaml"), texts.concat()));
        } else {
            files.extend(
                texts
                    .into_iter()
                    .enumerate()
                    .map(|(k, text)| file(format!("{kind}/{k}.yaml"), text)),
            );
        }
    }
    Inputs {
        files,
        options: Options::default(),
    }
}

/// Median and 99th percentile of `times`.
fn stats(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1e3
    };
    (at(0.5), at(0.99))
}

/// What one kind of change took, per call.
#[derive(Default)]
struct Times {
    /// `Translator::translate` plus `Encoder::encode`.
    total: Vec<Duration>,
    translate: Vec<Duration>,
    encode: Vec<Duration>,
    /// Calls that kept the lowering.
    kept: usize,
}

/// Times translate + encode of each input after the one before.
fn run(t: &mut Translator, e: &mut Encoder, inputs: &[Inputs]) -> Times {
    let mut times = Times::default();
    for i in inputs {
        let start = Instant::now();
        let tr = t.translate(i);
        let translated = start.elapsed();
        let encoded = e.encode(tr.ir, &Serial);
        let total = start.elapsed();
        times.total.push(total);
        times.translate.push(translated);
        times.encode.push(total - translated);
        times.kept += usize::from(t.endpoints_only());
        drop(black_box((encoded, tr.diagnostics)));
    }
    times
}

fn report(what: &str, times: Times) {
    let (median, p99) = stats(times.total);
    let (translate, _) = stats(times.translate);
    let (encode, _) = stats(times.encode);
    println!(
        "N={N}: {what:<26} translate + encode median {median:>8.3} ms  p99 {p99:>8.3} ms  \
         (medians: translate {translate:.3} ms, encode {encode:.3} ms; {}/{RUNS} kept the lowering)",
        times.kept
    );
}

fn main() {
    let per_kind = std::env::args().any(|a| a == "--per-kind");
    let mut t = Translator::default();
    let mut e = Encoder::default();
    let first = t.translate(&inputs(None, None, per_kind));
    assert!(
        first
            .diagnostics
            .iter()
            .all(|d| d.code != "endpoints-not-found"),
        "every Service has endpoints"
    );
    assert_eq!(first.ir.endpoints.len(), N);
    drop(e.encode(first.ir, &Serial));
    // Every change is to another object than the one before.
    let slices: Vec<_> = (1..=RUNS)
        .map(|r| inputs(None, Some(((r * 7919) % N, r)), per_kind))
        .collect();
    report("one EndpointSlice changed:", run(&mut t, &mut e, &slices));
    let last_slice = Some(((RUNS * 7919) % N, RUNS));
    let mappings: Vec<_> = (1..=RUNS)
        .map(|r| inputs(Some(((r * 7919) % N, r)), last_slice, per_kind))
        .collect();
    report("one Mapping changed:", run(&mut t, &mut e, &mappings));
}
