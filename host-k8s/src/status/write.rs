//! The status writer: what core computed about each object
//! ([`emissary_core::status`]) written back through the status
//! subresource, by server-side apply with the field manager
//! [`FIELD_MANAGER`], only when it differs from what the object shows.
//!
//! What each kind gets ([`body`]):
//! - every getambassador.io kind: a standard `conditions` list,
//!   `Accepted` (no error names it; otherwise the first error, with its
//!   code and field path) and `Ready` (accepted and something of it is in
//!   the served configuration), with `observedGeneration`;
//! - a Host, also Emissary's `state` (`Ready`/`Error`), `phaseCompleted`,
//!   `phasePending`, `tlsCertificateSource` and, in `Error`, `errorReason`;
//! - a Mapping, also Emissary's `state` (`Running`/`Inactive`) and `reason`;
//! - an Ingress that is served: `status.loadBalancer` copied from the
//!   Service that fronts Envoy (the Ingress status schema has nothing else).
//!
//! Only the replica that holds the Lease writes ([`super::lease`]). A
//! condition keeps its `lastTransitionTime` while its status stays the same,
//! so an unchanged status compares equal and is not written again. A kind
//! whose CRD has no status subresource (a 404 on `/status` for an object
//! that exists) is written no more, with one warning. Failed writes are
//! retried after [`RETRY`].

use emissary_core::status::{ObjectStatus, Problem, TlsCertificateSource};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::ads::AdsStats;
use crate::pipeline::Statuses;
use crate::source::Key;
use crate::source::kubernetes::{self, Kind, Observed, ServedKinds, object};

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "emissary";
/// How long after a failed write the writer tries again.
pub const RETRY: Duration = Duration::from_secs(10);
/// Writes in flight at once.
const CONCURRENCY: usize = 8;

/// The desired status of one object: our fields only. `None` when there is
/// nothing to write (an Ingress that is not served, or with no load
/// balancer known).
pub fn body(
    kind: &Kind,
    st: &ObjectStatus,
    observed: Option<&Observed>,
    facts: &Facts,
    now: &str,
) -> Option<Value> {
    let load_balancer = facts.load_balancer.as_ref();
    if kind.kind == "Ingress" {
        return (st.served && st.accepted())
            .then(|| load_balancer.map(|lb| json!({ "loadBalancer": lb })))
            .flatten();
    }
    let generation = observed.and_then(|o| o.generation);
    let before = observed.and_then(|o| o.status.as_ref());
    let accepted = match st.errors.first() {
        None => condition("Accepted", true, "Accepted", "translated without errors"),
        Some(p) => condition("Accepted", false, "Invalid", &problem(p)),
    };
    let key = format!(
        "{}/{}/{}",
        st.object.kind, st.object.namespace, st.object.name
    );
    let rejected = facts.rejected.get(&key);
    let ready = match (st.accepted(), st.served) {
        (true, true) if rejected.is_some() => condition(
            "Ready",
            false,
            "Rejected",
            &format!(
                "Envoy rejected the configuration built from it: {}",
                rejected.map_or("", |m| m.as_str())
            ),
        ),
        (true, true) => condition(
            "Ready",
            true,
            "Served",
            "in the configuration served to Envoy",
        ),
        (true, false) => condition(
            "Ready",
            false,
            "NotServed",
            "nothing of it is in the configuration served to Envoy (for example, no Host or Listener takes it)",
        ),
        (false, _) => condition("Ready", false, "Invalid", "not accepted"),
    };
    let conditions: Vec<Value> = [accepted, ready]
        .into_iter()
        .map(|mut c| {
            if let Some(g) = generation {
                c["observedGeneration"] = json!(g);
            }
            c["lastTransitionTime"] = json!(transition_time(before, &c, now));
            c
        })
        .collect();
    let mut out = json!({ "conditions": conditions });
    if let Some(h) = &st.host {
        out["state"] = json!(h.state);
        out["phaseCompleted"] = json!("NA");
        out["phasePending"] = json!("NA");
        out["tlsCertificateSource"] = json!(match h.tls_certificate_source {
            TlsCertificateSource::None => "None",
            TlsCertificateSource::Other => "Other",
        });
        if let Some(r) = &h.error_reason {
            out["errorReason"] = json!(r);
        }
    }
    if kind.kind == "Mapping" {
        if st.accepted() && st.served && rejected.is_none() {
            out["state"] = json!("Running");
        } else {
            out["state"] = json!("Inactive");
            out["reason"] = json!(match (st.errors.first(), rejected) {
                (Some(p), _) => problem(p),
                (None, Some(m)) => format!("Envoy rejected the configuration built from it: {m}"),
                (None, None) => "no Host or Listener takes it".to_string(),
            });
        }
    }
    Some(out)
}

