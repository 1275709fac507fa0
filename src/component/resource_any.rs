//! `ResourceAny`: a resource handle held by the host in a store's resource table: returned by a
//! component (`own` results), lent to a host function (`borrow` parameters), or made from a
//! `ResourceHost`.
//!
//! The handle is used up when ownership moves: passed as an `own` argument, turned into a
//! `ResourceHost` (`to_host`) or dropped (`drop`); any later use raises `ValueError`. A borrow
//! lent to a host function ends when that function returns (wasmtime requires it): the handle
//! is dropped then if the function did not.

use std::sync::Mutex;

use pyo3::prelude::*;
use wasmtime::component::ResourceAny;

use crate::component::func::call_error;
use crate::component::no_constructor;
use crate::component::resource_host::PyResourceHost;
use crate::component::resource_type::PyResourceType;
use crate::core::store;
use crate::errors;

#[pyclass(frozen, module = "wasmtime.component", name = "ResourceAny")]
pub struct PyResourceAny {
    pub store_id: u64,
    ty: wasmtime::component::ResourceType,
    owned: bool,
    /// The handle; `None` once used up.
    handle: Mutex<Option<ResourceAny>>,
}

impl PyResourceAny {
    pub fn new(store_id: u64, any: ResourceAny) -> Self {
        PyResourceAny { store_id, ty: any.ty(), owned: any.owned(), handle: Mutex::new(Some(any)) }
    }

    /// The handle, still in this object; `ValueError` if used up.
    pub fn get(&self) -> PyResult<ResourceAny> {
        self.handle.lock().map_err(|_| used_up())?.ok_or_else(used_up)
    }

    /// Takes the handle out (ownership moves elsewhere); `ValueError` if used up.
    pub fn take(&self) -> PyResult<ResourceAny> {
        self.handle.lock().map_err(|_| used_up())?.take().ok_or_else(used_up)
    }

    /// Puts back a handle taken by a conversion that then failed before any wasm ran.
    pub fn restore(&self, any: ResourceAny) {
        if let Ok(mut handle) = self.handle.lock() {
            *handle = Some(any);
        }
    }

    /// Whether the handle is still here.
    pub fn is_live(&self) -> bool {
        self.handle.lock().is_ok_and(|h| h.is_some())
    }
}

fn used_up() -> PyErr {
    pyo3::exceptions::PyValueError::new_err("resource handle already used up (moved into a call, dropped, converted, or a borrow that ended)")
}

#[pymethods]
impl PyResourceAny {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(no_constructor("ResourceAny"))
    }

    /// The resource's type: a host type (`ResourceType.host(n)`) or one a component defines.
    #[getter]
    fn r#type(&self) -> PyResourceType {
        PyResourceType { ty: self.ty }
    }

    /// Whether this is an `own` handle (else a `borrow`).
    #[getter]
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// Drops the handle; for an owned resource this runs its destructor (the guest's, or the
    /// host's `add_resource` destructor). Errors raise `WasmtimeError`.
    fn drop(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let any = self.take()?;
        store.run(py, move |cx| any.resource_drop(cx))?.map_err(call_error)
    }

    /// The host resource this handle stands for (which uses the handle up); a resource whose
    /// type a component defines raises `WasmtimeError`.
    fn to_host(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyResourceHost> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let any = self.get()?;
        let host = store.with(py, |cx| any.try_into_resource_dynamic(cx))?.map_err(errors::from_wasmtime)?;
        self.take()?;
        Ok(PyResourceHost { rep: host.rep(), r#type: host.ty(), owned: host.owned() })
    }

    fn __repr__(&self) -> String {
        let state = if self.is_live() { "" } else { ", used up" };
        format!("ResourceAny(owned={}{state})", if self.owned { "True" } else { "False" })
    }

    /// Lets go of the handle without dropping the resource (as wasmtime-py's `close`): the
    /// store keeps it until the store goes away. Later use raises `ValueError`.
    fn close(&self) {
        let _ = self.take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
