//! State-of-the-world ADS: every response carries the complete set of a
//! type's resources that the Envoy subscribed to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::stats::Protocol as Kind;
use super::stream::{Peer, Protocol};
use super::{DiscoveryRequest, DiscoveryResponse};
use crate::snapshot::{
    self, CLUSTER, LISTENER, ROUTE, Resource, Snapshot, TYPE_ORDER, Versions, content_digest,
};
use emissary_core::pb::envoy::config::core::v3::Node;

/// What a response held: name → per-resource version, and a digest of
/// them. Comparisons use the digest (equal iff the names and versions are)
/// and copies share the map: every stream compares what it sent with every
/// new snapshot, so neither may cost a map's worth of strings.
#[derive(Clone, Debug)]
struct Content {
    digest: String,
    versions: Arc<Versions>,
}

impl PartialEq for Content {
    fn eq(&self, other: &Content) -> bool {
        self.digest == other.digest
    }
}

impl Content {
    /// Some resources of one type, sorted by name.
    fn of(resources: &[&Resource]) -> Content {
        Content {
            digest: content_digest(
                resources
                    .iter()
                    .map(|r| (r.name.as_str(), r.version.as_str())),
            ),
            versions: Arc::new(
                resources
                    .iter()
                    .map(|r| (r.name.clone(), r.version.clone()))
                    .collect(),
            ),
        }
    }

    fn keys(&self) -> impl Iterator<Item = &String> {
        self.versions.keys()
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.versions.iter()
    }

    fn get(&self, name: &str) -> Option<&String> {
        self.versions.get(name)
    }
}

/// The last response of one type.
struct Sent {
    nonce: String,
    version: String,
    content: Content,
    /// Where its resources' sources can be looked up.
    snapshot: Arc<Snapshot>,
}

#[derive(Default)]
struct Subscription {
    wildcard: bool,
    names: BTreeSet<String>,
    /// A request with no nonce (the first for this type) awaits an answer.
    respond: bool,
    sent: Option<Sent>,
    /// The last response is not answered yet.
    pending: bool,
    /// The last answer was a NACK.
    rejected: bool,
    /// Content the Envoy rejected: not sent again.
    nacked: Option<Content>,
    /// Content the Envoy last accepted.
    acked: Option<Content>,
}

pub(super) struct Stream {
    peer: Peer,
    subs: BTreeMap<&'static str, Subscription>,
    /// Clusters gone from the snapshot that are still sent until the
    /// listeners and routes that used them are replaced.
    retained: BTreeMap<String, Resource>,
}

impl Protocol for Stream {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;
    const KIND: Kind = Kind::Sotw;

    fn node(req: &DiscoveryRequest) -> Option<&Node> {
        req.node.as_ref()
    }

    fn open(peer: Peer) -> Self {
        Stream {
            peer,
            subs: BTreeMap::new(),
            retained: BTreeMap::new(),
        }
    }

    fn peer(&self) -> &Peer {
        &self.peer
    }

    fn handle(&mut self, req: DiscoveryRequest) {
        self.on_request(req)
    }

    fn respond(&mut self, snapshot: &Arc<Snapshot>) -> Vec<DiscoveryResponse> {
        self.due(snapshot)
    }
}

