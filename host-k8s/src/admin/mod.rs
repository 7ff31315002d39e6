//! The daemon's admin HTTP endpoint (default port 8877, Emissary's diagd
//! port): health and readiness, Prometheus metrics, the configuration being
//! served and the latest diagnostics, plus Emissary's built-in
//! `/ambassador/v0/…` paths that the generated Envoy routes send here.
//!
//! It serves what it is given in its own [`State`] (the published
//! snapshots, the ADS statistics, the pipeline's report, the metrics) and
//! changes none of it.
//!
//! No endpoint shows a Secret's value: `/debug/config` shows private keys
//! and key passwords as `[redacted]`, `/ui/state.json`'s IR as
//! `[redacted: N bytes, sha256 <prefix>…]` (`emissary_core::ir::redacted`),
//! and diagnostics name a Secret's fields, never their values.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ads::{AdsStats, Snapshots};
use crate::pipeline::ReportCell;

pub mod metrics;
pub mod ui;

pub use metrics::Metrics;

/// What the admin endpoint serves.
#[derive(Clone)]
pub struct State {
    /// The published snapshots.
    pub snapshots: Snapshots,
    /// What the ADS server knows about its Envoys.
    pub ads: Arc<AdsStats>,
    /// The pipeline's latest attempt.
    pub report: ReportCell,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// The built web playground served under `/ui/` (see [`ui`]).
    pub ui_dir: Option<PathBuf>,
}

/// The admin router.
pub fn router(state: State) -> Router {
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
        .route("/ui", get(ui::redirect))
        .route("/ui/", get(ui::index))
        .route("/ui/state.json", get(ui::state))
        .route("/ui/{*path}", get(ui::asset))
        .with_state(state)
}

async fn readyz(axum::extract::State(s): axum::extract::State<State>) -> Response {
    if s.ads.ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no snapshot acknowledged by Envoy yet\n",
        )
            .into_response()
    }
}

async fn metrics(axum::extract::State(s): axum::extract::State<State>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        s.metrics.render(),
    )
        .into_response()
}

async fn config(axum::extract::State(s): axum::extract::State<State>) -> Response {
    let snap = s.snapshots.borrow().clone();
    match snap {
        Some(snap) => axum::Json(snap.to_json()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "no snapshot yet\n").into_response(),
    }
}

async fn diagnostics(axum::extract::State(s): axum::extract::State<State>) -> Response {
    let report = s.report.lock().expect("report lock").clone();
    axum::Json(serde_json::json!({
        "serving_version": report.serving_version,
        "last": report.last,
        "ads": s.ads.to_json(),
    }))
    .into_response()
}

/// Emissary's diagnostics overview, in plain text.
async fn summary(axum::extract::State(s): axum::extract::State<State>) -> Response {
    let report = s.report.lock().expect("report lock").clone();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "emissary {}: serving snapshot {}\nready: {}",
        env!("CARGO_PKG_VERSION"),
        report
            .serving_version
            .map_or("none".to_string(), |v| v.to_string()),
        s.ads.ready()
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
