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
