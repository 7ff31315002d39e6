//! Runs the emissary WASI component (`host-wasm`, built for `wasm32-wasip2`)
//! in wasmtime. The component imports WASI only because Rust's standard
//! library does; it gets an empty WASI context (no files, no network, no
//! environment).

use std::path::{Path, PathBuf};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::error::Context as _;
use wasmtime::{Engine, Result, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

wasmtime::component::bindgen!({ world: "emissary", path: "../wit" });

pub use exports::emissary::translator::translator::{
    Diagnostic, Header, Options, Request, Translation,
};

struct Ctx {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// One instance of the component.
pub struct Translator {
    store: Store<Ctx>,
    bindings: Emissary,
}

impl Translator {
    /// Compiles and instantiates the component at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path)
            .with_context(|| format!("loading {}", path.display()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let ctx = Ctx {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&engine, ctx);
        let bindings = Emissary::instantiate(&mut store, &component, &linker)?;
        Ok(Translator { store, bindings })
    }

    pub fn translate(&mut self, manifests: &str, options: &Options) -> Result<Translation> {
        let t = self.bindings.emissary_translator_translator();
        t.call_translate(&mut self.store, manifests, options)
    }

    pub fn validate(&mut self, manifests: &str, options: &Options) -> Result<Vec<Diagnostic>> {
        let t = self.bindings.emissary_translator_translator();
        t.call_validate(&mut self.store, manifests, options)
    }

    /// The explanation as JSON.
    pub fn explain(
        &mut self,
        manifests: &str,
        request: &Request,
        options: &Options,
    ) -> Result<String> {
        let t = self.bindings.emissary_translator_translator();
        t.call_explain(&mut self.store, manifests, request, options)
    }

    pub fn version(&mut self) -> Result<String> {
        let t = self.bindings.emissary_translator_translator();
        t.call_version(&mut self.store)
    }
}

/// Emissary's defaults.
pub fn default_options() -> Options {
    Options {
        ambassador_id: None,
        ambassador_namespace: None,
        single_namespace: false,
        placeholder_secrets: false,
        file_name: None,
    }
}

/// The component: `$EMISSARY_COMPONENT`, else the build of `host-wasm/build.sh`
/// (`target/wasm/wasm32-wasip2/wasm/emissary_wasm.wasm`).
pub fn component_path() -> PathBuf {
    match std::env::var_os("EMISSARY_COMPONENT") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/wasm/wasm32-wasip2/wasm/emissary_wasm.wasm"),
    }
}
