//! Incremental (delta) ADS: responses carry only the resources that changed
//! since what the client has, and the names of those it must drop.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use super::stats::Protocol as Kind;
use super::stream::{Peer, Protocol};
use super::{DeltaDiscoveryRequest, DeltaDiscoveryResponse};
use crate::snapshot::{self, CLUSTER, LISTENER, ROUTE, Snapshot, TYPE_ORDER};
use emissary_core::pb::envoy::config::core::v3::Node;
use emissary_core::pb::envoy::service::discovery::v3::Resource as DeltaResource;

/// Responses of one type remembered while unanswered (older ones are
/// dropped: their answers will be treated as stale).
const MAX_OUTSTANDING: usize = 8;

/// A response not answered yet.
struct Outstanding {
    nonce: String,
    version: String,
    /// Names of the resources it carried (updated or removed).
    names: Vec<String>,
    snapshot: Arc<Snapshot>,
}

#[derive(Default)]
struct Subscription {
    wildcard: bool,
    names: BTreeSet<String>,
    /// What the client has, name → version: what it told us at the start
    /// plus everything sent since (rejected content included, so that it is
    /// not sent again).
    has: BTreeMap<String, String>,
    /// The first request of this type awaits an answer.
    respond: bool,
    /// Some response of this type was sent.
    sent_any: bool,
    outstanding: VecDeque<Outstanding>,
    /// Resources a NACK was about that were not sent again (fixed) or
    /// removed and ACKed since: while any remain, the type stays rejected
    /// (an ACK of a response that did not carry them does not clear it).
    bad: BTreeSet<String>,
    /// Some resource of this type stands rejected (`bad` is not empty, or
    /// the last answer was a NACK).
    rejected: bool,
}

pub(super) struct Stream {
    peer: Peer,
    subs: BTreeMap<&'static str, Subscription>,
}

impl Protocol for Stream {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;
    const KIND: Kind = Kind::Delta;

    fn node(req: &DeltaDiscoveryRequest) -> Option<&Node> {
        req.node.as_ref()
    }

    fn open(peer: Peer) -> Self {
        Stream {
            peer,
            subs: BTreeMap::new(),
        }
    }

    fn peer(&self) -> &Peer {
        &self.peer
    }

    fn handle(&mut self, req: DeltaDiscoveryRequest) {
        self.on_request(req)
    }

    fn respond(&mut self, snapshot: &Arc<Snapshot>) -> Vec<DeltaDiscoveryResponse> {
        self.due(snapshot)
    }
}

impl Stream {
    fn on_request(&mut self, req: DeltaDiscoveryRequest) {
        let Some(type_url) = TYPE_ORDER.iter().copied().find(|t| *t == req.type_url) else {
            tracing::debug!(
                node = self.peer.node,
                type_url = req.type_url,
                "request for an unknown type ignored"
            );
            return;
        };
        let first = !self.subs.contains_key(type_url);
        let sub = self.subs.entry(type_url).or_default();
        if first {
            sub.respond = true;
            sub.has = req.initial_resource_versions.clone().into_iter().collect();
            // Legacy wildcard: a first LDS/CDS request that names nothing.
            sub.wildcard =
                req.resource_names_subscribe.is_empty() && snapshot::is_wildcard_type(type_url);
        }
        if !req.response_nonce.is_empty() {
            self.answer(type_url, &req);
        }
        let sub = self.subs.get_mut(type_url).expect("subscribed");
        for n in req.resource_names_subscribe {
            if n == "*" {
                sub.wildcard = true;
            } else {
                sub.names.insert(n);
            }
        }
        for n in req.resource_names_unsubscribe {
            if n == "*" {
                sub.wildcard = false;
                let names = &sub.names;
                sub.has.retain(|k, _| names.contains(k));
            } else {
                sub.names.remove(&n);
                if !sub.wildcard {
                    sub.has.remove(&n);
                }
            }
        }
        self.check_ready();
    }