fn condition(kind: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({
        "type": kind,
        "status": if status { "True" } else { "False" },
        "reason": reason,
        "message": message,
    })
}

fn problem(p: &Problem) -> String {
    if p.path.is_empty() {
        format!("{}: {}", p.code, p.message)
    } else {
        format!("{}: {} (at {})", p.code, p.message, p.path)
    }
}

/// The condition's `lastTransitionTime`: the one it already has when its
/// status is the same, else `now`.
fn transition_time(before: Option<&Value>, c: &Value, now: &str) -> String {
    before
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|o| o.get("type") == c.get("type")))
        .filter(|o| o.get("status") == c.get("status"))
        .and_then(|o| o.get("lastTransitionTime"))
        .and_then(Value::as_str)
        .unwrap_or(now)
        .to_string()
}

/// What a status depends on besides the translation.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The load balancer of the Service that fronts Envoy, for Ingresses.
    pub load_balancer: Option<Value>,
    /// What connected Envoys reject: Envoy's message by source object
    /// (`Kind/namespace/name`), from [`AdsStats::rejections`].
    pub rejected: BTreeMap<String, String>,
}

/// Whether the object's status lacks or differs in some field of `desired`.
pub fn differs(desired: &Value, observed: Option<&Value>) -> bool {
    let Some(Value::Object(d)) = Some(desired) else {
        return true;
    };
    let o = observed.and_then(Value::as_object);
    d.iter().any(|(k, v)| o.and_then(|o| o.get(k)) != Some(v))
}

/// Where the writer finds the Service that fronts Envoy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontService {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// Writes statuses while this replica leads.
pub struct Writer {
    client: kube::Client,
    kinds: ServedKinds,
    front: Option<FrontService>,
    /// Where NACKs are known, when Envoys are served.
    ads: Option<Arc<AdsStats>>,
    /// What this writer wrote last, by object: not written again.
    written: HashMap<Key, Value>,
    /// Kinds without a status subresource.
    no_status: HashSet<&'static str>,
}

impl Writer {
    /// A writer through `client` for the kinds `kinds` watches; Ingresses
    /// get the load balancer of `front`.
    pub fn new(
        client: kube::Client,
        kinds: ServedKinds,
        front: Option<FrontService>,
        ads: Option<Arc<AdsStats>>,
    ) -> Writer {
        Writer {
            client,
            kinds,
            front,
            ads,
            written: HashMap::new(),
            no_status: HashSet::new(),
        }
    }

