//! Places diagnostics raised after parsing (while lowering) that name an
//! object and a field path but no position: the texts are parsed again, the
//! object's document found, and the path walked in it. Rare, so the cost of
//! parsing again is paid only when such a diagnostic exists.

use crate::diag::Diagnostic;
use crate::inputs::{Options, SourceFile};
use crate::source::Document;

/// Gives a span to diagnostics that name an object and a field path but no
/// position (those raised after parsing, e.g. while lowering), by finding the
/// object's document and walking the path in it.
pub(crate) fn locate(diags: &mut [Diagnostic], files: &[SourceFile], options: &Options) {
    let limits = crate::source::Limits::default();
    let docs: Vec<(u32, Document)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            let (d, _) = crate::source::parse(i as u32, &f.text, &limits);
            d.into_iter().map(move |d| (i as u32, d))
        })
        .collect();
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
    for (file, d) in &docs {
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