    /// An ACK or NACK of the response with `req.response_nonce`.
    fn answer(&mut self, type_url: &'static str, req: &DeltaDiscoveryRequest) {
        let sub = self.subs.get_mut(type_url).expect("subscribed");
        let Some(i) = sub
            .outstanding
            .iter()
            .position(|o| o.nonce == req.response_nonce)
        else {
            tracing::debug!(
                node = self.peer.node,
                type_url,
                nonce = req.response_nonce,
                "stale nonce: ACK/NACK ignored"
            );
            return;
        };
        // Envoy answers in order: anything older was answered already.
        let answered = sub.outstanding.drain(..=i).next_back().expect("non-empty");
        match &req.error_detail {
            None => {
                for n in &answered.names {
                    sub.bad.remove(n);
                }
                sub.rejected = !sub.bad.is_empty();
                self.peer
                    .acked(type_url, &answered.version, sub.bad.is_empty());
            }
            Some(e) => {
                sub.rejected = true;
                let nack = super::nack_report(
                    &answered.version,
                    &answered.nonce,
                    &e.message,
                    &answered.names,
                    &answered.names,
                    |n| {
                        answered
                            .snapshot
                            .get(type_url, n)
                            .map(|r| r.sources.clone())
                            .unwrap_or_default()
                    },
                );
                sub.bad.extend(nack.resources.iter().cloned());
                self.peer.nacked(type_url, nack);
            }
        }
        if let Some(newest) = sub.outstanding.back() {
            // Still waiting for a later response of this type.
            self.peer.set_pending(type_url, &newest.nonce);
        }
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
                .all(|s| s.sent_any && s.outstanding.is_empty() && !s.rejected);
        if all {
            self.peer.ready();
        }
    }

    /// Listeners and routes run what they were last sent, with nothing more
    /// to send: clusters they no longer use can be removed.
    fn settled(&self, snapshot: &Snapshot) -> bool {
        [LISTENER, ROUTE].iter().all(|t| match self.subs.get(t) {
            None => true,
            Some(sub) => {
                sub.outstanding.is_empty()
                    && !sub.rejected
                    && updates(sub, t, snapshot).is_empty()
                    && removals(sub, t, snapshot).is_empty()
            }
        })
    }

    /// The responses due for this snapshot: every type's adds and updates,
    /// in push order, then every type's removals (those of clusters only once
    /// listeners and routes are settled).
    fn due(&mut self, snapshot: &Arc<Snapshot>) -> Vec<DeltaDiscoveryResponse> {
        let mut out = Vec::new();
        for type_url in TYPE_ORDER {
            let Some(sub) = self.subs.get(type_url) else {
                continue;
            };
            let changed: Vec<DeltaResource> = updates(sub, type_url, snapshot)
                .into_iter()
                .map(|r| DeltaResource {
                    name: r.name.clone(),
                    version: r.version.clone(),
                    resource: Some(r.any.clone()),
                    ..Default::default()
                })
                .collect();
            if changed.is_empty() && !sub.respond {
                continue;
            }
            out.push(self.push(type_url, snapshot, changed, Vec::new()));
        }
        let settled = self.settled(snapshot);
        for type_url in TYPE_ORDER {
            let Some(sub) = self.subs.get(type_url) else {
                continue;
            };
            if type_url == CLUSTER && !settled {
                continue;
            }
            let removed = removals(sub, type_url, snapshot);
            if !removed.is_empty() {
                out.push(self.push(type_url, snapshot, Vec::new(), removed));
            }
        }
        out
    }

    fn push(
        &mut self,
        type_url: &'static str,
        snapshot: &Arc<Snapshot>,
        resources: Vec<DeltaResource>,
        removed: Vec<String>,
    ) -> DeltaDiscoveryResponse {
        let sub = self.subs.get_mut(type_url).expect("subscribed");
        let nonce = super::nonce();
        let version = snapshot.version_info();
        for r in &resources {
            sub.has.insert(r.name.clone(), r.version.clone());
        }
        for n in &removed {
            sub.has.remove(n);
        }
        let names = resources
            .iter()
            .map(|r| r.name.clone())
            .chain(removed.iter().cloned())
            .collect();
        sub.outstanding.push_back(Outstanding {
            nonce: nonce.clone(),
            version: version.clone(),
            names,
            snapshot: snapshot.clone(),
        });
        if sub.outstanding.len() > MAX_OUTSTANDING {
            sub.outstanding.pop_front();
        }
        sub.respond = false;
        sub.sent_any = true;
        self.peer.pushed(type_url, &nonce, resources.len());
        tracing::debug!(
            node = self.peer.node,
            type_url,
            version,
            nonce,
            resources = resources.len(),
            removed = removed.len(),
            "push"
        );
        DeltaDiscoveryResponse {
            system_version_info: version,
            resources,
            type_url: type_url.to_string(),
            removed_resources: removed,
            nonce,
            ..Default::default()
        }
    }
}

