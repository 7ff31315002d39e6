//! A typed reader over a mapping [`Node`] that reports wrong types, missing
//! required fields and unknown fields as diagnostics with field path and span.
//!
//! Every `model` kind is read through [`Fields`]: ask for each known field by
//! name with the type you expect, then call [`Fields::finish`], which warns
//! about every key nobody asked for.

use crate::diag::{Diagnostic, ObjectRef, Span};
use crate::source::{Node, Value};
use std::collections::BTreeMap;

/// Where diagnostics about one object go.
pub(crate) struct Cx<'d> {
    pub(crate) diags: &'d mut Vec<Diagnostic>,
    pub(crate) obj: ObjectRef,
}

impl Cx<'_> {
    /// Records `d` on this object, at `path` and `span`.
    fn push(&mut self, d: Diagnostic, path: &str, span: Option<Span>) {
        self.diags.push(
            d.with_object(self.obj.clone())
                .with_path(path)
                .with_span(span),
        );
    }
    pub(crate) fn error(
        &mut self,
        code: &'static str,
        path: &str,
        span: Option<Span>,
        msg: impl Into<String>,
    ) {
        self.push(Diagnostic::error(code, msg), path, span);
    }
    pub(crate) fn warning(
        &mut self,
        code: &'static str,
        path: &str,
        span: Option<Span>,
        msg: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(code, msg), path, span);
    }
    pub(crate) fn info(
        &mut self,
        code: &'static str,
        path: &str,
        span: Option<Span>,
        msg: impl Into<String>,
    ) {
        self.push(Diagnostic::info(code, msg), path, span);
    }
}

