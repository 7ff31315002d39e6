//! emissary-core: Emissary-ingress manifests → Envoy v3 configuration, as one
//! pure, total, deterministic function.
//!
//! The pipeline is `source` (text → documents with spans) → `model` (typed
//! resources) → `lower` (semantic IR) → `xds` (Envoy messages). [`translate`]
//! runs all of it; [`translate_objects`] starts from already-typed objects (the
//! daemon's hot path). Neither ever fails: bad input yields output for the
//! good parts plus [`diag::Diagnostic`]s.

pub mod api;
pub mod diag;
pub mod explain;
pub mod ir;
pub mod lower;
pub mod model;
pub mod source;
pub mod xds;

pub use api::{
    HostOptions, Inputs, LocatedDiagnostic, Options, SourceFile, TranslatedText, Translation,
    Translator, explain_text, translate, translate_text, validate_text,
};

/// A hash map with a fixed hasher (foldhash with its fixed seed): nothing
/// about it is random. For lookups by long keys (document texts, group
/// keys) in maps that are never iterated where the order could reach the
/// output.
#[allow(clippy::disallowed_types)]
pub(crate) type FixedHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
