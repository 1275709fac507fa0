//! WASI for core modules and components: `WasiConfig`, and the glue that lets
//! `Linker.define_wasi` (preview 1) and the component `Linker.add_wasip2`/`add_wasi_http`
//! (preview 2) reach the context a store was given with `Store.set_wasi`/`set_wasi_http`.
//!
//! One `WasiP1Ctx` serves both: wasmtime-wasi builds preview 1 on preview 2, and the p1 context
//! holds the p2 context and resource table that components use.

pub mod output;
pub mod wasi_config;

use wasmtime_wasi::{WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::core::store::StoreData;

/// The WASI context of a store. A store that was never given one gets an empty context (no
/// arguments, environment or preopens; stdin empty, output discarded) rather than an abort.
pub fn context(data: &mut StoreData) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
    or_empty(&mut data.wasi)
}

fn or_empty(wasi: &mut Option<wasmtime_wasi::p1::WasiP1Ctx>) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
    wasi.get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        context(self).ctx()
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        // Instantiation refuses wasi:http components in a store without `set_wasi_http`, so the
        // fallback is never used; it keeps this infallible.
        let http = self.wasi_http.get_or_insert_with(WasiHttpCtx::new);
        WasiHttpCtxView { ctx: http, table: or_empty(&mut self.wasi).ctx().table, hooks: wasmtime_wasi_http::default_hooks() }
    }
}