    /// Writes each new set of statuses while `leader` is true, until `stop`.
    pub async fn run(
        mut self,
        mut statuses: watch::Receiver<Option<Arc<Statuses>>>,
        mut leader: watch::Receiver<bool>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut retry = false;
        let mut rejections = match &self.ads {
            Some(a) => a.rejections_changed(),
            None => tokio::sync::watch::channel(0).1,
        };
        loop {
            tokio::select! {
                r = statuses.changed() => if r.is_err() { return },
                r = leader.changed() => if r.is_err() { return },
                Ok(()) = rejections.changed() => {}
                _ = tokio::time::sleep(RETRY), if retry => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if !*leader.borrow_and_update() {
                // Whoever leads next writes; what we wrote may be stale then.
                self.written.clear();
                retry = false;
                continue;
            }
            let Some(s) = statuses.borrow_and_update().clone() else {
                continue;
            };
            let failed = self.round(&s).await;
            retry = failed > 0;
        }
    }

    /// Writes every status that differs; returns how many writes failed.
    pub async fn round(&mut self, s: &Statuses) -> usize {
        let facts = Facts {
            load_balancer: match &self.front {
                Some(f) if s.objects.iter().any(|o| o.object.kind == "Ingress") => {
                    self.load_balancer(f).await
                }
                _ => None,
            },
            rejected: self
                .ads
                .as_ref()
                .map(|a| a.rejections())
                .unwrap_or_default(),
        };
        let now = now();
        let mut todo: Vec<(
            &'static Kind,
            Key,
            emissary_core::diag::ObjectRef,
            String,
            Value,
        )> = Vec::new();
        for st in &s.objects {
            let Some(kind) = kubernetes::kind(&st.object.kind) else {
                continue;
            };
            if self.no_status.contains(kind.kind) {
                continue;
            }
            let ns = (!st.object.namespace.is_empty()).then_some(st.object.namespace.as_str());
            let key = object::key(kind, ns, &st.object.name);
            let observed = self.kinds.observed(&key);
            // What this writer wrote last is newer than what the watch has
            // shown back yet: its transition times are the ones to keep.
            let basis = match (self.written.get(&key), &observed) {
                (Some(w), o) => Some(Observed {
                    generation: o.as_ref().and_then(|o| o.generation),
                    status: Some(w.clone()),
                }),
                (None, o) => o.clone(),
            };
            let Some(desired) = body(kind, st, basis.as_ref(), &facts, &now) else {
                continue;
            };
            if self.written.get(&key) == Some(&desired)
                || !differs(&desired, observed.as_ref().and_then(|o| o.status.as_ref()))
            {
                continue;
            }
            let Some(api_version) = self.kinds.api_version(kind.kind) else {
                continue;
            };
            todo.push((kind, key, st.object.clone(), api_version, desired));
        }
        let mut results = Vec::with_capacity(todo.len());
        let mut running = tokio::task::JoinSet::new();
        for (kind, key, o, api_version, desired) in todo {
            if running.len() >= CONCURRENCY
                && let Some(Ok(r)) = running.join_next().await
            {
                results.push(r);
            }
            let client = self.client.clone();
            running.spawn(async move {
                let r = patch(client, kind, &api_version, &o, &desired).await;
                (kind, key, desired, r)
            });
        }
        while let Some(r) = running.join_next().await {
            if let Ok(r) = r {
                results.push(r);
            }
        }
        let mut failed = 0;
        for (kind, key, desired, r) in results {
            match r {
                Ok(()) => {
                    self.written.insert(key, desired);
                }
                // Gone since: nothing to write.
                Err(kube::Error::Api(e))
                    if e.code == 404 && self.kinds.observed(&key).is_none() => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    if self.no_status.insert(kind.kind) {
                        tracing::warn!(
                            kind = kind.kind,
                            "this kind has no status subresource in the cluster; its status is not written"
                        );
                    }
                }
                Err(e) => {
                    failed += 1;
                    if failed == 1 {
                        tracing::warn!(object = %key.0, error = %e, retry_in = ?RETRY, "status write failed");
                    }
                }
            }
        }
        if failed > 1 {
            tracing::warn!(failed, "status writes failed; retrying");
        }
        failed
    }

    /// The load balancer status of the Service that fronts Envoy.
    async fn load_balancer(&self, f: &FrontService) -> Option<Value> {
        let api: Api<k8s_openapi::api::core::v1::Service> =
            Api::namespaced(self.client.clone(), &f.namespace);
        match api.get_opt(&f.name).await {
            Ok(Some(s)) => s
                .status
                .and_then(|s| s.load_balancer)
                .and_then(|lb| serde_json::to_value(lb).ok()),
            Ok(None) => {
                tracing::debug!(service = %format!("{}/{}", f.namespace, f.name), "no Service fronts Envoy; Ingress status not written");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the Service that fronts Envoy");
                None
            }
        }
    }
}

