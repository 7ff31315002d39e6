//! emissary-k8s: the control-plane daemon's building blocks, used by the
//! `emissary` binary.
//!
//! - [`snapshot`]: versioned, immutable Envoy configurations built from a
//!   translation, with per-resource content hashes and source objects.
//! - [`ads`]: the ADS gRPC server (state-of-the-world and delta) that serves
//!   the latest snapshot to Envoys, with statistics for readiness, debugging
//!   and metrics.

pub mod ads;
pub mod snapshot;

pub use ads::AdsStats;
pub use snapshot::Snapshot;
