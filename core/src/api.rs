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
    // The document trees are the biggest thing in memory; free them before lowering.
    drop(docs);
    let mut t = translate_objects(&objects, &inputs.options);
    drop(objects);
    diagnostics.append(&mut t.diagnostics);
    if diagnostics
        .iter()
        .any(|d| d.span.is_none() && d.object.is_some())
    {
        // Rare (errors found while lowering): parse again to find their fields.
        let docs = parse(&inputs.files, &mut Vec::new());
        locate(&mut diagnostics, &docs, &inputs.options);
    }
    diag::sort(&mut diagnostics);
    let sources = SourceMap::new(
        inputs
            .files
            .iter()
            .map(|f| (f.name.clone(), f.text.clone()))
            .collect(),
    );
    Translation {
        sources,
        ir: t.ir,
        diagnostics,
    }
}

/// Gives a span to diagnostics that name an object and a field path but no
/// position (those raised after parsing, e.g. while lowering), by finding the
/// object's document and walking the path in it.
fn locate(diags: &mut [Diagnostic], docs: &[(u32, Document)], options: &Options) {
    use crate::diag::{ObjectRef, Span};
    use crate::source::Node;
    use std::collections::BTreeMap;
    fn index<'a>(
        file: u32,
        n: &'a Node,
        ns: &str,
        out: &mut BTreeMap<ObjectRef, (u32, &'a Node)>,
        depth: u32,
    ) {
        if let Some(items) = n.get("items").and_then(Node::as_seq).filter(|_| depth == 0) {
            for it in items {
                index(file, it, ns, out, 1);
            }
        }
        let Some(kind) = n.get("kind").and_then(Node::as_str) else {
            return;
        };
        let md = n.get("metadata");
        let name = md
            .and_then(|m| m.get("name"))
            .or_else(|| n.get("name"))
            .map(Node::scalar_text);
        let namespace = md
            .and_then(|m| m.get("namespace"))
            .or_else(|| n.get("namespace"))
            .and_then(Node::as_str);
        if let Some(name) = name {
            let r = ObjectRef {
                kind: kind.to_string(),
                namespace: namespace.unwrap_or(ns).to_string(),
                name,
            };
            out.entry(r).or_insert((file, n));
        }
    }
    let mut objects = BTreeMap::new();
    for (file, d) in docs {
        index(
            *file,
            &d.root,
            &options.ambassador_namespace,
            &mut objects,
            0,
        );
    }
    for d in diags.iter_mut().filter(|d| d.span.is_none()) {
        let Some((file, node)) = d.object.as_ref().and_then(|o| objects.get(o)) else {
            continue;
        };
        let path = match d.path.strip_prefix("spec.") {
            Some(rest) if node.get("spec").is_none() => rest,
            _ => d.path.as_str(),
        };
        let span = if path.is_empty() {
            Span {
                end: node.span.start,
                ..node.span
            }
        } else {
            node.span_at(path)
        };
        d.span = Some(Span {
            file: *file,
            ..span
        });
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
