//! The ADS gRPC server: Envoy's AggregatedDiscoveryService, both the
//! state-of-the-world (`StreamAggregatedResources`) and the incremental
//! (`DeltaAggregatedResources`) protocol, serving the latest [`Snapshot`]
//! from a `watch` channel.
//!
//! Protocol decisions (see also `ARCHITECTURE.md`):
//!
//! - **Versions.** `version_info` (SotW) and `system_version_info` (delta) are
//!   the snapshot's version. Each resource's version is a hash of its encoded
//!   bytes; SotW compares the (name, version) sets it last sent, delta the
//!   versions the client has, so an unchanged type or resource is never
//!   re-sent. Every response has a fresh nonce.
//! - **Order (make-before-break).** After a new snapshot, the types that
//!   changed are pushed in the order clusters, endpoints, secrets, listeners,
//!   routes. Removals come last: delta sends `removed_resources` in separate
//!   responses after every add/update, and removals of clusters wait until
//!   the Envoy has ACKed the listeners and routes that stopped using them. In
//!   SotW, where a response is the complete set, the cluster response keeps
//!   the removed clusters (the union of old and new) until the listeners and
//!   routes are ACKed, then a cluster response without them follows.
//! - **NACKs.** A rejection is logged (Envoy's message, the resources it is
//!   about and the objects they came from), counted and recorded in
//!   [`AdsStats`] (`/debug/diagnostics`: per stream and type the last NACK
//!   and whether it stands, and the standing rejections by source object).
//!   The rejected content is not sent again: the stream waits for a snapshot
//!   whose content for that type differs. The Envoy keeps its last good
//!   configuration. A NACK is logged once per node, type and message: the
//!   same rejection again (a later snapshot still holding the bad resource,
//!   or a reconnect, which gets the whole snapshot again because a restarted
//!   Envoy needs its good part) is counted but logged at debug level, until
//!   the node ACKs that type. A rejection stands until an ACK covers it: in
//!   SotW any ACK of the type; in delta an ACK of a response that carried
//!   the rejected resources again (fixed) or removed them.
//! - **Nonces.** A request whose `response_nonce` is not the latest sent for
//!   its type is stale and ignored (SotW), or its ACK/NACK part is ignored
//!   while its subscription changes still apply (delta).
//! - **Subscriptions.** LDS and CDS are wildcard when the first request names
//!   no resources (or names `*`); EDS, RDS and SDS serve the names requested.
//!   A new stream starts from nothing (SotW) or from the client's
//!   `initial_resource_versions` (delta).
//! - **One loop.** Both protocols run the same task per stream
//!   (`stream.rs`: requests, snapshot changes and shutdown in one `select!`,
//!   the response buffer, ACK/NACK accounting); what differs (subscriptions,
//!   what is due for a snapshot, how an answer is matched) is behind a small
//!   trait that `sotw.rs` and `delta.rs` implement.
//! - **Bounded.** Each stream has a small response buffer; a slow Envoy just
//!   blocks its own stream, and snapshots published meanwhile coalesce in the
//!   `watch` channel, so it gets the latest when it catches up. A stream whose
//!   next response cannot be handed over within [`Config::stall_timeout`]
//!   (the Envoy stopped reading: its HTTP/2 window and the buffer are full) is
//!   cut off: one warning naming the node, `emissary_xds_streams_cut_total`
//!   counts it, and the Envoy's reconnect starts a fresh stream. What a stream
//!   holds is therefore bounded by the buffer and the HTTP/2 windows, however
//!   many snapshots are published; other streams never wait for it.

mod delta;
mod sotw;
mod stats;
mod stream;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status, Streaming};

use crate::snapshot::Snapshot;

pub use stats::{AdsStats, MAX_CLOSED_STREAMS, Nack, TypeCounters};

/// The generated gRPC service and client of `envoy.service.discovery.v3`
/// (`AggregatedDiscoveryService`); the message types are core's
/// (`emissary_core::pb::envoy::service::discovery::v3`).
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unreachable_pub,
    unused_imports,
    unused_qualifications
)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/envoy.service.discovery.v3.rs"));
}

pub use emissary_core::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};

/// What the ADS server serves from: the latest snapshot, `None` until the
/// first good translation.
pub type Snapshots = watch::Receiver<Option<Arc<Snapshot>>>;

/// Responses buffered per stream before the stream waits for its Envoy.
const RESPONSE_BUFFER: usize = 8;

/// Most resource names and source objects listed in one NACK report.
const NACK_LIST_MAX: usize = 50;

/// How long a stream may fail to hand over a response before it is cut off
/// (see [`Config::stall_timeout`]).
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the ADS server.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// A stream whose next response waits this long for room in its buffer
    /// (its Envoy does not read) is ended.
    pub stall_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        }
    }
}

/// Serves ADS on `listener` until `shutdown` completes, with the default
/// [`Config`]. Streams end when `shutdown` completes (Envoy reconnects
/// elsewhere or later); the function returns once the server has stopped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    stats: Arc<AdsStats>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, snapshots, stats, Config::default(), shutdown).await
}

