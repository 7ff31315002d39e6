//! One task per ADS stream, the same for both protocols: it waits for the
//! first request (it names the node), registers the stream in
//! [`AdsStats`], and then, in one `select!`, takes requests, snapshot
//! changes and the server's shutdown, sending what is due after each
//! through the stream's bounded response buffer. What differs between
//! state-of-the-world and delta (subscriptions, matching an answer to a
//! response, what a snapshot makes due) is a [`Protocol`]; the accounting
//! of pushes, ACKs and NACKs goes through the stream's [`Peer`].

use std::sync::Arc;

use emissary_core::pb::envoy::config::core::v3::Node;
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt as _;
use tonic::Streaming;

use super::Snapshots;
use super::stats::{self, AdsStats, Nack};
use crate::snapshot::Snapshot;

/// What differs between the protocols: one stream's state and how it
/// answers requests and snapshots.
pub(super) trait Protocol: Send + Sized + 'static {
    /// The protocol's request message.
    type Request: Send + 'static;
    /// The protocol's response message.
    type Response: Send + 'static;
    /// The protocol, for statistics and logs.
    const KIND: stats::Protocol;
    /// The node a request names.
    fn node(req: &Self::Request) -> Option<&Node>;
    /// The state of a new stream.
    fn open(peer: Peer) -> Self;
    /// The stream's peer.
    fn peer(&self) -> &Peer;
    /// Takes a request (a subscription change, an ACK or a NACK).
    fn handle(&mut self, req: Self::Request);
    /// The responses due for this snapshot, in order (possibly none).
    fn respond(&mut self, snapshot: &Arc<Snapshot>) -> Vec<Self::Response>;
}

/// The Envoy at the other end of a stream, and the accounting of what it
/// was sent and how it answered.
pub(super) struct Peer {
    pub(super) id: u64,
    pub(super) node: String,
    stats: Arc<AdsStats>,
}

impl Peer {
    /// A response was sent.
    pub(super) fn pushed(&self, type_url: &str, nonce: &str, resources: usize) {
        self.stats.pushed(self.id, type_url, nonce, resources);
    }

    /// A response sent earlier still awaits its answer.
    pub(super) fn set_pending(&self, type_url: &str, nonce: &str) {
        self.stats.set_pending(self.id, type_url, nonce);
    }

    /// The response was accepted; `clears`: whatever this Envoy rejected of
    /// this type before is now fixed or gone.
    pub(super) fn acked(&self, type_url: &str, version: &str, clears: bool) {
        self.stats.acked(self.id, type_url, version, clears);
    }

    /// The response was rejected: counted and recorded, and logged with
    /// everything needed to find the bad object unless this node reported
    /// the same rejection already (then only at debug level).
    pub(super) fn nacked(&self, type_url: &str, nack: Nack) {
        let again = nack.clone();
        if self.stats.nacked(self.id, type_url, nack) {
            log_nack(&self.node, type_url, &again);
        } else {
            tracing::debug!(
                node = self.node,
                type_url,
                version = %again.version,
                "Envoy rejected the configuration again (same error)"
            );
        }
    }

    /// The Envoy runs a snapshot.
    pub(super) fn ready(&self) {
        self.stats.set_ready();
    }
}

/// Runs one stream until the client goes, the stream fails or the server
/// stops.
pub(super) async fn run<P: Protocol>(
    mut inbound: Streaming<P::Request>,
    mut io: StreamIo<P::Response>,
    stats: Arc<AdsStats>,
) {
    let Some(first) = io.first(&mut inbound).await else {
        return;
    };
    let node = super::node_id(P::node(&first));
    let id = stats.open(&node, P::KIND);
    let protocol = P::KIND.label();
    tracing::info!(node, stream = id, "Envoy connected ({protocol} ADS)");
    let mut stream = P::open(Peer {
        id,
        node,
        stats: stats.clone(),
    });
    stream.handle(first);
    let mut snapshot = io.snapshot();
    loop {
        if let Some(s) = &snapshot {
            let responses = stream.respond(s);
            match io.send(responses).await {
                Sent::All => {}
                Sent::Over => break,
                Sent::Stalled => {
                    tracing::warn!(
                        node = stream.peer().node,
                        stream = id,
                        timeout = ?io.stall_timeout,
                        "Envoy does not read its ADS stream: cut off ({protocol} ADS)"
                    );
                    stats.cut();
                    break;
                }
            }
        }
        match io.next(&mut inbound).await {
            Event::Request(r) => stream.handle(r),
            Event::Snapshot => snapshot = io.snapshot(),
            Event::End => break,
        }
    }
    tracing::info!(
        node = stream.peer().node,
        stream = id,
        "Envoy disconnected ({protocol} ADS)"
    );
    stats.close(id);
}