impl Stream {
    fn on_request(&mut self, req: DiscoveryRequest) {
        let Some(type_url) = TYPE_ORDER.iter().copied().find(|t| *t == req.type_url) else {
            tracing::debug!(
                node = self.peer.node,
                type_url = req.type_url,
                "request for an unknown type ignored"
            );
            return;
        };
        let known = self
            .subs
            .get(type_url)
            .and_then(|s| s.sent.as_ref())
            .is_some_and(|s| s.nonce == req.response_nonce);
        if !req.response_nonce.is_empty() && !known {
            tracing::debug!(
                node = self.peer.node,
                type_url,
                nonce = req.response_nonce,
                "stale nonce ignored"
            );
            return;
        }
        let sub = self.subs.entry(type_url).or_default();
        if req.response_nonce.is_empty() {
            // A first request for this type (on this stream): answer it even
            // if the content is what was sent before.
            sub.respond = true;
        } else if let Some(sent) = sub.sent.as_ref()
            && sub.pending
        {
            sub.pending = false;
            let error = match &req.error_detail {
                Some(e) => Some(e.message.clone()),
                None if req.version_info != sent.version => Some(format!(
                    "version_info {:?} does not match the version sent, {:?}",
                    req.version_info, sent.version
                )),
                None => None,
            };
            match error {
                None => {
                    sub.rejected = false;
                    sub.acked = Some(sent.content.clone());
                    self.peer.acked(type_url, &sent.version, true);
                }
                Some(message) => {
                    sub.rejected = true;
                    sub.nacked = Some(sent.content.clone());
                    // The culprits are among what changed since the last
                    // accepted response (Envoy's message often names none).
                    let all: Vec<String> = sent.content.keys().cloned().collect();
                    let changed: Vec<String> = sent
                        .content
                        .iter()
                        .filter(|(n, v)| sub.acked.as_ref().is_none_or(|a| a.get(n) != Some(*v)))
                        .map(|(n, _)| n.clone())
                        .collect();
                    let nack = super::nack_report(
                        &sent.version,
                        &sent.nonce,
                        &message,
                        &all,
                        &changed,
                        |n| {
                            sent.snapshot
                                .get(type_url, n)
                                .or_else(|| self.retained.get(n))
                                .map(|r| r.sources.clone())
                                .unwrap_or_default()
                        },
                    );
                    self.peer.nacked(type_url, nack);
                }
            }
        }
        let names: BTreeSet<String> = req.resource_names.into_iter().collect();
        sub.wildcard =
            names.contains("*") || (names.is_empty() && snapshot::is_wildcard_type(type_url));
        sub.names = names;
        self.check_ready();
    }

    /// Clusters, listeners and every other subscribed type answered with an
    /// ACK: the Envoy runs a snapshot.
    fn check_ready(&self) {
        let all = [CLUSTER, LISTENER]
            .iter()
            .all(|t| self.subs.contains_key(t))
            && self
                .subs
                .values()
                .all(|s| s.sent.is_some() && !s.pending && !s.rejected);
        if all {
            self.peer.ready();
        }
    }

    /// Listeners and routes run what they were last sent: clusters they no
    /// longer use can go.
    fn settled(&self, snapshot: &Snapshot) -> bool {
        [LISTENER, ROUTE].iter().all(|t| match self.subs.get(t) {
            None => true,
            Some(sub) => {
                !sub.pending
                    && !sub.rejected
                    && sub
                        .sent
                        .as_ref()
                        .is_some_and(|s| s.content == desired(sub, t, snapshot, None))
            }
        })
    }

    /// The responses due for this snapshot, in push order.
    fn due(&mut self, snapshot: &Arc<Snapshot>) -> Vec<DiscoveryResponse> {
        let settled = self.settled(snapshot);
        let mut out = Vec::new();
        for type_url in TYPE_ORDER {
            if !self.subs.contains_key(type_url) {
                continue;
            }
            if type_url == CLUSTER {
                self.update_retained(settled, snapshot);
            }
            let sub = &self.subs[type_url];
            let retained =
                (type_url == CLUSTER && !self.retained.is_empty()).then_some(&self.retained);
            let desired = desired(sub, type_url, snapshot, retained);
            let changed = sub.sent.as_ref().is_none_or(|s| s.content != desired);
            if !sub.respond && (!changed || sub.nacked.as_ref() == Some(&desired)) {
                if !changed {
                    // Same resources: look sources up in the newest snapshot
                    // and let older snapshots go.
                    if let Some(sent) = self.subs.get_mut(type_url).and_then(|s| s.sent.as_mut()) {
                        sent.snapshot = snapshot.clone();
                    }
                }
                continue;
            }
            let resources = resources(sub, type_url, snapshot, retained);
            let nonce = super::nonce();
            let version = snapshot.version_info();
            out.push(DiscoveryResponse {
                version_info: version.clone(),
                resources: resources.iter().map(|r| r.any.clone()).collect(),
                type_url: type_url.to_string(),
                nonce: nonce.clone(),
                ..Default::default()
            });
            self.peer.pushed(type_url, &nonce, resources.len());
            tracing::debug!(
                node = self.peer.node,
                type_url,
                version,
                nonce,
                resources = resources.len(),
                "push"
            );
            let sub = self.subs.get_mut(type_url).expect("subscribed");
            sub.respond = false;
            sub.pending = true;
            sub.sent = Some(Sent {
                nonce,
                version,
                content: desired,
                snapshot: snapshot.clone(),
            });
        }
        out
    }

