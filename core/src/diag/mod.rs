//! Diagnostics: what the core says about its input.
//!
//! Every problem the core finds in user input is a [`Diagnostic`] with a stable
//! kebab-case code, a severity, the object it belongs to, the field path inside
//! that object and, when the object came from text, a byte span. Line and column
//! are resolved from the span by [`SourceMap`] only when a host
//! asks for them, in the column encoding it needs.
//!
//! [`render`] is the one renderer: rustc-style code frames used by the CLI, the
//! golden files and the playground.

pub mod codes;
mod map;
mod render;

pub use map::{Position, PositionEncoding, SourceMap};
pub use render::{render, render_short};

use serde::Serialize;

/// How bad a diagnostic is. `Error` means some part of the input was not
/// translated (or was translated in a restricted, fail-closed form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Identifies a Kubernetes object: `Mapping default/quote`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A byte range in one source file. `file` indexes the files given to the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

/// One finding about the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case code, e.g. `mapping-no-host`. Documented in `codes`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The object the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// Field path inside the object, e.g. `spec.headers.x-user`. Empty for the whole object.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            object: None,
            path: String::new(),
            span: None,
            help: None,
        }
    }
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }
    pub fn info(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Info, message)
    }
    pub fn with_object(mut self, object: ObjectRef) -> Self {
        self.object = Some(object);
        self
    }
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
    pub fn with_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Sorts diagnostics into their canonical order: by file position, then code.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let ka = (
            a.span.map(|s| (s.file, s.start)),
            &a.object,
            &a.path,
            a.code,
            &a.message,
        );
        let kb = (
            b.span.map(|s| (s.file, s.start)),
            &b.object,
            &b.path,
            b.code,
            &b.message,
        );
        ka.cmp(&kb)
    });
}
