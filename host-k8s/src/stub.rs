//! Stand-in for the ADS server's API (`emissary_k8s::{snapshot, ads}`) until
//! it is merged: same signatures, no gRPC.

pub(crate) mod snapshot {
    /// A versioned set of Envoy resources.
    pub(crate) struct Snapshot {
        pub(crate) version: u64,
        json: serde_json::Value,
    }
    impl Snapshot {
        pub(crate) fn from_translation(version: u64, t: &emissary_core::Translation) -> Snapshot {
            Snapshot {
                version,
                json: serde_json::to_value(t.resources(emissary_core::xds::Mode::Ads))
                    .unwrap_or_default(),
            }
        }
        pub(crate) fn to_json(&self) -> serde_json::Value {
            serde_json::json!({"version": self.version, "resources": self.json})
        }
    }
}

pub(crate) mod ads {
    use super::snapshot::Snapshot;
    use std::future::Future;
    use std::sync::Arc;
    /// Counters of the ADS server.
    pub(crate) struct AdsStats;
    impl AdsStats {
        pub(crate) fn new() -> Self {
            AdsStats
        }
        pub(crate) fn ready(&self) -> bool {
            false
        }
        pub(crate) fn to_json(&self) -> serde_json::Value {
            serde_json::json!({})
        }
        pub(crate) fn render_prometheus(&self, _out: &mut String) {}
    }
    pub(crate) async fn serve(
        _listener: tokio::net::TcpListener,
        _snapshots: tokio::sync::watch::Receiver<Option<Arc<Snapshot>>>,
        _stats: Arc<AdsStats>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        shutdown.await;
        Ok(())
    }
}
