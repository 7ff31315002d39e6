//! emissary-wasm: the translation core for JavaScript (an npm package built
//! with wasm-bindgen, `wasm32-unknown-unknown`) and for any WebAssembly
//! component host (a WASI component, `wasm32-wasip2`, world in `wit/`).
//!
//! A thin shell: each export decodes its input, calls `emissary_core::api`,
//! encodes the result. Natively the crate only builds (for lints and the
//! TypeScript declaration test).

pub mod text;

#[cfg(not(target_os = "wasi"))]
pub mod web;

// wit-bindgen's generated exports are `unsafe` (the only unsafe code of the crate).
#[cfg(target_os = "wasi")]
#[allow(unsafe_code)]
mod component;

/// TypeScript declarations of the API types, generated from the Rust types by
/// ts-rs (`tests/typescript.rs` checks that this file is up to date).
pub const TYPESCRIPT: &str = include_str!("types.d.ts");
