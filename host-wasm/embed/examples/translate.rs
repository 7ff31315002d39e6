//! Translates a manifest file with the WASI component and prints the xDS
//! resources: `cargo run -p emissary-wasm-embed --example translate -- FILE`.

use emissary_wasm_embed::{Translator, component_path, default_options};

fn main() -> wasmtime::Result<()> {
    let file = std::env::args()
        .nth(1)
        .ok_or_else(|| wasmtime::format_err!("usage: translate FILE"))?;
    let text = std::fs::read_to_string(&file)?;
    let mut t = Translator::load(&component_path())?;
    let out = t.translate(&text, &default_options())?;
    for d in &out.diagnostics {
        eprintln!("{:?}[{}]: {}", d.severity, d.code, d.message);
    }
    println!("{}", out.xds);
    Ok(())
}
