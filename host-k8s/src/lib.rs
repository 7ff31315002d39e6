//! emissary-k8s: the `emissary` binary's library. The binary
//! (`src/main.rs`) only parses the command line; everything it runs is here,
//! in layers that import only downwards:
//!
//! - [`cli`]: the command line ([`cli::Cli`]) and its subcommands; calls
//!   [`serve`] for the daemon.
//! - [`serve`]: the daemon's wiring: binds ports, starts the parts below,
//!   stops them in order. Nothing imports it but [`cli`].
//! - [`pipeline`]: sources' changes in, published snapshots out (the
//!   last-good rule, versions).
//! - [`admin`]: the admin HTTP endpoint and the metrics.
//! - [`ads`]: the ADS gRPC server.
//! - [`envoy`]: the supervised Envoy.
//! - [`source`]: where manifests come from (a directory, the embedded
//!   quickstart), as changes; the debounce.
//! - [`status`]: what the daemon writes back to the cluster, and the
//!   leader election ([`status::lease`]) that lets one replica write it.
//! - [`backend`]: the example echo backend.
//! - [`snapshot`]: versioned, immutable Envoy configurations built from a
//!   translation.

pub mod admin;
pub mod ads;
pub mod backend;
pub mod cli;
pub mod envoy;
pub mod pipeline;
pub mod serve;
pub mod snapshot;
pub mod source;
pub mod status;

pub use ads::AdsStats;
pub use pipeline::Pipeline;
pub use snapshot::Snapshot;