/// One server-side apply of `desired` to the object's status.
async fn patch(
    client: kube::Client,
    kind: &Kind,
    api_version: &str,
    o: &emissary_core::diag::ObjectRef,
    desired: &Value,
) -> Result<(), kube::Error> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind.kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, kind.plural);
    let api: Api<DynamicObject> = if kind.namespaced {
        Api::namespaced_with(client, &o.namespace, &ar)
    } else {
        Api::all_with(client, &ar)
    };
    let mut metadata = json!({ "name": o.name });
    if kind.namespaced {
        metadata["namespace"] = json!(o.namespace);
    }
    let body = json!({
        "apiVersion": api_version,
        "kind": kind.kind,
        "metadata": metadata,
        "status": desired,
    });
    api.patch_status(
        &o.name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(|_| ())
}

/// Now, as Kubernetes writes times (RFC 3339, seconds).
fn now() -> String {
    let t = k8s_openapi::jiff::Timestamp::now();
    format!("{}", t.round(k8s_openapi::jiff::Unit::Second).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::mock::{MockApi, status};
    use emissary_core::diag::ObjectRef;
    use emissary_core::status::HostStatus;
    use http::Method;

    fn st(kind: &str, errors: Vec<Problem>, served: bool) -> ObjectStatus {
        ObjectStatus {
            object: ObjectRef {
                kind: kind.into(),
                namespace: "ns".into(),
                name: "n".into(),
            },
            errors,
            warnings: vec![],
            served,
            host: (kind == "Host").then_some(HostStatus {
                state: "Ready",
                error_reason: None,
                tls_certificate_source: TlsCertificateSource::Other,
            }),
        }
    }

    #[test]
    fn a_served_host_is_ready_with_emissarys_fields_and_conditions() {
        let k = kubernetes::kind("Host").unwrap();
        let b = body(k, &st("Host", vec![], true), None, &Facts::default(), "T0").unwrap();
        assert_eq!(b["state"], "Ready");
        assert_eq!(b["phaseCompleted"], "NA");
        assert_eq!(b["phasePending"], "NA");
        assert_eq!(b["tlsCertificateSource"], "Other");
        assert!(b.get("errorReason").is_none());
        assert_eq!(b["conditions"][0]["type"], "Accepted");
        assert_eq!(b["conditions"][0]["status"], "True");
        assert_eq!(b["conditions"][1]["type"], "Ready");
        assert_eq!(b["conditions"][1]["lastTransitionTime"], "T0");
    }

    #[test]
    fn a_host_in_error_says_why() {
        let k = kubernetes::kind("Host").unwrap();
        let mut s = st("Host", vec![], true);
        s.errors.push(Problem {
            code: "host-tls-secret-missing",
            message: "no Secret `cert`".into(),
            path: "spec.tlsSecret".into(),
            line: None,
        });
        s.host = Some(HostStatus {
            state: "Error",
            error_reason: Some("no Secret `cert`".into()),
            tls_certificate_source: TlsCertificateSource::Other,
        });
        let b = body(k, &s, None, &Facts::default(), "T").unwrap();
        assert_eq!(b["state"], "Error");
        assert_eq!(b["errorReason"], "no Secret `cert`");
        assert_eq!(b["conditions"][0]["reason"], "Invalid");
        assert_eq!(b["conditions"][1]["status"], "False");
    }

    #[test]
    fn an_invalid_mapping_is_inactive_with_the_error() {
        let k = kubernetes::kind("Mapping").unwrap();
        let p = Problem {
            code: "mapping-bad-prefix",
            message: "bad".into(),
            path: "spec.prefix".into(),
            line: Some(3),
        };
        let observed = Observed {
            generation: Some(4),
            status: None,
        };
        let b = body(
            k,
            &st("Mapping", vec![p], false),
            Some(&observed),
            &Facts::default(),
            "T",
        )
        .unwrap();
        assert_eq!(b["state"], "Inactive");
        assert_eq!(b["reason"], "mapping-bad-prefix: bad (at spec.prefix)");
        assert_eq!(b["conditions"][0]["status"], "False");
        assert_eq!(b["conditions"][0]["reason"], "Invalid");
        assert_eq!(b["conditions"][0]["observedGeneration"], 4);
    }

    #[test]
    fn an_unchanged_status_is_not_written_again() {
        let k = kubernetes::kind("Mapping").unwrap();
        let first = body(
            k,
            &st("Mapping", vec![], true),
            None,
            &Facts::default(),
            "T1",
        )
        .unwrap();
        assert!(differs(&first, None));
        let observed = Observed {
            generation: None,
            status: Some(first.clone()),
        };
        // Later, the same facts: the same transition times, nothing to write.
        let again = body(
            k,
            &st("Mapping", vec![], true),
            Some(&observed),
            &Facts::default(),
            "T2",
        )
        .unwrap();
        assert_eq!(again, first);
        assert!(!differs(&again, observed.status.as_ref()));
        // Fields someone else owns do not count.
        let mut theirs = first.clone();
        theirs["other"] = json!(1);
        assert!(!differs(&again, Some(&theirs)));
        // A change of state does, with a new transition time.
        let now = body(
            k,
            &st("Mapping", vec![], false),
            Some(&observed),
            &Facts::default(),
            "T3",
        )
        .unwrap();
        assert!(differs(&now, observed.status.as_ref()));
        assert_eq!(now["conditions"][1]["lastTransitionTime"], "T3");
        assert_eq!(now["conditions"][0]["lastTransitionTime"], "T1");
    }

    #[test]
    fn what_envoy_rejects_is_not_ready_on_the_object_it_came_from() {
        let k = kubernetes::kind("Mapping").unwrap();
        let facts = Facts {
            rejected: [("Mapping/ns/n".to_string(), "bad regex".to_string())].into(),
            ..Default::default()
        };
        let b = body(k, &st("Mapping", vec![], true), None, &facts, "T").unwrap();
        assert_eq!(b["conditions"][0]["status"], "True", "still accepted");
        assert_eq!(b["conditions"][1]["status"], "False");
        assert_eq!(b["conditions"][1]["reason"], "Rejected");
        assert!(
            b["conditions"][1]["message"]
                .as_str()
                .unwrap()
                .contains("bad regex")
        );
        assert_eq!(b["state"], "Inactive");
    }

    #[test]
    fn an_ingress_gets_the_load_balancer_only_when_served() {
        let k = kubernetes::kind("Ingress").unwrap();
        let lb = json!({"ingress": [{"ip": "10.0.0.1"}]});
        let with_lb = Facts {
            load_balancer: Some(lb.clone()),
            ..Default::default()
        };
        let b = body(k, &st("Ingress", vec![], true), None, &with_lb, "T").unwrap();
        assert_eq!(b, json!({"loadBalancer": lb}));
        assert!(body(k, &st("Ingress", vec![], false), None, &with_lb, "T").is_none());
        assert!(
            body(
                k,
                &st("Ingress", vec![], true),
                None,
                &Facts::default(),
                "T"
            )
            .is_none()
        );
    }

    /// A served, accepted Host `name` in `ns`.
    fn host(name: &str) -> ObjectStatus {
        let mut s = st("Host", vec![], true);
        s.object.name = name.into();
        s
    }

    fn statuses(objects: Vec<ObjectStatus>) -> Statuses {
        Statuses {
            version: 1,
            objects,
        }
    }

    const HOST_H: &str = "/apis/getambassador.io/v3alpha1/namespaces/ns/hosts/h/status";

    /// A writer for Hosts (served at `v3alpha1`) seen with `observed`,
    /// against a mock API server, with time paused.
    fn writer(observed: Vec<(Key, Observed)>) -> (Writer, MockApi) {
        tokio::time::pause();
        let (client, api) = MockApi::new();
        let kinds = ServedKinds::seeded(&[("Host", "getambassador.io/v3alpha1")], observed);
        (Writer::new(client, kinds, None, None), api)
    }

    fn key(name: &str) -> Key {
        Key(format!("Host/ns/{name}"))
    }

    /// A round that must send no request at all.
    async fn round_sends_nothing(w: &mut Writer, s: &Statuses) {
        let r = tokio::time::timeout(Duration::from_secs(60), w.round(s)).await;
        assert_eq!(r.ok(), Some(0), "a round without writes");
    }

    #[tokio::test]
    async fn a_round_applies_the_status_and_the_same_statuses_again_send_nothing() {
        // Seen with conditions since T0 but no state: written, with T0 kept
        // (and so the same body in every round).
        let k = kubernetes::kind("Host").unwrap();
        let mut seen = body(k, &host("h"), None, &Facts::default(), "T0").unwrap();
        seen.as_object_mut().unwrap().remove("state");
        let observed = Observed {
            generation: Some(2),
            status: Some(seen),
        };
        let (mut w, mut api) = writer(vec![(key("h"), observed)]);
        let s = statuses(vec![host("h")]);
        let (failed, ()) = tokio::join!(w.round(&s), async {
            let p = api.take(Method::PATCH, HOST_H, |_| true).await;
            assert_eq!(
                p.path,
                format!("{HOST_H}?&force=true&fieldManager=emissary")
            );
            assert_eq!(
                p.content_type.as_deref(),
                Some("application/apply-patch+yaml")
            );
            let b = &p.body;
            assert_eq!(b["apiVersion"], "getambassador.io/v3alpha1");
            assert_eq!(b["kind"], "Host");
            assert_eq!(b["metadata"]["name"], "h");
            assert_eq!(b["metadata"]["namespace"], "ns");
            assert_eq!(b["status"]["state"], "Ready");
            assert_eq!(b["status"]["conditions"][1]["lastTransitionTime"], "T0");
            assert_eq!(b["status"]["conditions"][1]["observedGeneration"], 2);
            let mut stored = b.clone();
            stored["metadata"]["resourceVersion"] = json!("8");
            p.answer(200, &stored);
        });
        assert_eq!(failed, 0);
        round_sends_nothing(&mut w, &s).await;
        drop(w);
        api.done().await;
    }

    #[tokio::test]
    async fn a_status_that_already_matches_is_not_written() {
        let k = kubernetes::kind("Host").unwrap();
        let seen = body(k, &host("h"), None, &Facts::default(), "T0").unwrap();
        let observed = Observed {
            generation: None,
            status: Some(seen),
        };
        let (mut w, api) = writer(vec![(key("h"), observed)]);
        round_sends_nothing(&mut w, &statuses(vec![host("h")])).await;
        drop(w);
        api.done().await;
    }

    #[tokio::test]
    async fn a_kind_without_a_status_subresource_is_written_no_more() {
        let exists = Observed {
            generation: Some(1),
            status: None,
        };
        let (mut w, mut api) = writer(vec![(key("h"), exists.clone()), (key("h2"), exists)]);
        let first = statuses(vec![host("h")]);
        let (failed, ()) = tokio::join!(w.round(&first), async {
            api.take(Method::PATCH, HOST_H, |_| true).await.answer(
                404,
                &status(404, "NotFound", "hosts.getambassador.io \"h\" not found"),
            );
        });
        assert_eq!(failed, 0, "not a failure to retry");
        round_sends_nothing(&mut w, &statuses(vec![host("h"), host("h2")])).await;
        drop(w);
        api.done().await;
    }

    #[tokio::test]
    async fn a_failed_write_is_counted_and_written_again_next_round() {
        let (mut w, mut api) = writer(vec![]);
        let s = statuses(vec![host("h")]);
        let (failed, ()) = tokio::join!(w.round(&s), async {
            api.take(Method::PATCH, HOST_H, |_| true)
                .await
                .answer(500, &status(500, "InternalError", "etcd is down"));
        });
        assert_eq!(failed, 1);
        let (failed, ()) = tokio::join!(w.round(&s), async {
            let p = api.take(Method::PATCH, HOST_H, |_| true).await;
            let stored = p.body.clone();
            p.answer(200, &stored);
        });
        assert_eq!(failed, 0);
    }
}
