//! emissary-core: Emissary-ingress manifests → Envoy v3 configuration, as one
//! pure, total, deterministic function.
//!
//! The pipeline is `source` (text → documents with spans) → `model` (typed
//! resources) → `lower` (semantic IR) → `xds` (Envoy messages). [`translate`]
//! runs all of it; a [`Translator`] runs it again and again, reusing what did
//! not change (the daemon's hot path). Neither ever fails: bad input yields
//! output for the good parts plus [`diag::Diagnostic`]s. [`migrate()`] rewrites
//! getambassador.io v2 manifests as v3alpha1. ARCHITECTURE.md
//! gives the layers and what each module holds.

pub mod api;
pub mod diag;
pub mod explain;
mod hash;
pub mod inputs;
pub mod ir;
pub mod lower;
pub mod migrate;
pub mod model;
pub mod pb;
mod pipeline;
pub mod source;
pub mod status;
pub mod xds;

pub use api::{
    HostOptions, LocatedDiagnostic, MigratedText, TranslatedText, explain_text, migrate_text,
    translate_text, validate_text,
};
pub use inputs::{Inputs, Options, SourceFile};
pub use migrate::{Migration, migrate};
pub use pipeline::{Translation, Translator, translate};
