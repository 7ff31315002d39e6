//! The data that hosts outside Rust exchange with the core (the npm package,
//! the WASI component, the playground): options every field of which may be
//! left out, diagnostics placed for an editor (UTF-16 columns), and the
//! outputs as JSON text; plus the three text-in, text-out functions they call.

use crate::diag::{self, Severity};
use crate::inputs::{Inputs, Options, SourceFile};
use crate::pipeline::{Translation, translate};
use crate::xds;

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
        located(&self.diagnostics, &self.sources)
    }
}

/// Diagnostics with editor positions (UTF-16 columns) in `sources`.
fn located(diags: &[diag::Diagnostic], sources: &diag::SourceMap) -> Vec<LocatedDiagnostic> {
    diags
        .iter()
        .map(|d| LocatedDiagnostic {
            code: d.code.to_string(),
            severity: d.severity,
            message: d.message.clone(),
            object: d.object.clone(),
            path: d.path.clone(),
            help: d.help.clone(),
            range: d.span.and_then(|s| {
                let p = sources.position(s, diag::PositionEncoding::Utf16)?;
                let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                Some(Range {
                    file: sources.name(s.file).to_string(),
                    line: n(p.line),
                    column: n(p.col),
                    end_line: n(p.end_line),
                    end_column: n(p.end_col),
                })
            }),
        })
        .collect()
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
        bootstrap: json(crate::pb::json::to_string(&t.bootstrap())),
        xds: json(crate::pb::json::to_string(&t.resources(xds::Mode::Ads))),
        ir: json(serde_json::to_string(&t.ir)),
        diagnostics: t.located_diagnostics(),
    }
}

/// Checks one text: its diagnostics only.
pub fn validate_text(manifests: &str, options: &HostOptions) -> Vec<LocatedDiagnostic> {
    translate(&options.inputs(manifests)).located_diagnostics()
}

/// What [`migrate_text`] gives: the manifests as getambassador.io/v3alpha1
/// YAML and what was found on the way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MigratedText {
    /// Multi-document YAML; see [`mod@crate::migrate`] for the rules.
    pub text: String,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

/// Rewrites the getambassador.io v2/v1 objects of one text as v3alpha1 (see
/// [`mod@crate::migrate`]); only `file_name` of the options is used.
pub fn migrate_text(manifests: &str, options: &HostOptions) -> MigratedText {
    let m = crate::migrate::migrate(&options.inputs(manifests).files);
    MigratedText {
        diagnostics: located(&m.diagnostics, &m.sources),
        text: m.text,
    }
}

/// Which Mapping of one text serves a request, and why (see [`crate::explain`]).
pub fn explain_text(
    manifests: &str,
    request: &crate::explain::Request,
    options: &HostOptions,
) -> crate::explain::Explanation {
    crate::explain::explain(&translate(&options.inputs(manifests)).ir, request)
}
