//! `TableType`: an element reference type and limits.

use pyo3::prelude::*;

use crate::core::types::{PyLimits, PyValType};
use crate::core::Closable;
use crate::errors::wasmtime_error;

#[pyclass(frozen, module = "wasmtime", name = "TableType")]
pub struct PyTableType {
    ty: Closable<wasmtime::TableType>,
}

impl PyTableType {
    pub fn from_wasmtime(ty: wasmtime::TableType) -> Self {
        PyTableType { ty: Closable::new(ty) }
    }

    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::TableType> {
        obj.cast::<PyTableType>().map_err(|_| crate::errors::type_error("expected a TableType"))?.get().ty.get()
    }
}

#[pymethods]
impl PyTableType {
    #[new]
    fn new(valtype: &Bound<'_, PyAny>, limits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let element = PyValType::extract(valtype)?;
        let limits = PyLimits::extract(limits)?;
        let wasmtime::ValType::Ref(element) = element else {
            return Err(wasmtime_error("failed to allocate TableType"));
        };
        let min = u32::try_from(limits.min).map_err(|_| wasmtime_error("minimum size too large"))?;
        // `max=None` and a maximum of 2**32-1 are the same (unbounded) in wasmtime-py.
        let max = match limits.max {
            None | Some(0xffff_ffff) => None,
            Some(m) => Some(u32::try_from(m).map_err(|_| wasmtime_error("maximum size too large"))?),
        };
        Ok(Self::from_wasmtime(wasmtime::TableType::new(element, min, max)))
    }

    #[getter]
    fn element(&self) -> PyResult<PyValType> {
        Ok(PyValType::new(wasmtime::ValType::Ref(self.ty.get()?.element().clone())))
    }

    #[getter]
    fn limits(&self) -> PyResult<PyLimits> {
        let t = self.ty.get()?;
        Ok(PyLimits { min: t.minimum().into(), max: t.maximum().filter(|m| *m != 0xffff_ffff).map(Into::into) })
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
