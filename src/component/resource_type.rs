//! `ResourceType`: the type of a resource, defined by the host (`ResourceType.host(n)`) or by
//! a component (found by type reflection).

use pyo3::prelude::*;

use crate::component::no_constructor;

#[pyclass(frozen, module = "wasmtime.component", name = "ResourceType")]
pub struct PyResourceType {
    pub ty: wasmtime::component::ResourceType,
}

#[pymethods]
impl PyResourceType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("ResourceType"))
    }

    /// The host-defined resource type numbered `n`: the same `n` gives the same type.
    #[staticmethod]
    fn host(n: u32) -> Self {
        PyResourceType { ty: wasmtime::component::ResourceType::host_dynamic(n) }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyResourceType>().is_ok_and(|o| o.get().ty == self.ty)
    }

    fn close(&self) {}

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {}
}
