//! `src/types.d.ts` is generated from the Rust API types by ts-rs and must be
//! up to date (`UPDATE_TYPES=1 cargo test -p emissary-wasm --test typescript`
//! rewrites it).

use emissary_core::{api, diag, explain};
use ts_rs::TS;

fn generated() -> String {
    let mut out = String::from(
        "// Generated from the Rust types of emissary-core by ts-rs\n\
         // (host-wasm/tests/typescript.rs); do not edit.\n\n\
         /** Envoy configuration or IR as JSON (canonical proto3 JSON for Envoy messages). */\n\
         export type EnvoyJson = { [key: string]: any };\n",
    );
    for decl in [
        api::HostOptions::decl(),
        api::TranslatedText::decl(),
        api::LocatedDiagnostic::decl(),
        api::Range::decl(),
        diag::Severity::decl(),
        diag::ObjectRef::decl(),
        explain::Request::decl(),
        explain::Header::decl(),
        explain::Explanation::decl(),
        explain::Outcome::decl(),
        explain::Seen::decl(),
        explain::Target::decl(),
        explain::RouteCheck::decl(),
    ] {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

#[test]
fn declarations_are_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/types.d.ts");
    let want = generated();
    if std::env::var_os("UPDATE_TYPES").is_some() {
        std::fs::write(&path, &want).expect("writing src/types.d.ts");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "src/types.d.ts is stale; run UPDATE_TYPES=1 cargo test -p emissary-wasm --test typescript\n\
         generated:\n{want}"
    );
}
