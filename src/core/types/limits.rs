//! `Limits`: the minimum and optional maximum of a table or memory (a plain value).

use pyo3::prelude::*;

#[pyclass(module = "wasmtime", name = "Limits", eq)]
#[derive(PartialEq, Clone)]
pub struct PyLimits {
    #[pyo3(get, set)]
    pub min: i128,
    #[pyo3(get, set)]
    pub max: Option<i128>,
}

#[pymethods]
impl PyLimits {
    #[new]
    #[pyo3(signature = (min, max=None))]
    fn new(min: i128, max: Option<i128>) -> Self {
        PyLimits { min, max }
    }

    fn __repr__(&self) -> String {
        match self.max {
            Some(m) => format!("Limits({}, {})", self.min, m),
            None => format!("Limits({}, None)", self.min),
        }
    }
}

impl PyLimits {
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<PyLimits> {
        Ok(obj.cast::<PyLimits>().map_err(|_| crate::errors::type_error("expected Limits"))?.borrow().clone())
    }
}
