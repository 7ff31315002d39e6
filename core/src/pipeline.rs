//! The pipeline: [`translate`] runs source → model → lower on the inputs and
//! hands back a [`Translation`] (the IR and the diagnostics), from which the
//! Envoy resources are built on demand in the form a host needs
//! ([`Translation::resources`] for ADS, [`Translation::bootstrap`] for a
//! static Envoy). A [`Translator`] does the same again and again, reusing
//! what did not change; [`translate`] is a `Translator` run once.

use crate::diag::{self, Diagnostic, Severity, SourceMap};
use crate::inputs::Inputs;
use crate::ir::Ir;
use crate::source;
use crate::xds;

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
    pub fn bootstrap(&self) -> crate::pb::envoy::config::bootstrap::v3::Bootstrap {
        xds::bootstrap(&self.ir, xds::build(&self.ir, xds::Mode::Static))
    }

    /// The Secrets (`namespace`, `name`) the configuration refers to:
    /// by a Host's `tlsSecret`, a TLSContext's `secret`, `ca_secret` or
    /// `crl_secret`, an Ingress's TLS, the default Host's fallback
    /// certificate. Those that do not exist, or lack what was asked of
    /// them, are listed too: a host that keeps only the referenced Secrets'
    /// data learns from this which ones to fetch.
    pub fn referenced_secrets(&self) -> &std::collections::BTreeSet<(String, String)> {
        &self.ir.referenced_secrets
    }

    /// Diagnostics rendered rustc-style with code frames.
    pub fn render_diagnostics(&self) -> String {
        diag::render(&self.diagnostics, &self.sources)
    }
}

/// Translates manifests into Envoy configuration. Total: never panics, never fails.
///
/// It is the [`Translator`] run once: there is one pipeline.
pub fn translate(inputs: &Inputs) -> Translation {
    Translator {
        once: true,
        ..Translator::default()
    }
    .translate(inputs)
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
///
/// When only documents that hold nothing but Endpoints and EndpointSlices
/// changed, the lowering before is kept and only the endpoints are resolved
/// again ([`Translator::endpoints_only`]).
#[derive(Debug, Default)]
pub struct Translator {
    segments: source::SegmentCache,
    loads: crate::model::LoadMemo,
    lowered: crate::lower::LowerMemo,
    /// The last call's lowering, but for its endpoints (kept unless run
    /// once, and only when all it depends on was remembered).
    last: Option<Lowered>,
    /// Whether the last call kept the lowering before and only resolved the
    /// endpoints again.
    endpoints_only: bool,
    /// Run once ([`translate`]): nothing is kept for a next call, so the
    /// documents are not cached and no lowering is recorded. The same code
    /// runs; only the bookkeeping that pays off on a later call is skipped.
    once: bool,
}

/// A lowering but for its endpoints, and what it was lowered from.
#[derive(Debug)]
struct Lowered {
    options: crate::inputs::Options,
    /// The units it was lowered from, but those of Endpoints and
    /// EndpointSlices alone (`model::LoadMemo::rest`).
    rest: Vec<u32>,
    /// The IR with its EDS service names but no endpoints.
    ir: Ir,
    eds: Vec<std::sync::Arc<crate::lower::EdsName>>,
    /// What lowering reported, spans in units.
    diags: Vec<Diagnostic>,
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
                let cache = (!t.once).then_some(&mut t.segments);
                let (u, mut ds) = source::parse_units(i as u32, &f.text, &limits, cache, true);
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
                self.last = None;
                parse(self, &mut diagnostics).unwrap_or_default()
            }
        };
        drop(units);
        let loads = &self.loads;
        self.segments.let_go(|u| loads.remembers(u));
        // Lowering depends on everything but the Endpoints and
        // EndpointSlices: when nothing else changed, the last one is kept
        // and only the endpoints are resolved again.
        let rest = self.loads.rest();
        let kept = self
            .last
            .as_ref()
            .filter(|l| !self.once && l.options == inputs.options && Some(&l.rest) == rest);
        self.endpoints_only = kept.is_some();
        let (mut ir, eds) = match kept {
            Some(l) => {
                diagnostics.extend(l.diags.iter().cloned());
                (l.ir.clone(), l.eds.clone())
            }
            None => {
                let loaded = diagnostics.len();
                self.lowered
                    .begin(&inputs.options, self.loads.env().cloned());
                let (ir, eds) = crate::lower::lower_with(
                    &objects,
                    &inputs.options,
                    &mut diagnostics,
                    (!self.once).then_some(&mut self.lowered),
                );
                self.last = rest.filter(|_| !self.once).map(|rest| Lowered {
                    options: inputs.options.clone(),
                    rest: rest.clone(),
                    ir: ir.clone(),
                    eds: eds.clone(),
                    diags: diagnostics[loaded..].to_vec(),
                });
                (ir, eds)
            }
        };
        crate::lower::resolve_endpoints(&objects, &eds, &mut ir.endpoints, &mut diagnostics);
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

    /// Mapping groups whose lowering the last call applied again (none
    /// when it kept the whole lowering, see [`Translator::endpoints_only`]).
    pub fn reused_groups(&self) -> usize {
        if self.endpoints_only {
            0
        } else {
            self.lowered.reused()
        }
    }

    /// Whether the last call found that only Endpoints and EndpointSlices
    /// had changed, and so kept the lowering before and resolved only the
    /// endpoints again.
    pub fn endpoints_only(&self) -> bool {
        self.endpoints_only
    }
}