    /// Recomputes the clusters sent before that the snapshot lost and that
    /// listeners and routes may still use (none once they are settled).
    fn update_retained(&mut self, settled: bool, snapshot: &Snapshot) {
        let sent = self.subs.get(CLUSTER).and_then(|s| s.sent.as_ref());
        let kept = match sent {
            Some(sent) if !settled => sent
                .content
                .keys()
                .filter(|name| snapshot.get(CLUSTER, name).is_none())
                .filter_map(|name| {
                    let r = sent
                        .snapshot
                        .get(CLUSTER, name)
                        .or_else(|| self.retained.get(name))?;
                    Some((name.clone(), r.clone()))
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        self.retained = kept;
    }
}

/// The resources of `type_url` in `snapshot` that `sub` asks for, with the
/// clusters `retained` (if any), sorted by name.
fn resources<'a>(
    sub: &Subscription,
    type_url: &str,
    snapshot: &'a Snapshot,
    retained: Option<&'a BTreeMap<String, Resource>>,
) -> Vec<&'a Resource> {
    let Some(all) = snapshot.resources(type_url) else {
        return Vec::new();
    };
    let mut out: Vec<&Resource> = if sub.wildcard {
        all.resources.values().map(|r| &**r).collect()
    } else {
        sub.names
            .iter()
            .filter_map(|n| all.resources.get(n))
            .map(|r| &**r)
            .collect()
    };
    if let Some(retained) = retained {
        out.extend(retained.values());
        out.sort_by(|a, b| a.name.cmp(&b.name));
    }
    out
}

/// The content a response of `type_url` for `sub` would hold now. A
/// wildcard subscription (without retained clusters) holds the whole type:
/// the snapshot's own digest and shared versions, nothing built per stream.
fn desired(
    sub: &Subscription,
    type_url: &str,
    snapshot: &Snapshot,
    retained: Option<&BTreeMap<String, Resource>>,
) -> Content {
    match snapshot.resources(type_url) {
        Some(all) if sub.wildcard && retained.is_none() => Content {
            digest: all.digest.clone(),
            versions: snapshot.versions(type_url),
        },
        _ => Content::of(&resources(sub, type_url, snapshot, retained)),
    }
}

#[cfg(test)]
mod tests {
    use super::{Subscription, desired};
    use crate::snapshot::{CLUSTER, Snapshot};
    use emissary_core::pb::Any;

    /// A wildcard subscription's content (the snapshot's digest and shared
    /// versions) equals the content built from the same resources listed
    /// by name, and differs as soon as one version does.
    #[test]
    fn whole_type_and_listed_contents_compare_by_what_they_hold() {
        let snap = |second: &[u8]| {
            Snapshot::from_resources(
                1,
                [("a", &b"1"[..]), ("b", second), ("c", b"3")].map(|(n, v)| {
                    let any = Any {
                        type_url: CLUSTER.to_string(),
                        value: v.to_vec(),
                    };
                    (CLUSTER, n.to_string(), any, Vec::new())
                }),
            )
        };
        let (one, other) = (snap(b"2"), snap(b"x"));
        let wildcard = Subscription {
            wildcard: true,
            ..Default::default()
        };
        let named = Subscription {
            names: ["a", "b", "c"].map(String::from).into(),
            ..Default::default()
        };
        let whole = desired(&wildcard, CLUSTER, &one, None);
        let listed = desired(&named, CLUSTER, &one, None);
        assert_eq!(whole, listed);
        assert_eq!(*whole.versions, *listed.versions);
        assert_ne!(whole, desired(&named, CLUSTER, &other, None));
        assert_ne!(whole, desired(&wildcard, CLUSTER, &other, None));
        let fewer = Subscription {
            names: ["a", "b"].map(String::from).into(),
            ..Default::default()
        };
        assert_ne!(whole, desired(&fewer, CLUSTER, &one, None));
        // The whole type's versions are built once and shared.
        let again = desired(&wildcard, CLUSTER, &one, None);
        assert!(std::sync::Arc::ptr_eq(&whole.versions, &again.versions));
    }
}
