//! The result of `translateText`: the JSON texts as `emissary_core` renders
//! them. Also compiled into `tests/typescript.rs` (which sets `cfg(test)` and
//! so derives its TypeScript declaration from this very definition).

use emissary_core::LocatedDiagnostic;

/// [`emissary_core::api::translate_text`]'s output with the Envoy
/// configuration and the IR kept as JSON text: byte for byte what
/// `emissary translate --output bootstrap|xds|ir --format json` prints
/// (without its final newline). JavaScript numbers cannot keep a proto
/// double's `200.0` apart from `200`; these strings do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "TranslateTextResult"))]
#[serde(rename_all = "camelCase")]
pub struct TranslatedJson {
    /// A complete static Envoy Bootstrap, as JSON text.
    pub bootstrap: String,
    /// The resources as served over ADS (`{"listeners":[…],"routes":[…],
    /// "clusters":[…],"endpoints":[…],"secrets":[…]}`), as JSON text.
    pub xds: String,
    /// The intermediate representation as JSON text (its shape may change
    /// between versions).
    pub ir: String,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

impl From<emissary_core::api::TranslatedText> for TranslatedJson {
    fn from(t: emissary_core::api::TranslatedText) -> Self {
        TranslatedJson {
            bootstrap: t.bootstrap,
            xds: t.xds,
            ir: t.ir,
            diagnostics: t.diagnostics,
        }
    }
}