/// Subscribed resources of the snapshot whose version the client lacks.
fn updates<'a>(
    sub: &Subscription,
    type_url: &str,
    snapshot: &'a Snapshot,
) -> Vec<&'a snapshot::Resource> {
    let Some(all) = snapshot.resources(type_url) else {
        return Vec::new();
    };
    if sub.wildcard {
        // Both maps are sorted by name: one merge walk instead of a lookup
        // per resource (this runs for every stream on every snapshot).
        let mut has = sub.has.iter().peekable();
        all.resources
            .iter()
            .filter(|(name, r)| {
                while has.next_if(|(n, _)| n.as_str() < name.as_str()).is_some() {}
                has.peek()
                    .is_none_or(|(n, v)| n.as_str() != name.as_str() || **v != r.version)
            })
            .map(|(_, r)| &**r)
            .collect()
    } else {
        sub.names
            .iter()
            .filter_map(|n| all.resources.get(n))
            .map(|r| &**r)
            .filter(|r| sub.has.get(&r.name) != Some(&r.version))
            .collect()
    }
}

/// Names the client has that the snapshot no longer holds.
fn removals(sub: &Subscription, type_url: &str, snapshot: &Snapshot) -> Vec<String> {
    let Some(all) = snapshot.resources(type_url) else {
        return sub.has.keys().cloned().collect();
    };
    // A merge walk over the two name-sorted maps, as in `updates`.
    let mut present = all.resources.keys().peekable();
    sub.has
        .keys()
        .filter(|n| {
            while present.next_if(|p| p.as_str() < n.as_str()).is_some() {}
            present.peek().is_none_or(|p| p.as_str() != n.as_str())
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Subscription, removals, updates};
    use crate::snapshot::{CLUSTER, Snapshot};
    use emissary_core::pb::Any;

    fn any(bytes: &[u8]) -> Any {
        Any {
            type_url: CLUSTER.to_string(),
            value: bytes.to_vec(),
        }
    }

    /// The merge walks agree with a lookup per name, whatever the overlap
    /// between what the client has and what the snapshot holds (names
    /// chosen so that `-` and `.` orders and prefixes are exercised).
    #[test]
    fn merge_walks_agree_with_lookups() {
        let names = ["a", "a-b", "a.b", "ab", "b", "b0", "c", "cc", "d"];
        let snapshot = Snapshot::from_resources(
            1,
            names
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 3 != 1)
                .map(|(i, n)| (CLUSTER, n.to_string(), any(&[i as u8]), Vec::new())),
        );
        let all = snapshot.resources(CLUSTER).unwrap();
        for mask in 0u32..(1 << names.len()) {
            let mut sub = Subscription {
                wildcard: true,
                ..Default::default()
            };
            for (i, n) in names.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    // Every other one the client has is out of date.
                    let version = match all.resources.get(*n) {
                        Some(r) if i % 2 == 0 => r.version.clone(),
                        _ => "old".to_string(),
                    };
                    sub.has.insert(n.to_string(), version);
                }
            }
            let want_updates: Vec<&str> = all
                .resources
                .values()
                .filter(|r| sub.has.get(&r.name) != Some(&r.version))
                .map(|r| r.name.as_str())
                .collect();
            let got: Vec<&str> = updates(&sub, CLUSTER, &snapshot)
                .iter()
                .map(|r| r.name.as_str())
                .collect();
            assert_eq!(got, want_updates, "updates, mask {mask:b}");
            let want_removals: Vec<String> = sub
                .has
                .keys()
                .filter(|n| !all.resources.contains_key(*n))
                .cloned()
                .collect();
            assert_eq!(
                removals(&sub, CLUSTER, &snapshot),
                want_removals,
                "removals, mask {mask:b}"
            );
        }
    }
}
