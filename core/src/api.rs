//! The contract hosts see: inputs, options and the translation result.
//!
//! [`translate`] takes text; [`translate_objects`] takes objects already
//! parsed (the daemon keeps them between changes). Both return a
//! [`Translation`] holding the IR and the diagnostics; Envoy resources are
//! built from it on demand, in the form the host needs
//! ([`Translation::resources`] for ADS, [`Translation::bootstrap`] for a static
//! Envoy).

use crate::diag::SourceMap;
use crate::diag::{self, Diagnostic, Severity};
use crate::ir::Ir;
use crate::model::Objects;
use crate::source::{self, Document};
use crate::xds;

/// One text input (a file, stdin, an editor buffer).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
}

/// Everything that Emissary reads from its environment, made explicit.
#[derive(Debug, Clone, PartialEq)]
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
    translate_with(inputs)
}

/// Translates again and again, remembering the documents it parsed and the
/// objects it read from them: a document whose text (with the `---` line
/// opening it) is unchanged since the call before is neither parsed nor read
/// again. Each call returns exactly what [`translate`] returns for the same
/// inputs; only the time differs. The daemon keeps one between changes.
///
/// What it remembers of a document does not depend on where the document
/// sits: its spans count from the document's own start and name it (a
/// "unit") instead of a file, and are placed in their file when the
/// translation ends. So a document that moves (an edit before it in the
/// same file, a file added before its own) is still reused.
#[derive(Debug, Default)]
pub struct Translator {
    segments: source::SegmentCache,
    loads: crate::model::LoadMemo,
    lowered: crate::lower::LowerMemo,
}

impl Translator {
    /// [`translate`], reusing what the calls before parsed and read.
    pub fn translate(&mut self, inputs: &Inputs) -> Translation {
        use source::Unit;
        let limits = source::Limits::default();
        let mut diagnostics = Vec::new();
        let mut units = Vec::new();
        // Where each unit is this time: its file and offset.
        let mut places = std::collections::BTreeMap::new();
        let mut parse = |t: &mut Self, diagnostics: &mut Vec<Diagnostic>| {
            diagnostics.clear();
            units.clear();
            places.clear();
            t.segments.rotate();
            for (i, f) in inputs.files.iter().enumerate() {
                let (u, mut ds) =
                    source::parse_units(i as u32, &f.text, &limits, Some(&mut t.segments), true);
                diagnostics.append(&mut ds);
                for unit in &u {
                    if let Unit::Segment { seg, base, .. } = unit {
                        places.insert(seg.unit, (i as u32, *base));
                    }
                }
                units.extend(u);
            }
            t.segments.forget_unseen();
            t.loads.retain(&places.keys().copied().collect());
            crate::model::load_units(&units, &inputs.options, &mut t.loads, diagnostics)
        };
        let objects = match parse(self, &mut diagnostics) {
            Some(objects) => objects,
            None => {
                // Documents let go are needed after all (the options changed):
                // start from nothing.
                self.segments = source::SegmentCache::default();
                self.loads = crate::model::LoadMemo::default();
                self.lowered = crate::lower::LowerMemo::default();
                parse(self, &mut diagnostics).unwrap_or_default()
            }
        };
        drop(units);
        let loads = &self.loads;
        self.segments.let_go(|u| loads.remembers(u));
        self.lowered
            .begin(&inputs.options, self.loads.env().cloned());
        let ir = crate::lower::lower_with(
            &objects,
            &inputs.options,
            &mut diagnostics,
            Some(&mut self.lowered),
        );
        drop(objects);
        for span in diagnostics.iter_mut().filter_map(|d| d.span.as_mut()) {
            if let Some(&(file, base)) = places.get(&span.file) {
                *span = crate::diag::Span {
                    file,
                    start: span.start.saturating_add(base),
                    end: span.end.saturating_add(base),
                };
            }
        }
        finish(inputs, diagnostics, ir)
    }

    /// Documents the last call took from what it remembered.
    pub fn reused_segments(&self) -> usize {
        self.segments.reused()
    }

    /// Documents whose objects the last call took from what it remembered.
    pub fn reused_objects(&self) -> usize {
        self.loads.reused()
    }

    /// Mapping groups whose lowering the last call applied again.
    pub fn reused_groups(&self) -> usize {
        self.lowered.reused()
    }
}

fn translate_with(inputs: &Inputs) -> Translation {
    let mut diagnostics = Vec::new();
    let docs = parse(&inputs.files, &mut diagnostics);
    let objects = crate::model::load(&docs, &inputs.options, &mut diagnostics);
    // The document trees are the biggest thing in memory; free them before lowering.
    drop(docs);
    let mut t = translate_objects(&objects, &inputs.options);
    drop(objects);
    diagnostics.append(&mut t.diagnostics);
    finish(inputs, diagnostics, t.ir)
}