/// Locates, sorts and pairs the diagnostics with the sources.
fn finish(inputs: &Inputs, mut diagnostics: Vec<Diagnostic>, ir: Ir) -> Translation {
    if diagnostics
        .iter()
        .any(|d| d.span.is_none() && d.object.is_some())
    {
        // Rare (errors found while lowering): parse again to find their fields.
        crate::model::locate(&mut diagnostics, &inputs.files, &inputs.options);
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

#[cfg(test)]
mod referenced_secrets {
    use super::*;
    use crate::inputs::{Options, SourceFile};

    /// A real certificate and key, base64 as a Secret's `data` holds them.
    fn cert_and_key() -> (String, String) {
        let text = include_str!("../../tests/golden/host/tls-context-settings/input.yaml");
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(k))
                .expect("the golden input has the field")
                .trim()
                .to_string()
        };
        (field("tls.crt:"), field("tls.key:"))
    }

    fn inputs(extra: &str) -> Inputs {
        let (crt, key) = cert_and_key();
        let text = format!(
            "apiVersion: getambassador.io/v3alpha1\nkind: Listener\nmetadata: {{name: https, namespace: default}}\n\
             spec: {{port: 8443, protocol: HTTPS, securityModel: XFP, hostBinding: {{namespace: {{from: ALL}}}}}}\n\
             ---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {{name: a, namespace: default}}\n\
             spec: {{hostname: a.example, tlsSecret: {{name: cert-a}}}}\n\
             ---\napiVersion: getambassador.io/v3alpha1\nkind: Host\nmetadata: {{name: m, namespace: default}}\n\
             spec: {{hostname: m.example, tlsSecret: {{name: missing}}}}\n\
             ---\napiVersion: getambassador.io/v3alpha1\nkind: TLSContext\nmetadata: {{name: up, namespace: default}}\n\
             spec: {{secret: client.other, ca_secret: ca-x}}\n\
             ---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\nmetadata: {{name: up, namespace: default}}\n\
             spec: {{hostname: '*', prefix: /up/, service: https://up:443, tls: up}}\n\
             ---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {{name: cert-a, namespace: default}}\n\
             data: {{tls.crt: {crt}, tls.key: {key}}}\n\
             ---\napiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {{name: unused, namespace: default}}\n\
             data: {{tls.crt: {crt}, tls.key: {key}}}\n{extra}"
        );
        Inputs {
            files: vec![SourceFile {
                name: "in.yaml".into(),
                text,
            }],
            options: Options::default(),
        }
    }

    fn pairs(v: &[(&str, &str)]) -> std::collections::BTreeSet<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn found_or_not_every_referenced_secret_is_listed_and_no_other() {
        let want = pairs(&[
            ("default", "cert-a"),
            ("default", "missing"),
            ("other", "client"),
            ("default", "ca-x"),
        ]);
        let once = translate(&inputs(""));
        assert_eq!(once.referenced_secrets(), &want);
        assert!(once.ir.secrets.contains_key("secret-default-cert-a"));
        // Incrementally, where a Mapping group's lowering is replayed from
        // the translation before, the same set.
        let mut t = Translator::default();
        t.translate(&inputs(""));
        let again = t.translate(&inputs(
            "---\nkind: Service\napiVersion: v1\nmetadata: {name: x, namespace: default}\n",
        ));
        assert_eq!(again.referenced_secrets(), &want);
    }

    #[test]
    fn a_serialized_ir_shows_no_private_key() {
        use base64::Engine as _;
        let (_, key) = cert_and_key();
        let pem = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(&key)
                .unwrap(),
        )
        .unwrap();
        let t = translate(&inputs(""));
        assert_eq!(t.ir.secrets["secret-default-cert-a"].private_key, pem);
        let json = serde_json::to_string(&t.ir).unwrap();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !json.contains(line),
                "a line of the key is in the IR: {line}"
            );
        }
        assert!(!json.contains("PRIVATE KEY"));
        assert!(
            json.contains(&format!("[redacted: {} bytes, sha256 ", pem.len())),
            "{json}"
        );
    }
}