/// A value with the span it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Reads the fields of one mapping node.
pub(crate) struct Fields<'n> {
    node: Option<&'n Node>,
    path: String,
    used: Vec<bool>,
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'n> Fields<'n> {
    /// Starts reading `node` (expected to be a mapping) found at `path`.
    /// A non-mapping node is reported and read as empty.
    pub(crate) fn new(cx: &mut Cx<'_>, node: &'n Node, path: &str) -> Fields<'n> {
        match &node.value {
            Value::Map(entries) => Fields {
                node: Some(node),
                path: path.to_string(),
                used: vec![false; entries.len()],
            },
            Value::Null => Fields {
                node: None,
                path: path.to_string(),
                used: Vec::new(),
            },
            _ => {
                cx.error(
                    "wrong-type",
                    path,
                    Some(node.span),
                    format!(
                        "`{}` must be a mapping, found {}",
                        display_path(path),
                        node.type_name()
                    ),
                );
                Fields {
                    node: None,
                    path: path.to_string(),
                    used: Vec::new(),
                }
            }
        }
    }

    pub(crate) fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw node of a field, marking it as known. Null counts as absent.
    pub(crate) fn node(&mut self, key: &str) -> Option<&'n Node> {
        #[cfg(test)]
        asked::record(&self.path, key);
        let entries = self.node?.as_map()?;
        let idx = entries.iter().rposition(|(k, _)| k.as_str() == Some(key))?;
        self.used[idx] = true;
        let v = &entries[idx].1;
        if v.is_null() { None } else { Some(v) }
    }

    /// Marks fields as known without reading them (accepted and ignored).
    pub(crate) fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            let _ = self.node(k);
        }
    }

    /// True if the key is present (even if null).
    pub(crate) fn has(&self, key: &str) -> bool {
        #[cfg(test)]
        asked::record(&self.path, key);
        self.node
            .and_then(|n| n.as_map())
            .is_some_and(|m| m.iter().any(|(k, _)| k.as_str() == Some(key)))
    }

    fn wrong(&self, cx: &mut Cx<'_>, key: &str, node: &Node, want: &str) {
        let path = self.path(key);
        cx.error(
            "wrong-type",
            &path,
            Some(node.span),
            format!(
                "`{}` must be {want}, found {}",
                display_path(&path),
                node.type_name()
            ),
        );
    }

    pub(crate) fn str(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Spanned<String>> {
        let n = self.node(key)?;
        match &n.value {
            Value::Str(s) => Some(Spanned {
                value: s.clone(),
                span: n.span,
            }),
            // Numbers and booleans given where a string is expected are taken as
            // their text, as Emissary's loosely-typed Python does for most fields.
            Value::Int(_) | Value::Float(_) => Some(Spanned {
                value: n.scalar_text(),
                span: n.span,
            }),
            _ => {
                self.wrong(cx, key, n, "a string");
                None
            }
        }
    }

    pub(crate) fn required_str(
        &mut self,
        cx: &mut Cx<'_>,
        key: &str,
        span: Span,
    ) -> Option<Spanned<String>> {
        let v = self.str(cx, key);
        if v.is_none() && !self.has_nonnull(key) {
            let path = self.path(key);
            cx.error(
                "missing-field",
                &path,
                Some(span),
                format!("required field `{}` is missing", display_path(&path)),
            );
        }
        v
    }

    fn has_nonnull(&self, key: &str) -> bool {
        self.node.and_then(|n| n.as_map()).is_some_and(|m| {
            m.iter()
                .any(|(k, v)| k.as_str() == Some(key) && !v.is_null())
        })
    }

    pub(crate) fn bool(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<bool> {
        let n = self.node(key)?;
        match &n.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.wrong(cx, key, n, "a boolean");
                None
            }
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn uint(&mut self, cx: &mut Cx<'_>, key: &str, max: u64) -> Option<Spanned<u64>> {
        let n = self.node(key)?;
        let v = match &n.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => {
                Some(*f as i64)
            }
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match v {
            Some(i) if i >= 0 && (i as u64) <= max => Some(Spanned {
                value: i as u64,
                span: n.span,
            }),
            Some(i) => {
                let path = self.path(key);
                cx.error(
                    "value-out-of-range",
                    &path,
                    Some(n.span),
                    format!(
                        "`{}` must be between 0 and {max}, found {i}",
                        display_path(&path)
                    ),
                );
                None
            }
            None => {
                self.wrong(cx, key, n, "a non-negative integer");
                None
            }
        }
    }

    pub(crate) fn int(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<i64> {
        let n = self.node(key)?;
        match &n.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15 => {
                Some(*f as i64)
            }
            Value::Str(s) if s.trim().parse::<i64>().is_ok() => s.trim().parse::<i64>().ok(),
            _ => {
                self.wrong(cx, key, n, "an integer");
                None
            }
        }
    }

    pub(crate) fn number(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Spanned<f64>> {
        let n = self.node(key)?;
        match &n.value {
            Value::Int(i) => Some(Spanned {
                value: *i as f64,
                span: n.span,
            }),
            Value::Float(f) if f.is_finite() => Some(Spanned {
                value: *f,
                span: n.span,
            }),
            Value::Str(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                s.trim().parse::<f64>().ok().map(|value| Spanned {
                    value,
                    span: n.span,
                })
            }
            _ => {
                self.wrong(cx, key, n, "a number");
                None
            }
        }
    }

    /// A required non-negative integer: reported when missing.
    pub(crate) fn required_uint(
        &mut self,
        cx: &mut Cx<'_>,
        key: &str,
        max: u64,
        span: Span,
    ) -> Option<Spanned<u64>> {
        let v = self.uint(cx, key, max);
        if v.is_none() && !self.has(key) {
            let path = self.path(key);
            cx.error(
                "missing-field",
                &path,
                Some(span),
                format!("required field `{path}` is missing"),
            );
        }
        v
    }

    /// The entries of a mapping-valued field; anything else is reported.
    pub(crate) fn entries(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<&'n [(Node, Node)]> {
        let n = self.node(key)?;
        if n.as_map().is_none() {
            self.wrong(cx, key, n, "a mapping");
        }
        n.as_map()
    }

    /// A string or a list of strings (Emissary accepts both for several fields).
    pub(crate) fn str_list(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let n = self.node(key)?;
        match &n.value {
            Value::Str(s) => Some(vec![Spanned {
                value: s.clone(),
                span: n.span,
            }]),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, it) in items.iter().enumerate() {
                    match &it.value {
                        Value::Str(s) => out.push(Spanned {
                            value: s.clone(),
                            span: it.span,
                        }),
                        Value::Int(_) | Value::Float(_) | Value::Bool(_) => out.push(Spanned {
                            value: it.scalar_text(),
                            span: it.span,
                        }),
                        _ => {
                            let path = format!("{}[{i}]", self.path(key));
                            cx.error(
                                "wrong-type",
                                &path,
                                Some(it.span),
                                format!("`{path}` must be a string, found {}", it.type_name()),
                            );
                        }
                    }
                }
                Some(out)
            }
            _ => {
                self.wrong(cx, key, n, "a string or a list of strings");
                None
            }
        }
    }

    /// A mapping of string keys to scalar values, kept in document order.
    pub(crate) fn str_map(
        &mut self,
        cx: &mut Cx<'_>,
        key: &str,
    ) -> Option<Vec<(Spanned<String>, Spanned<String>)>> {
        let n = self.node(key)?;
        let Value::Map(entries) = &n.value else {
            self.wrong(cx, key, n, "a mapping of strings");
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let kt = k.scalar_text();
            match &v.value {
                Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => out.push((
                    Spanned {
                        value: kt,
                        span: k.span,
                    },
                    Spanned {
                        value: v.scalar_text(),
                        span: v.span,
                    },
                )),
                _ => {
                    let path = join(&self.path(key), &kt);
                    cx.error(
                        "wrong-type",
                        &path,
                        Some(v.span),
                        format!("`{path}` must be a string, found {}", v.type_name()),
                    );
                }
            }
        }
        Some(out)
    }

    /// A nested mapping, read with its own [`Fields`].
    pub(crate) fn object(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Fields<'n>> {
        let n = self.node(key)?;
        if n.as_map().is_none() {
            self.wrong(cx, key, n, "a mapping");
            return None;
        }
        Some(Fields::new(cx, n, &self.path(key)))
    }

    /// Warns about every field that was not read.
    pub(crate) fn finish(self, cx: &mut Cx<'_>, kind: &str) {
        let Some(entries) = self.node.and_then(|n| n.as_map()) else {
            return;
        };
        for ((k, _), used) in entries.iter().zip(&self.used) {
            if !used {
                let path = join(&self.path, &k.scalar_text());
                cx.warning(
                    "unknown-field",
                    &path,
                    Some(k.span),
                    format!(
                        "unknown field `{}` in {kind}; it is ignored",
                        display_path(&path)
                    ),
                );
            }
        }
    }
}

