//! The WASI component's exports (wit-bindgen, world `emissary` in `wit/`).

use emissary_core::diag::{ObjectRef, Severity};
use emissary_core::{HostOptions, LocatedDiagnostic, api, explain};

wit_bindgen::generate!({ world: "emissary", path: "wit" });

use exports::emissary::translator::translator as wit;

struct Component;

impl wit::Guest for Component {
    fn translate(manifests: String, options: wit::Options) -> wit::Translation {
        let t = api::translate_text(&manifests, &host_options(options));
        wit::Translation {
            bootstrap: t.bootstrap,
            xds: t.xds,
            ir: t.ir,
            diagnostics: t.diagnostics.into_iter().map(diagnostic).collect(),
        }
    }

    fn validate(manifests: String, options: wit::Options) -> Vec<wit::Diagnostic> {
        let d = api::validate_text(&manifests, &host_options(options));
        d.into_iter().map(diagnostic).collect()
    }

    fn explain(manifests: String, request: wit::Request, options: wit::Options) -> String {
        let request = explain::Request {
            method: request.method,
            url: request.url,
            headers: (request.headers.into_iter())
                .map(|h| explain::Header {
                    name: h.name,
                    value: h.value,
                })
                .collect(),
            port: request.port,
            sni: request.sni,
        };
        let e = api::explain_text(&manifests, &request, &host_options(options));
        serde_json::to_string(&e).unwrap_or_default()
    }

    fn version() -> String {
        api::VERSION.to_string()
    }
}

fn host_options(o: wit::Options) -> HostOptions {
    HostOptions {
        ambassador_id: o.ambassador_id,
        ambassador_namespace: o.ambassador_namespace,
        single_namespace: Some(o.single_namespace),
        placeholder_secrets: Some(o.placeholder_secrets),
        file_name: o.file_name,
    }
}

fn diagnostic(d: LocatedDiagnostic) -> wit::Diagnostic {
    let object = |o: ObjectRef| wit::ObjectRef {
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
    };
    wit::Diagnostic {
        code: d.code,
        severity: match d.severity {
            Severity::Error => wit::Severity::Error,
            Severity::Warning => wit::Severity::Warning,
            Severity::Info => wit::Severity::Info,
        },
        message: d.message,
        object: d.object.map(object),
        path: d.path,
        help: d.help,
        range: d.range.map(|r| wit::Range {
            file: r.file,
            line: r.line,
            column: r.column,
            end_line: r.end_line,
            end_column: r.end_column,
        }),
    }
}

export!(Component);
