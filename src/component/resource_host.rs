//! `ResourceHost`: a resource the host defines, as a plain value: its `rep` (the host's own
//! number for the object), its type number (`ResourceType.host(n)`) and whether it is owned.
//!
//! It holds no store state, so it can be passed any number of times: each time it enters a
//! store it becomes a fresh `ResourceAny` there (see `val::Resources`).

use pyo3::prelude::*;
use wasmtime::component::{ResourceAny, ResourceDynamic};

use crate::component::no_constructor;
use crate::component::resource_any::PyResourceAny;
use crate::core::store;
use crate::errors;

#[pyclass(frozen, module = "wasmtime.component", name = "ResourceHost")]
pub struct PyResourceHost {
    #[pyo3(get)]
    pub rep: u32,
    /// The host type number: `ResourceType.host(type)` is its type.
    #[pyo3(get)]
    pub r#type: u32,
    #[pyo3(get)]
    pub owned: bool,
}

impl PyResourceHost {
    /// This resource as an owned `ResourceAny` of the store: a new entry in its host table,
    /// with no destructor (the host owns what `rep` stands for).
    ///
    /// Arguments always enter this way, borrows included: a borrow needs a running call to
    /// borrow for, and a guest sees the same borrow whether the host lends it from an owned
    /// entry or not.
    pub fn lower(&self, cx: wasmtime::StoreContextMut<'_, store::StoreData>) -> wasmtime::Result<ResourceAny> {
        ResourceDynamic::new_own(self.rep, self.r#type).try_into_resource_any(cx)
    }
}

#[pymethods]
impl PyResourceHost {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(no_constructor("ResourceHost"))
    }

    /// An owned resource numbered `rep` of host type `ty`.
    #[staticmethod]
    fn own(rep: u32, ty: u32) -> Self {
        PyResourceHost { rep, r#type: ty, owned: true }
    }

    /// A borrowed resource numbered `rep` of host type `ty`.
    #[staticmethod]
    fn borrow(rep: u32, ty: u32) -> Self {
        PyResourceHost { rep, r#type: ty, owned: false }
    }

    /// This resource as a `ResourceAny` of `store`. A borrow can only become one inside a
    /// component's call to a host function, and must be dropped before that function returns.
    fn to_any(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyResourceAny> {
        let store = store::resolve(store)?;
        if !self.owned && !store.shared().in_component_callback(py) {
            return Err(errors::wasmtime_error("a borrowed ResourceHost can only become a ResourceAny inside a host function called by a component"));
        }
        let resource = if self.owned { ResourceDynamic::new_own(self.rep, self.r#type) } else { ResourceDynamic::new_borrow(self.rep, self.r#type) };
        let any = store.with(py, |cx| resource.try_into_resource_any(cx))?.map_err(errors::from_wasmtime)?;
        Ok(PyResourceAny::new(store.id(), any))
    }

    fn __repr__(&self) -> String {
        format!("ResourceHost(rep={}, type={}, owned={})", self.rep, self.r#type, if self.owned { "True" } else { "False" })
    }

    fn close(&self) {}

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {}
}
