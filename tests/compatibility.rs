//! `docs/emissary-compatibility.md` against the schema of every
//! getambassador.io kind (`emissary_core::model::schema::kinds`): each
//! top-level `spec` field of each kind is named, in backticks, in the first
//! column of a table row of that kind's section, so a field added to the
//! schema cannot go without a stated Emissary compatibility.
//!
//! The section of a kind is the `## <Kind>` heading (up to the next `## `),
//! except: the Module, whose `spec.config` options are checked in
//! `## The ambassador Module`; and the three resolver kinds, which share
//! `## Resolver kinds`. A row names a field when a backticked span of its
//! first cell is the field's name, or starts with it followed by `.`, ` `,
//! `:` or `[` (`requestPolicy.insecure.action`, `protocol: UDP`).

use emissary_core::model::schema::{KindSchema, Ty, kinds};
use emissary_tests::repo_root;

const DOC: &str = "docs/emissary-compatibility.md";

/// The heading of a kind's section, and the fields that must be named in it.
fn expected(kind: &KindSchema) -> (String, Vec<&'static str>) {
    let top: Vec<&'static str> = kind.spec.fields.iter().map(|f| f.name).collect();
    match kind.kind {
        "Module" => {
            let config = kind
                .spec
                .fields
                .iter()
                .find(|f| f.name == "config")
                .map(|f| match &f.ty {
                    Ty::Obj(o) => o.fields.iter().map(|f| f.name).collect(),
                    _ => Vec::new(),
                })
                .unwrap_or_default();
            ("The ambassador Module".into(), config)
        }
        "KubernetesServiceResolver" | "KubernetesEndpointResolver" | "ConsulResolver" => {
            ("Resolver kinds".into(), top)
        }
        other => (other.into(), top),
    }
}

/// The lines of the section under `## <heading>`, or None.
fn section<'a>(doc: &'a str, heading: &str) -> Option<Vec<&'a str>> {
    let mut lines = doc
        .lines()
        .skip_while(|l| l.trim_end() != format!("## {heading}"));
    lines.next()?;
    Some(lines.take_while(|l| !l.starts_with("## ")).collect())
}

/// The backticked spans of the first cell of every table row.
fn named(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let Some(rest) = line.trim().strip_prefix('|') else {
            continue;
        };
        let cell = rest.split('|').next().unwrap_or("");
        out.extend(cell.split('`').skip(1).step_by(2).map(str::to_string));
    }
    out
}

fn names_field(span: &str, field: &str) -> bool {
    span.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', ' ', ':', '[']))
}

#[test]
fn every_spec_field_has_a_row() {
    let doc = std::fs::read_to_string(repo_root().join(DOC)).expect("read the doc");
    let mut missing = Vec::new();
    for kind in kinds() {
        let (heading, fields) = expected(&kind);
        assert!(
            !fields.is_empty(),
            "{}: no fields to check (has the schema changed shape?)",
            kind.kind
        );
        let Some(lines) = section(&doc, &heading) else {
            missing.push(format!("{}: no `## {heading}` section in {DOC}", kind.kind));
            continue;
        };
        let spans = named(&lines);
        for field in fields {
            if !spans.iter().any(|s| names_field(s, field)) {
                missing.push(format!(
                    "{}: field `{field}` has no table row in `## {heading}` of {DOC}",
                    kind.kind
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn a_missing_field_is_reported() {
    let doc = "## Mapping\n\n| Field | State | Notes |\n|---|---|---|\n\
               | `prefix`, `prefix_regex` | same | mentions `service` in notes |\n\
               | `rewrite.x` | same | |\n## Host\n| `service` | same | |\n";
    let spans = named(&section(doc, "Mapping").expect("section"));
    assert!(spans.iter().any(|s| names_field(s, "prefix")));
    assert!(spans.iter().any(|s| names_field(s, "prefix_regex")));
    assert!(spans.iter().any(|s| names_field(s, "rewrite")));
    // Named only in the notes, or in another section: not a row.
    assert!(!spans.iter().any(|s| names_field(s, "service")));
    // A longer name is not the field.
    assert!(!spans.iter().any(|s| names_field(s, "prefix_exact")));
    assert!(section(doc, "Listener").is_none());
}
