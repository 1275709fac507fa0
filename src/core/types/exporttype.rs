//! `ExportType`: name and type of a module's export.

use pyo3::prelude::*;

use crate::core::Closable;

#[pyclass(frozen, module = "wasmtime", name = "ExportType")]
pub struct PyExportType {
    export: Closable<(String, wasmtime::ExternType)>,
}

impl PyExportType {
    pub fn new(name: &str, ty: wasmtime::ExternType) -> Self {
        PyExportType { export: Closable::new((name.into(), ty)) }
    }
}

#[pymethods]
impl PyExportType {
    #[getter]
    fn name(&self) -> PyResult<String> {
        Ok(self.export.get()?.0)
    }

    #[getter]
    fn r#type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::core::types::extern_type(py, &self.export.get()?.1)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("ExportType({:?})", self.export.get()?.0))
    }

    fn close(&self) {
        self.export.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
