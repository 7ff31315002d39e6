//! Lowering remembered from one translation to the next, per Mapping group.
//!
//! Lowering a group (its routes, the clusters and secrets they use, and the
//! diagnostics it reports) depends on the group's Mappings and on everything
//! that is not a Mapping: the Hosts, the Module, resolvers, TLSContexts,
//! Secrets, the options. When a translation has the same non-Mapping objects
//! as the one before (the same remembered documents, in the same order; see
//! `model::LoadMemo::env`), a group whose members are the very same shared
//! Mappings, in the same roles and order, lowers as it did: its recorded
//! effects are applied again, in order, instead of lowering it. Routes and
//! clusters are shared (`Arc`), so applying them costs a reference count.
//!
//! Effects are recorded as lowering makes them and applied again with the
//! same code, so both ways give the same IR and diagnostics. A cluster that
//! several groups use gathers the sources of all of them, whichever way each
//! group was lowered. A group's EDS service names are effects too; their
//! endpoints are resolved after every group (see `lower::endpoints`), so no
//! group depends on the Endpoints and EndpointSlices.

use super::endpoints::EdsName;
use super::mappings::Prep;
use crate::diag::Diagnostic;
use crate::inputs::Options;
use crate::ir::{Cluster, Route, TlsSecret};
use crate::model::Mapping;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

pub(crate) use crate::hash::FixedHashMap as Map;

/// What lowering remembers between translations (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct LowerMemo {
    /// The options and non-Mapping objects the groups were lowered with.
    env: Option<(Options, Vec<u32>)>,
    /// By group key.
    groups: Map<Arc<str>, Recorded>,
    /// What grouping needs of each Mapping, by its address (the Mapping is
    /// kept, so the address is not reused while it is here): this
    /// translation's, and the one before's.
    prepared: Map<usize, Prepared>,
    prepared_before: Map<usize, Prepared>,
    reused: usize,
}

/// A Mapping prepared for grouping (`None`: it cannot be used), and what
/// preparing it reported.
#[derive(Debug)]
struct Prepared {
    mapping: Arc<Mapping>,
    prep: Option<Arc<Prep>>,
    diags: Vec<Diagnostic>,
}

impl LowerMemo {
    /// Groups whose lowering the last translation applied again.
    pub(crate) fn reused(&self) -> usize {
        self.reused
    }

    /// Prepares for a translation with `opts` and the non-Mapping objects
    /// `env` (`None`: not known to be the same as anything before). What
    /// was recorded with another environment is forgotten.
    pub(crate) fn begin(&mut self, opts: &Options, env: Option<Vec<u32>>) {
        self.reused = 0;
        let same = match (&self.env, &env) {
            (Some((o, e)), Some(now)) => o == opts && e == now,
            _ => false,
        };
        if same {
            self.prepared_before = std::mem::take(&mut self.prepared);
        } else {
            self.groups.clear();
            self.prepared.clear();
            self.prepared_before.clear();
        }
        self.env = env.map(|e| (opts.clone(), e));
    }

    /// Whether groups may be recorded and applied again.
    pub(crate) fn active(&self) -> bool {
        self.env.is_some()
    }

    /// `m` as prepared for grouping in this translation or the one before,
    /// with what preparing it reported.
    pub(crate) fn prepared(
        &mut self,
        m: &Arc<Mapping>,
    ) -> Option<(Option<Arc<Prep>>, Vec<Diagnostic>)> {
        let key = Arc::as_ptr(m) as usize;
        if let Some(p) = self.prepared_before.remove(&key) {
            self.prepared.insert(key, p);
        }
        let p = self.prepared.get(&key)?;
        Arc::ptr_eq(&p.mapping, m).then(|| (p.prep.clone(), p.diags.clone()))
    }

    /// Records how `m` was prepared.
    pub(crate) fn record_prepared(
        &mut self,
        m: &Arc<Mapping>,
        prep: Option<Arc<Prep>>,
        diags: Vec<Diagnostic>,
    ) {
        if self.active() {
            self.prepared.insert(
                Arc::as_ptr(m) as usize,
                Prepared {
                    mapping: m.clone(),
                    prep,
                    diags,
                },
            );
        }
    }

    /// The recorded lowering of the group `key` with exactly these members,
    /// taken out of the memo.
    pub(crate) fn take(&mut self, key: &str, members: &[Member]) -> Option<Recorded> {
        let r = self.groups.remove(key)?;
        let same = r.members.len() == members.len()
            && r.members
                .iter()
                .zip(members)
                .all(|(a, b)| a.0 == b.0 && Arc::ptr_eq(&a.1, &b.1));
        if same {
            self.reused += 1;
            Some(r)
        } else {
            None
        }
    }

    /// Replaces the recorded groups by those of this translation.
    pub(crate) fn keep(&mut self, groups: Map<Arc<str>, Recorded>) {
        self.groups = groups;
        self.prepared_before = Map::default();
    }
}

/// A member of a group, in its role (primary, shadow, redirect).
pub(crate) type Member = (u8, Arc<Mapping>);

/// The lowering of one group.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub(crate) members: Box<[Member]>,
    /// Reported while lowering it (spans as the Mappings carry them).
    pub(crate) diags: Box<[Diagnostic]>,
    pub(crate) effects: Box<[Effect]>,
}

/// One change lowering made to the IR.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// A route, and the Hosts (indexes) whose virtual hosts take it.
    Route(Arc<Route>, Vec<usize>),
    /// A cluster, with the sources this use adds.
    Cluster(Arc<Cluster>),
    /// A secret, added unless one of that name is there (boxed: rare, and
    /// large next to the others).
    Secret(Box<TlsSecret>),
    /// An EDS service name, added unless it is there.
    Eds(Arc<EdsName>),
    /// A Secret looked up (`namespace`, `name`), found or not.
    SecretRef(Box<(String, String)>),
}

/// Effects being recorded while a group is lowered.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) effects: Vec<Effect>,
}

/// Adds a cluster to the IR's, or its sources to the one of that name.
pub(crate) fn add_cluster(clusters: &mut BTreeMap<String, Arc<Cluster>>, c: Arc<Cluster>) {
    match clusters.entry(c.name.clone()) {
        Entry::Vacant(v) => {
            v.insert(c);
        }
        Entry::Occupied(o) => {
            if !o.get().sources.is_superset(&c.sources) {
                Arc::make_mut(o.into_mut())
                    .sources
                    .extend(c.sources.iter().cloned());
            }
        }
    }
}

/// Adds a secret unless one of that name is there.
pub(crate) fn add_secret(secrets: &mut BTreeMap<String, TlsSecret>, s: TlsSecret) {
    secrets.entry(s.name.clone()).or_insert(s);
}