/// Paths are kept relative to the object (`spec.prefix`); shown as such.
pub(crate) fn display_path(path: &str) -> &str {
    path
}

/// Reads `metadata.labels`-style maps into a sorted map.
pub(crate) fn labels(cx: &mut Cx<'_>, f: &mut Fields<'_>, key: &str) -> BTreeMap<String, String> {
    f.str_map(cx, key)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.value, v.value))
        .collect()
}

/// The field paths readers ask for, recorded while a test looks (see the
/// agreement tests of `schema`). List indexes are recorded as `[]`.
#[cfg(test)]
pub(crate) mod asked {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static ASKED: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
    }

    pub(crate) fn record(path: &str, key: &str) {
        ASKED.with(|a| {
            if let Some(set) = a.borrow_mut().as_mut() {
                let mut p = String::new();
                let mut in_index = false;
                for c in super::join(path, key).chars() {
                    match c {
                        '[' => {
                            in_index = true;
                            p.push_str("[]");
                        }
                        ']' => in_index = false,
                        _ if in_index => {}
                        _ => p.push(c),
                    }
                }
                set.insert(p);
            }
        });
    }

    /// Runs `f` and returns the paths asked for while it ran.
    pub(crate) fn during(f: impl FnOnce()) -> BTreeSet<String> {
        ASKED.with(|a| *a.borrow_mut() = Some(BTreeSet::new()));
        f();
        ASKED.with(|a| a.borrow_mut().take().unwrap_or_default())
    }
}
