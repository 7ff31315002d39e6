//! Source text → documents: a YAML/JSON parse that keeps the span of every node.
//!
//! The parser is event-driven (saphyr-parser) and builds [`Node`] trees
//! iteratively, so hostile nesting cannot overflow the stack. Every node carries
//! its byte [`Span`]; [`SourceMap`](crate::diag::SourceMap) turns spans into 1-based line/column in the
//! encoding a host asks for (UTF-8 bytes, Unicode scalar values, UTF-16 units).
//!
//! Plain scalars are resolved the way Emissary's own YAML reader (PyYAML, YAML
//! 1.1) does: `true/false/yes/no/on/off` are booleans, `~`/`null`/empty are
//! null, decimal/hex/octal integers and floats are numbers; quoted scalars are
//! always strings.

mod cache;
mod parse;
mod scalar;
mod tree;

pub use cache::SegmentCache;
pub use parse::{Limits, parse, parse_with};
pub(crate) use parse::{Unit, parse_units};

use crate::diag::Span;

/// One parsed YAML/JSON node with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string scalar. `raw` keeps plain scalars that were not resolved to another type.
    Str(String),
    Seq(Vec<Node>),
    /// Mapping entries in document order. Keys are nodes so diagnostics can point at them.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }
    /// Looks up a string key in a mapping node (first match).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }
    /// A short name of the node's type for diagnostics: "a string", "a list" …
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
    /// Converts to a JSON value (for IR dumps and opaque fields).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut m = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match &k.value {
                        Value::Str(s) => s.clone(),
                        other => Node {
                            value: other.clone(),
                            span: k.span,
                        }
                        .scalar_text(),
                    };
                    m.insert(key, v.to_json());
                }
                J::Object(m)
            }
        }
    }
    /// The text of a scalar as YAML would print it (for keys and messages).
    pub fn scalar_text(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::Seq(_) => "[…]".into(),
            Value::Map(_) => "{…}".into(),
        }
    }
}

impl Node {
    /// The span of the node at a field path such as `spec.circuit_breakers[0].priority`
    /// (map keys may themselves contain dots). Returns the deepest node found,
    /// so a path that does not fully exist still points close to it.
    pub fn span_at(&self, path: &str) -> Span {
        let mut node = self;
        let mut rest = path;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let Some((idx, after)) = r.split_once(']') else {
                    break;
                };
                match (idx.parse::<usize>().ok(), node.as_seq()) {
                    (Some(i), Some(items)) if i < items.len() => node = &items[i],
                    _ => break,
                }
                rest = after.strip_prefix('.').unwrap_or(after);
                continue;
            }
            let Some(entries) = node.as_map() else { break };
            // The longest key that prefixes the rest of the path wins.
            let found = entries
                .iter()
                .filter_map(|(k, v)| {
                    let k = k.as_str()?;
                    let after = rest.strip_prefix(k)?;
                    (after.is_empty() || after.starts_with('.') || after.starts_with('['))
                        .then_some((k.len(), v, after))
                })
                .max_by_key(|(len, _, _)| *len);
            let Some((_, v, after)) = found else { break };
            node = v;
            rest = after.strip_prefix('.').unwrap_or(after);
        }
        node.span
    }
}

/// One YAML document of a source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// 0-based index of the document in its file.
    pub index: u32,
    pub root: Node,
}

#[cfg(test)]
mod tests;
