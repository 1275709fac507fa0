//! `GlobalType`: a value type and mutability.

use pyo3::prelude::*;

use crate::core::types::PyValType;
use crate::core::Closable;

#[pyclass(frozen, module = "wasmtime", name = "GlobalType")]
pub struct PyGlobalType {
    ty: Closable<wasmtime::GlobalType>,
}

impl PyGlobalType {
    pub fn from_wasmtime(ty: wasmtime::GlobalType) -> Self {
        PyGlobalType { ty: Closable::new(ty) }
    }

    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::GlobalType> {
        obj.cast::<PyGlobalType>().map_err(|_| crate::errors::type_error("expected a GlobalType"))?.get().ty.get()
    }
}

#[pymethods]
impl PyGlobalType {
    #[new]
    fn new(valtype: &Bound<'_, PyAny>, mutable: &Bound<'_, PyAny>) -> PyResult<Self> {
        let content = PyValType::extract(valtype)?;
        let mutability = if mutable.is_truthy()? { wasmtime::Mutability::Var } else { wasmtime::Mutability::Const };
        Ok(Self::from_wasmtime(wasmtime::GlobalType::new(content, mutability)))
    }

    #[getter]
    fn content(&self) -> PyResult<PyValType> {
        Ok(PyValType::new(self.ty.get()?.content().clone()))
    }

    #[getter]
    fn mutable(&self) -> PyResult<bool> {
        Ok(self.ty.get()?.mutability() == wasmtime::Mutability::Var)
    }

    fn __repr__(&self) -> PyResult<String> {
        let t = self.ty.get()?;
        Ok(format!("GlobalType({}, {})", PyValType::name(t.content()), if t.mutability() == wasmtime::Mutability::Var { "True" } else { "False" }))
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
