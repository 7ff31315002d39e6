//! Versioned snapshots of the Envoy configuration the ADS server hands out.
//!
//! A [`Snapshot`] is one translation's resources, encoded by core
//! ([`emissary_core::xds::Encoded`]: per xDS type URL, each resource packed
//! as an `Any` with a per-resource version, a hash of its bytes, and the
//! source objects it came from), with the version number this daemon gives
//! it. It is built once per good translation and shared read-only (`Arc`)
//! by every ADS stream. Streams compare per-resource versions to decide what
//! changed, so a snapshot whose content is unchanged for a type causes no
//! push of that type. [`Threads`] lends core's encoder (one-shot, or the
//! pipeline's incremental one) this process's threads.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use emissary_core::Translation;
use emissary_core::ir::Ir;
use emissary_core::pb::Any;
use emissary_core::pb::envoy::extensions::transport_sockets::tls::v3 as tls;
use emissary_core::xds::{self, Encoded, Parallel};
use serde_json::{Value, json};

pub use emissary_core::xds::{
    CLUSTER, ENDPOINT, LISTENER, ROUTE, Resource, SECRET, TYPE_ORDER, TypeResources, TypeStats,
    content_digest, is_wildcard_type, type_short_name,
};

/// Name → per-resource version of some resources of one type.
pub type Versions = BTreeMap<String, String>;

/// One complete, immutable configuration with a version.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every new snapshot; sent as `version_info`.
    pub version: u64,
    encoded: Arc<Encoded>,
    /// The IR the resources were encoded from, when kept (for the live page,
    /// whose route table names the Mapping of every route).
    ir: Option<Arc<Ir>>,
    /// Per type (indexed like [`TYPE_ORDER`]), every resource's version by
    /// name: built once, on first use, and shared by every stream that
    /// subscribes to the whole type, instead of each stream building its own.
    versions: Arc<[OnceLock<Arc<Versions>>; TYPE_ORDER.len()]>,
}

/// Version and resources: the IR comes with the resources it was encoded
/// from, so it is not compared.
impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.version == other.version && self.encoded == other.encoded
    }
}

impl Snapshot {
    /// A snapshot of encoded resources.
    pub fn new(version: u64, encoded: Arc<Encoded>) -> Snapshot {
        Snapshot {
            version,
            encoded,
            ir: None,
            versions: Arc::default(),
        }
    }

    /// The same snapshot, carrying the IR its resources were encoded from.
    pub fn with_ir(mut self, ir: Arc<Ir>) -> Snapshot {
        self.ir = Some(ir);
        self
    }

    /// The IR its resources were encoded from, when kept.
    pub fn ir(&self) -> Option<&Arc<Ir>> {
        self.ir.as_ref()
    }

    /// Builds the snapshot of a translation's ADS resources
    /// ([`xds::Mode::Ads`]: routes by RDS, secrets by SDS), encoded on this
    /// process's threads.
    pub fn from_translation(version: u64, t: &Translation) -> Snapshot {
        Snapshot::new(version, Arc::new(Encoded::new(&t.ir, &Threads)))
    }

    /// A snapshot from resources already packed, per type URL (types outside
    /// [`TYPE_ORDER`] are ignored). For tests and tools.
    pub fn from_resources<'a>(
        version: u64,
        resources: impl IntoIterator<Item = (&'a str, String, Any, Vec<String>)>,
    ) -> Snapshot {
        Snapshot::new(version, Arc::new(Encoded::from_resources(resources)))
    }

    /// The version as sent in `version_info`.
    pub fn version_info(&self) -> String {
        self.version.to_string()
    }

    /// The resources of a type (`None` for a type outside [`TYPE_ORDER`]).
    pub fn resources(&self, type_url: &str) -> Option<&TypeResources> {
        self.encoded.resources(type_url)
    }

    /// True when both hold the same resources (every type's digest agrees),
    /// whatever their versions.
    pub fn same_content(&self, other: &Snapshot) -> bool {
        self.encoded.same_content(&other.encoded)
    }

    /// Every resource of a type, name → version (empty for a type outside
    /// [`TYPE_ORDER`]); computed once per snapshot and shared.
    pub fn versions(&self, type_url: &str) -> Arc<Versions> {
        let (Some(i), Some(all)) = (
            TYPE_ORDER.iter().position(|t| *t == type_url),
            self.resources(type_url),
        ) else {
            return Arc::default();
        };
        self.versions[i]
            .get_or_init(|| {
                Arc::new(
                    all.resources
                        .iter()
                        .map(|(n, r)| (n.clone(), r.version.clone()))
                        .collect(),
                )
            })
            .clone()
    }

    /// One resource by type URL and name.
    pub fn get(&self, type_url: &str, name: &str) -> Option<&Resource> {
        self.encoded.get(type_url, name)
    }