/// What one stream's task reads and writes besides the requests.
pub(super) struct StreamIo<T> {
    pub(super) tx: mpsc::Sender<T>,
    pub(super) snapshots: Snapshots,
    pub(super) stop: watch::Receiver<bool>,
    /// The snapshots' sender still exists.
    pub(super) publishing: bool,
    /// How long a response may wait for room in `tx`.
    pub(super) stall_timeout: std::time::Duration,
}

/// How sending a stream's responses went.
enum Sent {
    /// All were handed over.
    All,
    /// The stream is over (client gone, server stopping).
    Over,
    /// One could not be handed over within the stall timeout.
    Stalled,
}

/// Something that happened to a stream.
enum Event<R> {
    Request(R),
    Snapshot,
    End,
}

impl<T> StreamIo<T> {
    /// Waits for the next request, a new snapshot, or the end of the stream
    /// (client gone, error, server stopping).
    ///
    /// Decision: when the snapshots' sender goes away (a host whose
    /// pipeline stops before its Envoy has drained), the stream goes on
    /// serving the last snapshot; only the server's shutdown ends it.
    async fn next<R>(&mut self, inbound: &mut Streaming<R>) -> Event<R> {
        loop {
            return tokio::select! {
                biased;
                _ = self.stop.wait_for(|s| *s) => Event::End,
                _ = self.tx.closed() => Event::End,
                r = self.snapshots.changed(), if self.publishing => match r {
                    Ok(()) => Event::Snapshot,
                    Err(_) => {
                        self.publishing = false;
                        continue;
                    }
                },
                m = inbound.next() => match m {
                    Some(Ok(r)) => Event::Request(r),
                    Some(Err(status)) => {
                        tracing::debug!(%status, "ADS stream ended with an error");
                        Event::End
                    }
                    None => Event::End,
                },
            };
        }
    }

    /// The first request (it names the node), or `None` if the stream ends first.
    async fn first<R>(&mut self, inbound: &mut Streaming<R>) -> Option<R> {
        loop {
            match self.next(inbound).await {
                Event::Request(r) => return Some(r),
                Event::Snapshot => continue,
                Event::End => return None,
            }
        }
    }

    /// The current snapshot, marking it seen.
    fn snapshot(&mut self) -> Option<Arc<Snapshot>> {
        self.snapshots.borrow_and_update().clone()
    }

    /// Sends responses in order, each waiting at most the stall timeout
    /// for room in the buffer.
    async fn send(&mut self, responses: Vec<T>) -> Sent {
        for r in responses {
            tokio::select! {
                biased;
                _ = self.stop.wait_for(|s| *s) => return Sent::Over,
                sent = tokio::time::timeout(self.stall_timeout, self.tx.send(r)) => match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Sent::Over,
                    Err(_) => return Sent::Stalled,
                },
            }
        }
        Sent::All
    }
}

/// Logs a NACK with everything needed to find the bad object.
fn log_nack(node: &str, type_url: &str, nack: &Nack) {
    tracing::warn!(
        node,
        type_url,
        version = %nack.version,
        nonce = %nack.nonce,
        error = %nack.message,
        resources = ?nack.resources,
        sources = ?nack.sources,
        "Envoy rejected the configuration"
    );
}
