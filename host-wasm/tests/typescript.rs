//! `src/types.d.ts` is generated from the Rust API types by ts-rs and must be
//! up to date (`UPDATE_TYPES=1 cargo test -p emissary-wasm --test typescript`
//! rewrites it).

use emissary_core::{api, diag, explain};
use ts_rs::TS;

// The crate's own result type, compiled here with `cfg(test)` so that it derives `TS`.
#[allow(dead_code, unreachable_pub)]
#[path = "../src/text.rs"]
mod text;

fn generated() -> String {
    let cfg = ts_rs::Config::new();
    let mut out = String::from(
        "// Generated from the Rust types of emissary-core by ts-rs\n\
         // (host-wasm/tests/typescript.rs); do not edit.\n\n\
         /** Envoy configuration or IR as JSON (canonical proto3 JSON for Envoy messages). */\n\
         export type EnvoyJson = { [key: string]: any };\n",
    );
    for decl in [
        api::HostOptions::decl(&cfg),
        api::TranslatedText::decl(&cfg),
        text::TranslatedJson::decl(&cfg),
        api::LocatedDiagnostic::decl(&cfg),
        api::Range::decl(&cfg),
        diag::Severity::decl(&cfg),
        diag::ObjectRef::decl(&cfg),
        explain::Request::decl(&cfg),
        explain::Header::decl(&cfg),
        explain::Explanation::decl(&cfg),
        explain::Outcome::decl(&cfg),
        explain::Seen::decl(&cfg),
        explain::Target::decl(&cfg),
        explain::RouteCheck::decl(&cfg),
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
