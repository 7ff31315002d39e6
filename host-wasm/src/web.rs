//! The npm package's exports (wasm-bindgen).

use crate::text::TranslatedJson;
use emissary_core::explain::Request;
use emissary_core::{HostOptions, api};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

/// Translates manifests (YAML or JSON, many documents) into Envoy configuration.
#[wasm_bindgen(unchecked_return_type = "TranslateResult")]
pub fn translate(
    manifests: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "TranslateOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let options: HostOptions = decode(options)?;
    parse(&api::translate_text(manifests, &options).to_json())
}

/// Translates manifests as [`translate`] does, with the Envoy configuration
/// and the IR as JSON text, byte for byte what the CLI's
/// `emissary translate --output bootstrap|xds|ir --format json` prints
/// (without its final newline).
#[wasm_bindgen(js_name = translateText, unchecked_return_type = "TranslateTextResult")]
pub fn translate_text(
    manifests: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "TranslateOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let options: HostOptions = decode(options)?;
    encode(&TranslatedJson::from(api::translate_text(
        manifests, &options,
    )))
}

/// Checks manifests: diagnostics with 1-based lines and UTF-16 columns.
#[wasm_bindgen(unchecked_return_type = "Diagnostic[]")]
pub fn validate(
    manifests: &str,
    #[wasm_bindgen(unchecked_optional_param_type = "TranslateOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let options: HostOptions = decode(options)?;
    encode(&api::validate_text(manifests, &options))
}

/// Which Mapping serves a request (`"GET https://foo.example.com/api/x"` or
/// an `ExplainRequest`), and why the routes before it did not match.
#[wasm_bindgen(unchecked_return_type = "Explanation")]
pub fn explain(
    manifests: &str,
    #[wasm_bindgen(unchecked_param_type = "string | ExplainRequest")] request: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "TranslateOptions")] options: Option<JsValue>,
) -> Result<JsValue, JsError> {
    let request = match request.as_string() {
        Some(line) => Request::parse(&line, &[]),
        None => decode(Some(request))?,
    };
    let options: HostOptions = decode(options)?;
    encode(&api::explain_text(manifests, &request, &options))
}

/// The translator's version.
#[wasm_bindgen]
pub fn version() -> String {
    api::VERSION.to_string()
}

fn decode<T: serde::de::DeserializeOwned + Default>(v: Option<JsValue>) -> Result<T, JsError> {
    match v {
        None => Ok(T::default()),
        Some(v) if v.is_undefined() || v.is_null() => Ok(T::default()),
        Some(v) => {
            let text: String = js_sys::JSON::stringify(&v).map_err(into_error)?.into();
            serde_json::from_str(&text).map_err(|e| JsError::new(&e.to_string()))
        }
    }
}

fn encode<T: serde::Serialize>(v: &T) -> Result<JsValue, JsError> {
    parse(&serde_json::to_string(v).map_err(|e| JsError::new(&e.to_string()))?)
}

fn parse(json: &str) -> Result<JsValue, JsError> {
    js_sys::JSON::parse(json).map_err(into_error)
}

fn into_error(v: JsValue) -> JsError {
    JsError::new(&v.as_string().unwrap_or_else(|| format!("{v:?}")))
}
