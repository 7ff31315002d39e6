//! The contract hosts see: inputs, options and the translation result.
//!
//! [`translate`] takes text; [`translate_objects`] takes objects already
//! parsed (the daemon keeps them between changes). Both return a
//! [`Translation`] holding the IR and the diagnostics; Envoy resources are
//! built from it on demand, in the form the host needs
//! ([`Translation::resources`] for ADS, [`Translation::bootstrap`] for a static
//! Envoy).

use crate::diag::{self, Diagnostic, Severity};
use crate::ir::Ir;
use crate::model::Objects;
use crate::source::{self, Document, SourceMap};
use crate::xds;

/// One text input (a file, stdin, an editor buffer).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Everything that Emissary reads from its environment, made explicit.
#[derive(Debug, Clone)]
pub struct Options {
    /// `AMBASSADOR_ID`: objects whose `ambassador_id` does not list it are ignored.
    pub ambassador_id: String,
    /// `AMBASSADOR_NAMESPACE`: the namespace Emissary runs in.
    pub ambassador_namespace: String,
    /// `AMBASSADOR_SINGLE_NAMESPACE`: only objects in `ambassador_namespace` count.
    pub single_namespace: bool,
    /// Invent a placeholder certificate for every referenced Secret that is
    /// missing (Emissary's unit-test `NullSecretHandler`), instead of reporting it.
    pub placeholder_secrets: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ambassador_id: "default".into(),
            ambassador_namespace: "default".into(),
            single_namespace: false,
            placeholder_secrets: false,
        }
    }
}

/// The input of [`translate`].
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<SourceFile>,
    pub options: Options,
}

/// The output of [`translate`].
#[derive(Debug)]
pub struct Translation {
    pub sources: SourceMap,
    pub ir: Ir,
    /// Sorted: by file position, then object and code.
    pub diagnostics: Vec<Diagnostic>,
}

impl Translation {
    /// True when some diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The Envoy resources, each list sorted by name.
    pub fn resources(&self, mode: xds::Mode) -> xds::Resources {
        xds::build(&self.ir, mode)
    }

    /// A complete static Bootstrap that Envoy runs as is.
    pub fn bootstrap(&self) -> xds::pb::envoy::config::bootstrap::v3::Bootstrap {
        xds::bootstrap(&self.ir, xds::build(&self.ir, xds::Mode::Static))
    }

    /// Diagnostics rendered rustc-style with code frames.
    pub fn render_diagnostics(&self) -> String {
        diag::render(&self.diagnostics, &self.sources)
    }
}

/// Parses every input file into documents, tagged with their file index.
pub fn parse(files: &[SourceFile], diags: &mut Vec<Diagnostic>) -> Vec<(u32, Document)> {
    let limits = source::Limits::default();
    let mut docs = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let (d, mut ds) = source::parse(i as u32, &f.text, &limits);
        diags.append(&mut ds);
        docs.extend(d.into_iter().map(|d| (i as u32, d)));
    }
    docs
}

/// Translates manifests into Envoy configuration. Total: never panics, never fails.
pub fn translate(inputs: &Inputs) -> Translation {
    let mut diagnostics = Vec::new();
    let docs = parse(&inputs.files, &mut diagnostics);
    let objects = crate::model::load(&docs, &inputs.options, &mut diagnostics);
    drop(docs);
    let sources = SourceMap::new(
        inputs
            .files
            .iter()
            .map(|f| (f.name.clone(), f.text.clone()))
            .collect(),
    );
    let mut t = translate_objects(&objects, &inputs.options);
    diagnostics.append(&mut t.diagnostics);
    diag::sort(&mut diagnostics);
    Translation {
        sources,
        ir: t.ir,
        diagnostics,
    }
}

/// Translates typed objects (the daemon's hot path: no parsing).
pub fn translate_objects(objects: &Objects, options: &Options) -> Translation {
    let mut diagnostics = Vec::new();
    let ir = crate::lower::lower(objects, options, &mut diagnostics);
    diag::sort(&mut diagnostics);
    Translation {
        sources: SourceMap::default(),
        ir,
        diagnostics,
    }
}
