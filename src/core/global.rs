//! `Global`: a global variable of one store.

use pyo3::prelude::*;

use crate::core::store::{self, StoreRef};
use crate::core::types::PyGlobalType;
use crate::core::val::{Arg, Out};
use crate::errors::{self, wasmtime_error};

#[pyclass(frozen, module = "wasmtime", name = "Global")]
pub struct PyGlobal {
    pub store_id: u64,
    pub global: wasmtime::Global,
}

impl PyGlobal {
    pub fn new(store_id: u64, global: wasmtime::Global) -> Self {
        PyGlobal { store_id, global }
    }

    fn store<'py>(&self, store: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(store)
    }
}

#[pymethods]
impl PyGlobal {
    #[new]
    fn construct(py: Python<'_>, store: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>, val: &Bound<'_, PyAny>) -> PyResult<Self> {
        let store = store::resolve(store)?;
        let ty = PyGlobalType::extract(ty)?;
        let arg = Arg::from_py(py, val, ty.content(), store.shared())?;
        let global = store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let v = arg.into_val(&mut scope)?;
                wasmtime::Global::new(&mut scope, ty, v)
            })?
            .map_err(errors::from_wasmtime)?;
        Ok(PyGlobal::new(store.id(), global))
    }

    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyGlobalType> {
        let store = self.store(store)?;
        Ok(PyGlobalType::from_wasmtime(store.with(py, |cx| self.global.ty(&cx))?))
    }

    /// The current value as a Python value.
    fn value(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let store = self.store(store)?;
        let out = store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let v = self.global.get(&mut scope);
                Out::from_val(&mut scope, &v)
            })?
            .map_err(errors::from_wasmtime)?;
        out.into_py(py, self.store_id)
    }

    /// Sets the value; an immutable global raises `WasmtimeError`.
    fn set_value(&self, py: Python<'_>, store: &Bound<'_, PyAny>, val: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = self.store(store)?;
        let ty = store.with(py, |cx| self.global.ty(&cx))?;
        if ty.mutability() == wasmtime::Mutability::Const {
            return Err(wasmtime_error("global is immutable and cannot be set"));
        }
        let arg = Arg::from_py(py, val, ty.content(), store.shared())?;
        store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let v = arg.into_val(&mut scope)?;
                self.global.set(&mut scope, v)
            })?
            .map_err(errors::from_wasmtime)
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Global of store {}>", self.store_id)
    }
}
