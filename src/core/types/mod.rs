//! The type classes: `ValType`, `FuncType`, `GlobalType`, `TableType`, `MemoryType`, `Limits`,
//! `ImportType`, `ExportType`, `TagType`. All are immutable values; the `Managed` ones can be closed.

mod exporttype;
pub mod functype;
mod globaltype;
mod importtype;
mod limits;
mod memorytype;
mod tabletype;
mod tagtype;
mod valtype;

pub use exporttype::PyExportType;
pub use functype::PyFuncType;
pub use globaltype::PyGlobalType;
pub use importtype::PyImportType;
pub use limits::PyLimits;
pub use memorytype::PyMemoryType;
pub use tabletype::PyTableType;
pub use tagtype::PyTagType;
pub use valtype::PyValType;

use pyo3::prelude::*;


/// The Python type object for an import's or export's type.
pub fn extern_type(py: Python<'_>, ty: &wasmtime::ExternType) -> PyResult<Py<PyAny>> {
    Ok(match ty {
        wasmtime::ExternType::Func(f) => Py::new(py, PyFuncType::from_wasmtime(f))?.into_any(),
        wasmtime::ExternType::Global(g) => Py::new(py, PyGlobalType::from_wasmtime(g.clone()))?.into_any(),
        wasmtime::ExternType::Table(t) => Py::new(py, PyTableType::from_wasmtime(t.clone()))?.into_any(),
        wasmtime::ExternType::Memory(m) => Py::new(py, PyMemoryType::from_wasmtime(m.clone()))?.into_any(),
        wasmtime::ExternType::Tag(t) => Py::new(py, PyTagType::from_wasmtime(t))?.into_any(),
    })
}