/// Locates, sorts and pairs the diagnostics with the sources.
fn finish(inputs: &Inputs, mut diagnostics: Vec<Diagnostic>, ir: Ir) -> Translation {
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
        ir,
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

/// Options as hosts outside Rust pass them (a JS object, JSON): every field
/// may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "ts", ts(rename = "TranslateOptions"))]
pub struct HostOptions {
    /// `AMBASSADOR_ID` (default `default`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambassador_id: Option<String>,
    /// `AMBASSADOR_NAMESPACE` (default `default`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambassador_namespace: Option<String>,
    /// `AMBASSADOR_SINGLE_NAMESPACE` (default false).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_namespace: Option<bool>,
    /// Serve a placeholder certificate for missing TLS Secrets (default false).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder_secrets: Option<bool>,
    /// The name diagnostics give the text (default `manifests.yaml`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

impl HostOptions {
    /// The [`Inputs`] for one text.
    pub fn inputs(&self, manifests: &str) -> Inputs {
        let d = Options::default();
        Inputs {
            files: vec![SourceFile {
                name: self
                    .file_name
                    .clone()
                    .unwrap_or_else(|| "manifests.yaml".into()),
                text: manifests.to_string(),
            }],
            options: Options {
                ambassador_id: self.ambassador_id.clone().unwrap_or(d.ambassador_id),
                ambassador_namespace: self
                    .ambassador_namespace
                    .clone()
                    .unwrap_or(d.ambassador_namespace),
                single_namespace: self.single_namespace.unwrap_or(false),
                placeholder_secrets: self.placeholder_secrets.unwrap_or(false),
            },
        }
    }
}

/// A diagnostic placed for an editor: 1-based lines, columns in UTF-16 code
/// units (Monaco, CodeMirror and VS Code count them so).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "Diagnostic"))]
#[serde(rename_all = "camelCase")]
pub struct LocatedDiagnostic {
    /// Stable kebab-case code, e.g. `mapping-no-host`.
    pub code: String,
    pub severity: Severity,
    pub message: String,
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<diag::ObjectRef>,
    /// Field path inside the object (`spec.prefix`); empty for the whole object.
    pub path: String,
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where, when the finding has a place in the text.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
}

/// A place in one input text: 1-based, end exclusive, columns in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Range {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Translation {
    /// The diagnostics with editor positions (UTF-16 columns).
    pub fn located_diagnostics(&self) -> Vec<LocatedDiagnostic> {
        self.diagnostics
            .iter()
            .map(|d| LocatedDiagnostic {
                code: d.code.to_string(),
                severity: d.severity,
                message: d.message.clone(),
                object: d.object.clone(),
                path: d.path.clone(),
                help: d.help.clone(),
                range: d.span.and_then(|s| {
                    let p = self.sources.position(s, diag::PositionEncoding::Utf16)?;
                    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                    Some(Range {
                        file: self.sources.name(s.file).to_string(),
                        line: n(p.line),
                        column: n(p.col),
                        end_line: n(p.end_line),
                        end_column: n(p.end_col),
                    })
                }),
            })
            .collect()
    }
}

/// Everything [`translate_text`] produces, the Envoy configuration and the IR
/// as JSON text: `bootstrap` and `xds` are canonical proto3 JSON, byte for
/// byte what `emissary translate --output bootstrap|xds --format json` prints
/// (without its final newline).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(rename = "TranslateResult"))]
pub struct TranslatedText {
    /// A complete static Envoy Bootstrap.
    #[cfg_attr(feature = "ts", ts(type = "EnvoyJson"))]
    pub bootstrap: String,
    /// The resources as served over ADS.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "{ listeners: EnvoyJson[]; routes: EnvoyJson[]; clusters: EnvoyJson[]; endpoints: EnvoyJson[]; secrets: EnvoyJson[] }"
        )
    )]
    pub xds: String,
    /// The intermediate representation (its shape may change between versions).
    #[cfg_attr(feature = "ts", ts(type = "EnvoyJson"))]
    pub ir: String,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

impl TranslatedText {
    /// One JSON object `{"bootstrap":…,"xds":…,"ir":…,"diagnostics":[…]}`
    /// holding the texts as they are.
    pub fn to_json(&self) -> String {
        let diags = serde_json::to_string(&self.diagnostics).unwrap_or_else(|_| "[]".into());
        let mut s = String::with_capacity(
            self.bootstrap.len() + self.xds.len() + self.ir.len() + diags.len() + 64,
        );
        for (i, (k, v)) in [
            ("bootstrap", &self.bootstrap),
            ("xds", &self.xds),
            ("ir", &self.ir),
            ("diagnostics", &diags),
        ]
        .into_iter()
        .enumerate()
        {
            s.push(if i == 0 { '{' } else { ',' });
            s.push('"');
            s.push_str(k);
            s.push_str("\":");
            s.push_str(v);
        }
        s.push('}');
        s
    }
}

/// The version of this translator.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Translates one text and renders every output as JSON (for hosts outside Rust).
pub fn translate_text(manifests: &str, options: &HostOptions) -> TranslatedText {
    let t = translate(&options.inputs(manifests));
    let json = |r: Result<String, serde_json::Error>| {
        // Rendering fails only for an `Any` outside the descriptor set: a bug, said in the output.
        r.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
    };
    TranslatedText {
        bootstrap: json(xds::json::to_string(&t.bootstrap())),
        xds: json(xds::json::to_string(&t.resources(xds::Mode::Ads))),
        ir: json(serde_json::to_string(&t.ir)),
        diagnostics: t.located_diagnostics(),
    }
}

/// Checks one text: its diagnostics only.
pub fn validate_text(manifests: &str, options: &HostOptions) -> Vec<LocatedDiagnostic> {
    translate(&options.inputs(manifests)).located_diagnostics()
}

/// Which Mapping of one text serves a request, and why (see [`crate::explain`]).
pub fn explain_text(
    manifests: &str,
    request: &crate::explain::Request,
    options: &HostOptions,
) -> crate::explain::Explanation {
    crate::explain::explain(&translate(&options.inputs(manifests)).ir, request)
}
