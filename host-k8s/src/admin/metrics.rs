//! The daemon's Prometheus metrics, rendered by the `prometheus-client`
//! crate in the Prometheus text format (version 0.0.4).
//!
//! Two kinds: what only the daemon sees happen (translations by outcome,
//! their duration, the latest input size and diagnostics) is kept here, in
//! metrics that [`Metrics::translated`] updates; what other parts keep
//! anyway (the ADS server's [`AdsStats`], the served [`Snapshot`]'s counts
//! and bytes, the Envoy supervisor's [`envoy::Status`]) is read when
//! scraped, by a collector, so those parts need not know about metrics.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

use crate::ads::{AdsStats, Snapshots};
use crate::envoy;
use crate::pipeline::Committed;
use crate::snapshot::{Snapshot, TYPE_ORDER};

/// The `Content-Type` of what [`Metrics::render`] gives.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds of the translation-duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Translation outcomes, each always present.
const OUTCOMES: [&str; 4] = ["published", "unchanged", "rejected", "refetching"];
/// Diagnostic severities, each always present.
const SEVERITIES: [&str; 3] = ["error", "warning", "info"];

type Labels = [(&'static str, &'static str); 1];

/// The metrics registry with the daemon's own metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    translations: Family<Labels, Counter>,
    duration: Histogram,
    input_bytes: Gauge,
    diagnostics: Family<Labels, Gauge>,
}

impl Metrics {
    /// The daemon's metrics, plus those read from the served snapshots,
    /// the ADS statistics and the Envoy supervisor's status when scraped.
    pub fn new(snapshots: Snapshots, ads: Arc<AdsStats>, envoy: Arc<envoy::Status>) -> Metrics {
        let mut registry = Registry::default();
        let translations = Family::<Labels, Counter>::default();
        for o in OUTCOMES {
            let _ = translations.get_or_create_owned(&[("outcome", o)]);
        }
        registry.register(
            "emissary_translations",
            "Translations run, by outcome (published, unchanged, rejected, refetching)",
            translations.clone(),
        );
        let duration = Histogram::new(BUCKETS);
        registry.register(
            "emissary_translation_duration_seconds",
            "Time from reading the inputs to a snapshot, per translation",
            duration.clone(),
        );
        let input_bytes = Gauge::default();
        registry.register(
            "emissary_input_bytes",
            "Size of the manifests read by the latest translation",
            input_bytes.clone(),
        );
        let diagnostics = Family::<Labels, Gauge>::default();
        for s in SEVERITIES {
            let _ = diagnostics.get_or_create_owned(&[("severity", s)]);
        }
        registry.register(
            "emissary_diagnostics",
            "Diagnostics of the latest translation, by severity",
            diagnostics.clone(),
        );
        registry.register_collector(Box::new(Scraped {
            snapshots,
            ads,
            envoy,
        }));
        Metrics {
            registry,
            translations,
            duration,
            input_bytes,
            diagnostics,
        }
    }

    /// Counts what the pipeline committed.
    pub fn translated(&self, c: &Committed) {
        self.translations
            .get_or_create(&[("outcome", c.outcome)])
            .inc();
        self.duration.observe(c.took.as_secs_f64());
        if let Some((counts, input_bytes)) = &c.diagnostics {
            self.input_bytes.set(*input_bytes as i64);
            for s in SEVERITIES {
                let n = counts.get(s).copied().unwrap_or(0);
                self.diagnostics
                    .get_or_create(&[("severity", s)])
                    .set(n as i64);
            }
        }
    }

    /// The Prometheus text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

/// The metrics read when scraped.
#[derive(Debug)]
struct Scraped {
    snapshots: Snapshots,
    ads: Arc<AdsStats>,
    envoy: Arc<envoy::Status>,
}

impl Collector for Scraped {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: u64| {
            let c = ConstCounter::new(v);
            c.encode(enc.encode_descriptor(name, help, None, c.metric_type())?)
        };
        let gauge = |enc: &mut DescriptorEncoder, name: &str, help: &str, v: i64| {
            let g = ConstGauge::new(v);
            g.encode(enc.encode_descriptor(name, help, None, g.metric_type())?)
        };
        counter(
            &mut enc,
            "emissary_envoy_starts",
            "Times the supervised Envoy was started",
            self.envoy.starts(),
        )?;
        gauge(
            &mut enc,
            "emissary_envoy_up",
            "1 while the supervised Envoy runs",
            i64::from(self.envoy.up()),
        )?;
        counter(
            &mut enc,
            "emissary_envoy_adoptions",
            "Times an Envoy left running by a previous control plane was adopted",
            self.envoy.adoptions(),
        )?;
        gauge(
            &mut enc,
            "emissary_envoy_adopted",
            "1 while the supervised Envoy is one this daemon adopted rather than started",
            i64::from(self.envoy.adopted()),
        )?;
        let snapshot = self.snapshots.borrow().clone();
        if let Some(s) = snapshot {
            encode_snapshot(&mut enc, &s)?;
        }
        encode_ads(&mut enc, &self.ads)
    }
}

