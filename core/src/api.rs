//! The contract hosts see: inputs, options and the translation result.

use crate::diag::Diagnostic;
use crate::source::SourceMap;

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
    pub diagnostics: Vec<Diagnostic>,
}

/// Translates manifests into Envoy configuration. Total: never panics, never fails.
pub fn translate(inputs: &Inputs) -> Translation {
    let sources = SourceMap::new(inputs.files.iter().map(|f| (f.name.clone(), f.text.clone())).collect());
    Translation { sources, diagnostics: Vec::new() }
}
