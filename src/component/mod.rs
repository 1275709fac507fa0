//! `wasmtime.component`: the component model, on `wasmtime::component`.
//!
//! The same rules as the core API hold (see `core/store.rs`): stores own, Python objects are
//! handles carrying their store's id; wasm runs with the GIL released; a host function's Python
//! callable lives where the GC sees it (the linker, then the store), and the closure wasmtime
//! owns holds only a key. Component host functions get a `StoreContext` and may use the outer
//! `Store` re-entrantly, through the same callback stack as core host functions.
//!
//! Values are converted here, in Rust, straight from Python objects to `component::Val` and
//! back, guided by the wasmtime type (`val`), following wasmtime-py's Python mapping (tagged
//! and untagged variants included). The Python package (`python/wasmtime/component`) adds the
//! value-type classes, which wrap the [`types::PyComponentValType`] handles.
//!
//! * one file per Python class: `component` (`Component`, `ExportIndex`), `linker` (`Linker`,
//!   `LinkerInstance`), `instance` (`Instance`), `func` (`Func`), `resource_type`, `resource_any`, `resource_host` (`ResourceType`, `ResourceAny`, `ResourceHost`);
//! * `types`: the type reflection classes; `val`: value conversion.

// One file per Python class: `Component` lives in `component.rs`.
#[allow(clippy::module_inception)]
pub mod component;
pub mod func;
pub mod instance;
pub mod linker;
pub mod resource_any;
pub mod resource_host;
pub mod resource_type;
pub mod types;
pub mod val;

use pyo3::prelude::*;

/// Adds the component classes to the native module, under names that do not clash with the
/// core classes of the same Python name (`Linker`, `Instance`, `Func`, `FuncType`).
pub fn register(m: &Bound<'_, pyo3::types::PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Component", py.get_type::<component::PyComponent>())?;
    m.add("ExportIndex", py.get_type::<component::PyExportIndex>())?;
    m.add("ComponentLinker", py.get_type::<linker::PyLinker>())?;
    m.add("LinkerInstance", py.get_type::<linker::PyLinkerInstance>())?;
    m.add("ComponentInstance", py.get_type::<instance::PyInstance>())?;
    m.add("ComponentFunc", py.get_type::<func::PyFunc>())?;
    m.add("ResourceType", py.get_type::<resource_type::PyResourceType>())?;
    m.add("ResourceAny", py.get_type::<resource_any::PyResourceAny>())?;
    m.add("ResourceHost", py.get_type::<resource_host::PyResourceHost>())?;
    m.add("ComponentType", py.get_type::<types::PyComponentType>())?;
    m.add("ComponentInstanceType", py.get_type::<types::PyComponentInstanceType>())?;
    m.add("ModuleType", py.get_type::<types::PyModuleType>())?;
    m.add("ComponentFuncType", py.get_type::<types::PyFuncType>())?;
    m.add("ComponentValType", py.get_type::<types::PyComponentValType>())?;
    Ok(())
}

/// `WasmtimeError("Cannot directly construct a `<what>`")`, for classes only wasm hands out.
pub fn no_constructor(what: &str) -> PyErr {
    let article = if what.starts_with(['A', 'E', 'I', 'O', 'U']) { "an" } else { "a" };
    crate::errors::wasmtime_error(format!("Cannot directly construct {article} `{what}`"))
}
