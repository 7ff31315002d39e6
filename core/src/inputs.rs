//! What a host hands the core: the texts to translate and the options that
//! Emissary reads from its environment. The bottom of the crate: every stage
//! may read these, and they import nothing.

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

/// The input of [`crate::translate`].
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub files: Vec<SourceFile>,
    pub options: Options,
}