    /// Count and bytes per type, in [`TYPE_ORDER`].
    pub fn stats(&self) -> Vec<TypeStats> {
        self.encoded.stats()
    }

    /// The configuration as Envoy-style JSON (canonical proto3 JSON, `Any`
    /// expanded with `@type`), for a debug endpoint:
    /// `{"version": "7", "listeners": [...], "routes": [...], "clusters":
    /// [...], "endpoints": [...], "secrets": [...]}`, each list sorted by
    /// name. Private keys of secrets are replaced by `"[redacted]"`, as in
    /// Envoy's own config dump.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("version".into(), Value::String(self.version_info()));
        for (t, r) in self.encoded.types() {
            let items: Vec<Value> = r
                .resources
                .values()
                .map(|res| {
                    let any = if t == SECRET {
                        redact(&res.any)
                    } else {
                        res.any.clone()
                    };
                    emissary_core::pb::json::to_value(&any)
                        .unwrap_or_else(|e| json!({"name": res.name, "error": e.to_string()}))
                })
                .collect();
            out.insert(type_short_name(t).into(), Value::Array(items));
        }
        Value::Object(out)
    }
}

/// A secret with its private key (and any key password) redacted.
fn redact(any: &Any) -> Any {
    use emissary_core::pb::envoy::config::core::v3::{DataSource, data_source::Specifier};
    let Some(mut s) = any.unpack::<tls::Secret>() else {
        return any.clone();
    };
    let redacted = || DataSource {
        specifier: Some(Specifier::InlineString("[redacted]".into())),
        ..Default::default()
    };
    if let Some(tls::secret::Type::TlsCertificate(c)) = &mut s.r#type {
        if c.private_key.is_some() {
            c.private_key = Some(redacted());
        }
        if c.password.is_some() {
            c.password = Some(redacted());
        }
    }
    xds::any(&s)
}

/// Spreads the encoding of a snapshot over up to four threads
/// (core starts none itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct Threads;

impl Parallel for Threads {
    fn run(&self, jobs: usize, job: &(dyn Fn(usize) + Sync)) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_ENCODERS)
            .min(jobs / MIN_JOBS_PER_ENCODER)
            .max(1);
        if workers == 1 {
            (0..jobs).for_each(job);
            return;
        }
        let next = AtomicUsize::new(0);
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    return;
                }
                job(i);
            }
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
            work();
            for h in handles {
                // A worker only panics if encoding does, which this thread
                // would have done too: re-raise it.
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
    }
}

/// Threads that encode a snapshot at most: the daemon shares its cores
/// with Envoy.
const MAX_ENCODERS: usize = 4;
/// Below this many resources per thread, one thread is faster.
const MIN_JOBS_PER_ENCODER: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    /// A snapshot encoded on threads equals one encoded on one.
    #[test]
    fn threads_give_the_one_thread_result() {
        let mut text = String::from(
            "---\napiVersion: getambassador.io/v3alpha1\nkind: Listener\n\
             metadata: {name: l, namespace: default}\n\
             spec: {port: 8080, protocol: HTTP, securityModel: XFP, hostBinding: {namespace: {from: ALL}}}\n",
        );
        for k in 0..(MIN_JOBS_PER_ENCODER * 3) {
            let _ = write!(
                text,
                "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n\
                 metadata: {{name: m-{k}, namespace: default}}\n\
                 spec: {{hostname: \"*\", prefix: /s-{k}/, service: \"svc-{k}:80\"}}\n"
            );
        }
        let t = emissary_core::translate(&emissary_core::Inputs {
            files: vec![emissary_core::SourceFile {
                name: "m.yaml".into(),
                text,
            }],
            options: Default::default(),
        });
        let threads = Snapshot::from_translation(1, &t);
        let one = Snapshot::new(1, Arc::new(Encoded::new(&t.ir, &xds::Serial)));
        assert!(threads.resources(CLUSTER).unwrap().resources.len() > MIN_JOBS_PER_ENCODER * 2);
        assert_eq!(threads, one);
    }

    #[test]
    fn secrets_are_redacted_in_json() {
        let t = emissary_core::translate(&emissary_core::Inputs {
            files: vec![emissary_core::SourceFile {
                name: "h.yaml".into(),
                text: "apiVersion: getambassador.io/v3alpha1\nkind: Host\n\
                       metadata: {name: h, namespace: default}\n\
                       spec: {hostname: h.example.com, tlsSecret: {name: missing}}\n"
                    .into(),
            }],
            options: emissary_core::Options {
                placeholder_secrets: true,
                ..Default::default()
            },
        });
        let s = Snapshot::from_translation(1, &t);
        assert!(!s.resources(SECRET).unwrap().resources.is_empty());
        let text = s.to_json().to_string();
        assert!(text.contains("[redacted]"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}