/// The served snapshot's version and, per type URL, its resource count
/// and encoded bytes (gauges).
fn encode_snapshot(enc: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let version = ConstGauge::new(s.version as i64);
    version.encode(enc.encode_descriptor(
        "emissary_snapshot_version",
        "Version of the configuration served over ADS",
        None,
        version.metric_type(),
    )?)?;
    let stats = s.stats();
    type Field = fn(&crate::snapshot::TypeStats) -> usize;
    let families: [(&str, &str, Field); 2] = [
        (
            "emissary_snapshot_resources",
            "Resources in the served configuration, by type",
            |t| t.count,
        ),
        (
            "emissary_snapshot_bytes",
            "Encoded size of the served configuration, by type",
            |t| t.bytes,
        ),
    ];
    for (name, help, field) in families {
        let mut m = enc.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
        for t in &stats {
            ConstGauge::new(field(t) as i64)
                .encode(m.encode_family(&[("type_url", t.type_url)])?)?;
        }
    }
    Ok(())
}

/// The ADS counters by type URL and the number of connected Envoys.
fn encode_ads(enc: &mut DescriptorEncoder, ads: &AdsStats) -> Result<(), std::fmt::Error> {
    let counters = ads.counters();
    type Field = fn(&crate::ads::TypeCounters) -> u64;
    let families: [(&str, &str, Field); 4] = [
        (
            "emissary_xds_pushes",
            "xDS responses sent to Envoys, by type",
            |c| c.pushes,
        ),
        (
            "emissary_xds_acks",
            "xDS responses Envoys accepted, by type",
            |c| c.acks,
        ),
        (
            "emissary_xds_nacks",
            "xDS responses Envoys rejected, by type",
            |c| c.nacks,
        ),
        (
            "emissary_xds_resources_sent",
            "Resources sent to Envoys in xDS responses, by type",
            |c| c.resources_sent,
        ),
    ];
    for (name, help, field) in families {
        let mut m =
            enc.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
        for (t, c) in TYPE_ORDER.iter().zip(&counters) {
            ConstCounter::new(field(c)).encode(m.encode_family(&[("type_url", *t)])?)?;
        }
    }
    let cut = ConstCounter::new(ads.streams_cut());
    cut.encode(enc.encode_descriptor(
        "emissary_xds_streams_cut",
        "ADS streams ended because their Envoy stopped reading",
        None,
        cut.metric_type(),
    )?)?;
    let connected = ConstGauge::new(ads.connected() as i64);
    connected.encode(enc.encode_descriptor(
        "emissary_xds_connected_envoys",
        "ADS streams currently open",
        None,
        connected.metric_type(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::watch;

    #[test]
    fn histogram_is_cumulative_and_counts_outcomes() {
        let (_tx, rx) = watch::channel(None);
        let m = Metrics::new(rx, Arc::default(), Arc::default());
        let committed = |outcome, ms| Committed {
            outcome,
            took: Duration::from_millis(ms),
            diagnostics: None,
            refetch: Vec::new(),
        };
        m.translated(&committed("published", 20));
        m.translated(&committed("rejected", 300));
        let out = m.render();
        assert!(out.contains("emissary_translations_total{outcome=\"published\"} 1\n"));
        assert!(out.contains("emissary_translations_total{outcome=\"rejected\"} 1\n"));
        assert!(out.contains("emissary_translations_total{outcome=\"unchanged\"} 0\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.01\"} 0\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(out.contains("emissary_translation_duration_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(out.contains("emissary_translation_duration_seconds_count 2\n"));
        assert!(out.contains(
            "# TYPE emissary_envoy_starts_total counter\nemissary_envoy_starts_total 0\n"
        ));
        assert!(out.contains("emissary_envoy_up 0\n"));
        assert!(out.contains("emissary_envoy_adoptions_total 0\n"));
        assert!(out.contains("emissary_envoy_adopted 0\n"));
        assert!(out.contains("emissary_xds_connected_envoys 0\n"));
        assert!(
            !out.contains("emissary_snapshot_version"),
            "no snapshot yet"
        );
    }
}
