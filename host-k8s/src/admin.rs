//! The daemon's admin HTTP endpoint (default port 8877, Emissary's diagd
//! port): health and readiness, Prometheus metrics, the configuration being
//! served and the latest diagnostics, plus Emissary's built-in
//! `/ambassador/v0/…` paths that the generated Envoy routes send here.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::serve::Shared;

/// Upper bounds of the translation-duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counters and gauges of the control plane itself (the ADS server keeps its own).
#[derive(Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Translations by outcome: `published`, `unchanged`, `rejected`.
    translations: BTreeMap<&'static str, u64>,
    buckets: [u64; BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    input_bytes: u64,
    /// Diagnostics of the latest translation, by severity.
    diagnostics: BTreeMap<&'static str, u64>,
    envoy_starts: u64,
    envoy_up: bool,
}

impl Metrics {
    pub(crate) fn translated(&self, outcome: &'static str, took: Duration) {
        let mut m = self.inner.lock().expect("metrics lock");
        *m.translations.entry(outcome).or_default() += 1;
        let s = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                m.buckets[i] += 1;
            }
        }
        m.duration_sum += s;
        m.duration_count += 1;
    }

    pub(crate) fn diagnostics(&self, counts: BTreeMap<&'static str, u64>, input_bytes: u64) {
        let mut m = self.inner.lock().expect("metrics lock");
        m.diagnostics = counts;
        m.input_bytes = input_bytes;
    }

    pub(crate) fn envoy_started(&self) {
        let mut m = self.inner.lock().expect("metrics lock");
        m.envoy_starts += 1;
        m.envoy_up = true;
    }

    pub(crate) fn envoy_exited(&self) {
        self.inner.lock().expect("metrics lock").envoy_up = false;
    }

    /// Prometheus text exposition format.
    pub(crate) fn render(&self, out: &mut String) {
        let m = self.inner.lock().expect("metrics lock");
        fn family(out: &mut String, name: &str, ty: &str, help: &str) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {ty}");
        }
        family(
            out,
            "emissary_translations_total",
            "counter",
            "Translations run, by outcome (published, unchanged, rejected).",
        );
        for outcome in ["published", "unchanged", "rejected"] {
            let n = m.translations.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "emissary_translations_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        family(
            out,
            "emissary_translation_duration_seconds",
            "histogram",
            "Time from reading the inputs to a snapshot, per translation.",
        );
        for (b, n) in BUCKETS.iter().zip(m.buckets) {
            let _ = writeln!(
                out,
                "emissary_translation_duration_seconds_bucket{{le=\"{b}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "emissary_translation_duration_seconds_bucket{{le=\"+Inf\"}} {c}\n\
             emissary_translation_duration_seconds_sum {s}\n\
             emissary_translation_duration_seconds_count {c}",
            c = m.duration_count,
            s = m.duration_sum
        );
        family(
            out,
            "emissary_input_bytes",
            "gauge",
            "Size of the manifests read by the latest translation.",
        );
        let _ = writeln!(out, "emissary_input_bytes {}", m.input_bytes);
        family(
            out,
            "emissary_diagnostics",
            "gauge",
            "Diagnostics of the latest translation, by severity.",
        );
        for sev in ["error", "warning", "info"] {
            let n = m.diagnostics.get(sev).copied().unwrap_or(0);
            let _ = writeln!(out, "emissary_diagnostics{{severity=\"{sev}\"}} {n}");
        }
        family(
            out,
            "emissary_envoy_starts_total",
            "counter",
            "Times the supervised Envoy was started.",
        );
        let _ = writeln!(out, "emissary_envoy_starts_total {}", m.envoy_starts);
        family(
            out,
            "emissary_envoy_up",
            "gauge",
            "1 while the supervised Envoy runs.",
        );
        let _ = writeln!(out, "emissary_envoy_up {}", u8::from(m.envoy_up));
    }
}

/// What `/debug/diagnostics` shows: the latest translation attempt and what is served.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Report {
    /// Version of the snapshot being served, if any.
    pub(crate) serving_version: Option<u64>,
    /// The latest attempt, whatever its outcome.
    pub(crate) last: Option<Attempt>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Attempt {
    /// `published`, `unchanged` or `rejected`.
    pub(crate) outcome: &'static str,
    /// Why the input was not used (only when rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    /// When reading started.
    pub(crate) unix_ms: u64,
    /// How long reading, translating and building the snapshot took.
    pub(crate) duration_ms: f64,
    /// When the outcome took effect (the snapshot was published): after
    /// `duration_ms`, or later when the source had not been quiet for the
    /// debounce time yet.
    pub(crate) committed_unix_ms: u64,
    /// Where `duration_ms` went, in order: `read` (the source), `translate`
    /// (parse, load, lower), `diagnostics` (counting and rendering them),
    /// `snapshot` (Envoy resources built, encoded and hashed). A phase not
    /// reached is absent.
    pub(crate) phases_ms: Vec<(&'static str, f64)>,
    /// Documents (with their `---` line) unchanged since the translation
    /// before, and so not parsed again.
    pub(crate) reused_segments: usize,
    /// Clusters unchanged since the snapshot built before, and so shared
    /// with it rather than encoded again.
    pub(crate) reused_clusters: usize,
    pub(crate) files: usize,
    pub(crate) unreadable: Vec<String>,
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
    pub(crate) diagnostics: Vec<emissary_core::diag::Diagnostic>,
    /// The diagnostics rendered with file positions and code frames.
    pub(crate) rendered: String,
}

pub(crate) type ReportCell = Mutex<Report>;

/// The admin router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/debug/config", get(config))
        .route("/debug/diagnostics", get(diagnostics))
        .route("/ambassador/v0/check_alive", get(|| async { "alive\n" }))
        .route("/ambassador/v0/check_ready", get(readyz))
        .route("/ambassador/v0/", get(summary))
        .route("/ambassador/v0/{*rest}", get(summary))
        .with_state(shared)
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.stats.ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no snapshot acknowledged by Envoy yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let mut out = String::new();
    s.metrics.render(&mut out);
    if let Some(snap) = s.snapshots.borrow().clone() {
        snap.render_prometheus(&mut out);
    }
    s.stats.render_prometheus(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

async fn config(State(s): State<Arc<Shared>>) -> Response {
    let snap = s.snapshots.borrow().clone();
    match snap {
        Some(snap) => axum::Json(snap.to_json()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no snapshot yet\n").into_response(),
    }
}

async fn diagnostics(State(s): State<Arc<Shared>>) -> Response {
    let report = s.report.lock().expect("report lock").clone();
    axum::Json(serde_json::json!({
        "serving_version": report.serving_version,
        "last": report.last,
        "ads": s.stats.to_json(),
    }))
    .into_response()
}

/// Emissary's diagnostics overview, in plain text.
async fn summary(State(s): State<Arc<Shared>>) -> Response {
    let report = s.report.lock().expect("report lock").clone();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "emissary {}: serving snapshot {}\nready: {}",
        env!("CARGO_PKG_VERSION"),
        report
            .serving_version
            .map_or("none".to_string(), |v| v.to_string()),
        s.stats.ready()
    );
    if let Some(last) = &report.last {
        let _ = writeln!(
            out,
            "latest translation: {} ({} files, {} errors, {} warnings)",
            last.outcome, last.files, last.errors, last.warnings
        );
        if let Some(r) = &last.reason {
            let _ = writeln!(out, "not used: {r}");
        }
        out.push('\n');
        out.push_str(&last.rendered);
    }
    out.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_outcomes() {
        let m = Metrics::default();
        m.translated("published", Duration::from_millis(20));
        m.translated("rejected", Duration::from_millis(300));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("emissary_translations_total{outcome=\"published\"} 1\n"));
        assert!(out.contains("emissary_translations_total{outcome=\"rejected\"} 1\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(out.contains("emissary_translation_duration_seconds_count 2\n"));
    }
}
