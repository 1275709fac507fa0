//! `wasmtime._native`: the one native module behind the `wasmtime` and `extism` packages.
//! The module and its export list; everything else lives in `core/` and `errors.rs`.

use pyo3::prelude::*;

pub mod component;
pub mod core;
pub mod errors;
pub mod extism;
pub mod fork;
pub mod wasi;

use crate::core::{
    caller, config, engine, frame, func, global, instance, instance_pre, linker, memory, module, shared_memory, store, table,
    tag, types, val,
};

/// The thread token of the thread where Python runs signal handlers (0 until known).
static MAIN_THREAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Records the calling thread as the one that runs signal handlers (at import, and in the
/// child after a fork, where the forking thread becomes the main thread).
pub fn set_main_thread() {
    MAIN_THREAD.store(crate::core::thread_token(), std::sync::atomic::Ordering::Relaxed);
}

/// Whether this is the thread that imported the module (where Python runs signal handlers).
pub fn is_main_thread() -> bool {
    MAIN_THREAD.load(std::sync::atomic::Ordering::Relaxed) == crate::core::thread_token()
}

#[pymodule(gil_used = true)]
fn _native(m: &Bound<'_, pyo3::types::PyModule>) -> PyResult<()> {
    let py = m.py();
    // Rust backtraces mean nothing to Python users and cost milliseconds per error.
    wasmtime::error::disable_backtrace();
    let main = py.import("threading")?.call_method0("main_thread")?;
    let current = py.import("threading")?.call_method0("current_thread")?;
    if main.is(&current) {
        set_main_thread();
    }
    m.add_function(wrap_pyfunction!(module::wat2wasm, m)?)?;
    m.add_function(wrap_pyfunction!(module::_unpickle_module, m)?)?;
    m.add_function(wrap_pyfunction!(engine::_unpickle_engine, m)?)?;
    m.add_function(wrap_pyfunction!(frame::_unpickle_frame, m)?)?;
    m.add_function(wrap_pyfunction!(fork::_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(fork::_after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(fork::_after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(crate::component::component::_unpickle_component, m)?)?;
    m.add_function(wrap_pyfunction!(extism::log::extism_log_setup, m)?)?;
    m.add_function(wrap_pyfunction!(extism::log::extism_log_drain, m)?)?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<crate::core::cancel_scope::PyCancelScope>()?;
    m.add_class::<store::PyStore>()?;
    m.add_class::<caller::PyCaller>()?;
    m.add_class::<caller::PyStoreContext>()?;
    m.add_class::<module::PyModule>()?;
    m.add_class::<types::PyValType>()?;
    m.add_class::<types::PyFuncType>()?;
    m.add_class::<types::PyGlobalType>()?;
    m.add_class::<types::PyTableType>()?;
    m.add_class::<types::PyMemoryType>()?;
    m.add_class::<types::PyLimits>()?;
    m.add_class::<types::PyImportType>()?;
    m.add_class::<types::PyExportType>()?;
    m.add_class::<types::PyTagType>()?;
    m.add_class::<val::PyVal>()?;
    m.add_class::<func::PyFunc>()?;
    m.add_class::<memory::PyMemory>()?;
    m.add_class::<memory::PyMemoryBuffer>()?;
    m.add_class::<global::PyGlobal>()?;
    m.add_class::<table::PyTable>()?;
    m.add_class::<instance::PyInstance>()?;
    m.add_class::<instance_pre::PyInstancePre>()?;
    m.add_class::<linker::PyLinker>()?;
    m.add_class::<shared_memory::PySharedMemory>()?;
    m.add_class::<tag::PyTag>()?;
    m.add_class::<wasi::wasi_config::PyWasiConfig>()?;
    m.add_class::<frame::PyFrame>()?;
    m.add_class::<extism::compiled::PyExtismCompiled>()?;
    m.add_class::<extism::plugin::PyExtismPlugin>()?;
    m.add_class::<extism::caller::PyExtismCaller>()?;
    m.add_class::<extism::cancel_handle::PyExtismCancelHandle>()?;
    component::register(m)?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    m.add("WASMTIME_VERSION", WASMTIME_VERSION)?;
    fork::register(m)?;
    Ok(())
}

/// The wasmtime crate underneath (pinned exactly in Cargo.toml; a test keeps the two equal).
pub const WASMTIME_VERSION: &str = "48.0.8";

#[cfg(test)]
mod version_tests {
    #[test]
    fn wasmtime_version_matches_the_cargo_pin() {
        let pin = format!("wasmtime = {{ version = \"={}\"", super::WASMTIME_VERSION);
        assert!(include_str!("../Cargo.toml").contains(&pin), "Cargo.toml does not pin {pin}");
    }
}
