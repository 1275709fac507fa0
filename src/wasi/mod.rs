//! WASI preview 1 for core modules: `WasiConfig`, and the glue that lets `Linker.define_wasi`
//! reach the context a store was given with `Store.set_wasi`.

pub mod output;
pub mod wasi_config;

use crate::core::store::StoreData;

/// The WASI context of a store. A store that was never given one gets an empty context (no
/// arguments, environment or preopens; stdin empty, output discarded) rather than an abort.
pub fn context(data: &mut StoreData) -> &mut wasmtime_wasi::p1::WasiP1Ctx {
    data.wasi.get_or_insert_with(|| wasmtime_wasi::WasiCtxBuilder::new().build_p1())
}
