//! `MemoryType`: limits in pages, 32/64-bit, shared, page size.

use pyo3::prelude::*;

use crate::core::types::PyLimits;
use crate::core::Closable;
use crate::errors::{self, wasmtime_error};

#[pyclass(frozen, module = "wasmtime", name = "MemoryType")]
pub struct PyMemoryType {
    ty: Closable<wasmtime::MemoryType>,
}

impl PyMemoryType {
    pub fn from_wasmtime(ty: wasmtime::MemoryType) -> Self {
        PyMemoryType { ty: Closable::new(ty) }
    }

    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::MemoryType> {
        obj.cast::<PyMemoryType>().map_err(|_| errors::type_error("expected a MemoryType"))?.get().ty.get()
    }
}

#[pymethods]
impl PyMemoryType {
    #[new]
    #[pyo3(signature = (limits, is_64=false, shared=false, page_size_log2=16))]
    fn new(limits: &Bound<'_, PyAny>, is_64: bool, shared: bool, page_size_log2: u8) -> PyResult<Self> {
        let limits = PyLimits::extract(limits)?;
        let bound: i128 = if is_64 { 1 << 64 } else { 1 << 32 };
        if limits.min >= bound || limits.min < 0 {
            return Err(wasmtime_error("minimum size too large"));
        }
        // A falsy maximum (None or 0) is not checked, as in wasmtime-py.
        if limits.max.is_some_and(|m| m >= bound || m < 0) {
            return Err(wasmtime_error("maximum size too large"));
        }
        let mut b = wasmtime::MemoryTypeBuilder::new();
        b.min(limits.min as u64).max(limits.max.map(|m| m as u64)).memory64(is_64).shared(shared).page_size_log2(page_size_log2);
        Ok(Self::from_wasmtime(b.build().map_err(errors::from_wasmtime)?))
    }

    #[getter]
    fn limits(&self) -> PyResult<PyLimits> {
        let t = self.ty.get()?;
        Ok(PyLimits { min: t.minimum().into(), max: t.maximum().map(Into::into) })
    }

    #[getter]
    fn is_64(&self) -> PyResult<bool> {
        Ok(self.ty.get()?.is_64())
    }

    #[getter]
    fn is_shared(&self) -> PyResult<bool> {
        Ok(self.ty.get()?.is_shared())
    }

    #[getter]
    fn page_size(&self) -> PyResult<u64> {
        Ok(self.ty.get()?.page_size())
    }

    #[getter]
    fn page_size_log2(&self) -> PyResult<u8> {
        Ok(self.ty.get()?.page_size_log2())
    }

    fn close(&self) {
        self.ty.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
