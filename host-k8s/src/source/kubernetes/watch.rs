//! The watchers: discovery of the served versions, then one watch per kind
//! feeding the [`Queue`](super::Queue).

use futures::StreamExt as _;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use std::time::Duration;

use super::{KINDS, Kind, Scope, Shared, object, relist, upsert};
use crate::source::Change;

/// First wait after a failed discovery, or before a new list after a watch
/// request answered `410 Gone`; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between discovery attempts (or such lists).
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Discovers what the cluster serves (retrying with backoff until the API
/// answers), then watches every kind until aborted.
pub(super) async fn run(client: kube::Client, scope: Scope, shared: Shared) {
    let mut wait = RETRY_FIRST;
    let mut attempt = 1u32;
    let served = loop {
        match discover(&client, &scope).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(attempt, retry_in = ?wait, error = %format!("{e:#}"), "Kubernetes API not reachable");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
                attempt += 1;
            }
        }
    };
    if let Ok(mut q) = shared.lock() {
        q.unsynced = served.len();
        q.served = served
            .iter()
            .map(|(k, ar)| (*k, ar.api_version.clone()))
            .collect();
    }
    tracing::info!(
        kinds = served.len(),
        namespace = scope.namespace.as_deref().unwrap_or("(all)"),
        "watching the Kubernetes API"
    );
    let watches = served.into_iter().map(|(kind, ar)| {
        let api: Api<DynamicObject> = match &scope.namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        watch_kind(kind, ar, api, scope.watcher_config(kind), shared.clone())
    });
    futures::future::join_all(watches).await;
}

/// The kinds to watch and the version each is served at.
async fn discover(
    client: &kube::Client,
    scope: &Scope,
) -> anyhow::Result<Vec<(&'static Kind, ApiResource)>> {
    // The resources each group version serves, asked once per group version.
    let mut served: Vec<(String, Option<Vec<String>>)> = Vec::new();
    let mut out = Vec::new();
    for kind in KINDS.iter().filter(|k| scope.watches(k)) {
        let mut found = None;
        for version in kind.versions {
            let gv = match kind.group {
                "" => version.to_string(),
                g => format!("{g}/{version}"),
            };
            let plurals = match served.iter().find(|(g, _)| *g == gv) {
                Some((_, p)) => p.clone(),
                None => {
                    let p = resources(client, kind.group, &gv).await?;
                    served.push((gv.clone(), p.clone()));
                    p
                }
            };
            if plurals.is_some_and(|p| p.iter().any(|r| r == kind.plural)) {
                found = Some(*version);
                break;
            }
        }
        match found {
            Some(version) => {
                let gvk = GroupVersionKind::gvk(kind.group, version, kind.kind);
                out.push((kind, ApiResource::from_gvk_with_plural(&gvk, kind.plural)));
            }
            None => tracing::warn!(
                kind = kind.kind,
                group = kind.group,
                "the cluster does not serve this kind (is its CRD installed?); not watching it"
            ),
        }
    }
    Ok(out)
}

/// The resources a group version serves; `None` when it is not served.
async fn resources(
    client: &kube::Client,
    group: &str,
    gv: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let r = if group.is_empty() {
        client.list_core_api_resources(gv).await
    } else {
        client.list_api_group_resources(gv).await
    };
    match r {
        Ok(list) => Ok(Some(list.resources.into_iter().map(|r| r.name).collect())),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("discovery of {gv}"))),
    }
}

/// Watches one kind until aborted (see the module docs of the source).
async fn watch_kind(
    kind: &'static Kind,
    ar: ApiResource,
    api: Api<DynamicObject>,
    config: watcher::Config,
    shared: Shared,
) {
    let mut listing: Option<Vec<(crate::source::Key, String)>> = None;
    let mut synced = false;
    let mut observed: Vec<(crate::source::Key, super::Observed)> = Vec::new();
    let mut failing = false;
    // A new watcher (so a new list) after a `410 Gone` answer to a watch
    // request: kube's watcher would retry the expired resourceVersion
    // forever. Repeated ones without an event between wait longer each time.
    let mut gone_wait = RETRY_FIRST;
    let mut stream = Box::pin(watcher::watcher(api.clone(), config.clone()).default_backoff());
    // Only the Secret watcher is ever asked to list again.
    let refetch = match kind.kind {
        "Secret" => shared
            .lock()
            .map(|q| q.refetch_secrets.clone())
            .unwrap_or_default(),
        _ => Default::default(),
    };
    loop {
        let event = tokio::select! {
            e = stream.next() => match e {
                Some(e) => e,
                None => break,
            },
            _ = refetch.notified() => {
                // A fresh watcher: one new list (its `InitDone` replaces
                // the kind), then a watch from it.
                stream = Box::pin(watcher::watcher(api.clone(), config.clone()).default_backoff());
                continue;
            }
        };
        let mut init_done = false;
        let changes: Vec<Change> = match event {
            Ok(Event::Init) => {
                listing = Some(Vec::new());
                observed.clear();
                continue;
            }
            Ok(Event::InitApply(o)) => {
                let key = object::key_of(kind, &o);
                if kind.has_status() {
                    observed.push((key.clone(), object::observed(&o)));
                }
                listing
                    .get_or_insert_with(Vec::new)
                    .push((key, object::text(kind, &ar.api_version, o)));
                continue;
            }
            Ok(Event::InitDone) => {
                init_done = true;
                relist(kind, listing.take().unwrap_or_default())
            }
            Ok(Event::Apply(o)) => {
                gone_wait = RETRY_FIRST;
                let key = object::key_of(kind, &o);
                if kind.has_status()
                    && let Ok(mut q) = shared.lock()
                {
                    q.observed.insert(key.clone(), object::observed(&o));
                }
                vec![upsert(key, object::text(kind, &ar.api_version, o))]
            }
            Ok(Event::Delete(o)) => {
                gone_wait = RETRY_FIRST;
                let key = object::key_of(kind, &o);
                if let Ok(mut q) = shared.lock() {
                    q.observed.remove(&key);
                }
                vec![Change::Delete { key }]
            }
            Err(e) => {
                failing = true;
                tracing::warn!(kind = kind.kind, error = %e, "watch failed; retrying with backoff, the last synced objects stay in use");
                if matches!(&e, watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 410)
                {
                    tokio::time::sleep(gone_wait).await;
                    gone_wait = (gone_wait * 2).min(RETRY_MAX);
                    stream =
                        Box::pin(watcher::watcher(api.clone(), config.clone()).default_backoff());
                }
                continue;
            }
        };
        if failing {
            failing = false;
            tracing::info!(kind = kind.kind, "watch resumed");
        }
        let Ok(mut q) = shared.lock() else { return };
        if init_done && kind.has_status() {
            let prefix = format!("{}/", kind.kind);
            q.observed.retain(|k, _| !k.0.starts_with(&prefix));
            q.observed.extend(observed.drain(..));
        }
        q.push(changes);
        if init_done && !synced {
            synced = true;
            q.synced_one();
        }
    }
}
