//! `ImportType`: module, name and type of a module's import.

use pyo3::prelude::*;

use crate::core::Closable;

#[derive(Clone)]
struct Import {
    module: String,
    name: String,
    ty: wasmtime::ExternType,
}

#[pyclass(frozen, module = "wasmtime", name = "ImportType")]
pub struct PyImportType {
    import: Closable<Import>,
}

impl PyImportType {
    pub fn new(module: &str, name: &str, ty: wasmtime::ExternType) -> Self {
        PyImportType { import: Closable::new(Import { module: module.into(), name: name.into(), ty }) }
    }
}

#[pymethods]
impl PyImportType {
    #[getter]
    fn module(&self) -> PyResult<String> {
        Ok(self.import.get()?.module)
    }

    #[getter]
    fn name(&self) -> PyResult<Option<String>> {
        Ok(Some(self.import.get()?.name))
    }

    #[getter]
    fn r#type(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::core::types::extern_type(py, &self.import.get()?.ty)
    }

    fn __repr__(&self) -> PyResult<String> {
        let i = self.import.get()?;
        Ok(format!("ImportType({:?}, {:?})", i.module, i.name))
    }

    fn close(&self) {
        self.import.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