/// [`serve`] with explicit settings.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    snapshots: watch::Receiver<Option<Arc<Snapshot>>>,
    stats: Arc<AdsStats>,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let service = Ads {
        snapshots,
        stats,
        stop: stop_rx,
        config,
    };
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let signal = async move {
        shutdown.await;
        // Ends every stream, so the graceful shutdown does not wait for them.
        let _ = stop_tx.send(true);
    };
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .add_service(
            pb::aggregated_discovery_service_server::AggregatedDiscoveryServiceServer::new(service)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(usize::MAX),
        )
        .serve_with_incoming_shutdown(incoming, signal)
        .await?;
    Ok(())
}

#[derive(Clone)]
struct Ads {
    snapshots: Snapshots,
    stats: Arc<AdsStats>,
    stop: watch::Receiver<bool>,
    config: Config,
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl pb::aggregated_discovery_service_server::AggregatedDiscoveryService for Ads {
    type StreamAggregatedResourcesStream = ResponseStream<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = ResponseStream<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        Ok(self.open::<sotw::Stream>(request))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Ok(self.open::<delta::Stream>(request))
    }
}

impl Ads {
    /// Starts a stream's task; its responses are the gRPC response stream.
    fn open<P: stream::Protocol>(
        &self,
        request: Request<Streaming<P::Request>>,
    ) -> Response<ResponseStream<P::Response>> {
        let (tx, rx) = mpsc::channel(RESPONSE_BUFFER);
        let io = stream::StreamIo {
            tx,
            snapshots: self.snapshots.clone(),
            stop: self.stop.clone(),
            publishing: true,
            stall_timeout: self.config.stall_timeout,
        };
        tokio::spawn(stream::run::<P>(
            request.into_inner(),
            io,
            self.stats.clone(),
        ));
        let out = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok);
        Response::new(Box::pin(out))
    }
}

/// A fresh nonce (unique within this process).
fn nonce() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

/// The node id of a request's `node`, or `""`.
fn node_id(node: Option<&emissary_core::pb::envoy::config::core::v3::Node>) -> String {
    node.map(|n| n.id.clone()).unwrap_or_default()
}

/// Builds a NACK record: the resources of the rejected response that
/// Envoy's message names, else those that changed since the last accepted
/// response (`changed`), else all of them; capped, with their sources.
fn nack_report(
    version: &str,
    nonce: &str,
    message: &str,
    sent: &[String],
    changed: &[String],
    lookup: impl Fn(&str) -> Vec<String>,
) -> Nack {
    let mentioned: Vec<&String> = sent.iter().filter(|n| mentions(message, n)).collect();
    let names: Vec<&String> = if !mentioned.is_empty() {
        mentioned
    } else if !changed.is_empty() {
        changed.iter().collect()
    } else {
        sent.iter().collect()
    };
    let mut sources = std::collections::BTreeSet::new();
    for n in names.iter().take(NACK_LIST_MAX) {
        sources.extend(lookup(n));
    }
    Nack {
        version: version.to_string(),
        nonce: nonce.to_string(),
        message: message.to_string(),
        resources: names.into_iter().take(NACK_LIST_MAX).cloned().collect(),
        sources: sources.into_iter().take(NACK_LIST_MAX).collect(),
    }
}

/// Whether `message` contains `name` as a whole word (not inside a longer
/// name: `listener-80` is not in `listener-8080`).
fn mentions(message: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    !name.is_empty()
        && message.match_indices(name).any(|(i, _)| {
            let before = message[..i].chars().next_back();
            let after = message[i + name.len()..].chars().next();
            !before.is_some_and(part) && !after.is_some_and(part)
        })
}

#[cfg(test)]
mod tests {
    use super::{mentions, nack_report};

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nack_report_prefers_named_then_changed_then_all() {
        let sent = names(&["a", "b", "c"]);
        let lookup = |n: &str| vec![format!("Mapping/default/{n}")];
        let r = nack_report(
            "2",
            "9",
            "cluster 'b' is bad",
            &sent,
            &names(&["c"]),
            lookup,
        );
        assert_eq!(r.resources, names(&["b"]));
        assert_eq!(r.sources, names(&["Mapping/default/b"]));
        assert_eq!((r.version.as_str(), r.nonce.as_str()), ("2", "9"));
        let r = nack_report("2", "9", "bad duration", &sent, &names(&["c"]), lookup);
        assert_eq!(r.resources, names(&["c"]));
        let r = nack_report("2", "9", "bad duration", &sent, &[], lookup);
        assert_eq!(r.resources, sent);
        assert_eq!(r.sources.len(), 3);
    }

    #[test]
    fn mentions_whole_names_only() {
        assert!(mentions("listener 'listener-80': bad", "listener-80"));
        assert!(mentions("listener-80", "listener-80"));
        assert!(!mentions("listener 'listener-8080': bad", "listener-80"));
        assert!(!mentions("xlistener-80", "listener-80"));
        assert!(!mentions("anything", ""));
    }
}
