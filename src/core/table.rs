//! `Table`: a table of references of one store.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyInt;

use crate::core::store::{self, StoreRef};
use crate::core::types::PyTableType;
use crate::core::val::{Arg, Out};
use crate::errors::{self, wasmtime_error};

#[pyclass(frozen, module = "wasmtime", name = "Table")]
pub struct PyTable {
    pub store_id: u64,
    pub table: wasmtime::Table,
}

impl PyTable {
    pub fn new(store_id: u64, table: wasmtime::Table) -> Self {
        PyTable { store_id, table }
    }

    fn store<'py>(&self, store: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(store)
    }

    fn element(&self, py: Python<'_>, store: &StoreRef<'_>) -> PyResult<wasmtime::ValType> {
        Ok(wasmtime::ValType::Ref(store.with(py, |cx| self.table.ty(&cx).element().clone())?))
    }
}

fn index(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("expected an integer"));
    }
    obj.extract()
}

#[pymethods]
impl PyTable {
    #[new]
    fn construct(py: Python<'_>, store: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>, init: &Bound<'_, PyAny>) -> PyResult<Self> {
        let store = store::resolve(store)?;
        let ty = PyTableType::extract(ty)?;
        let arg = Arg::from_py(py, init, &wasmtime::ValType::Ref(ty.element().clone()), store.shared())?;
        let table = store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let init = arg.into_ref(&mut scope)?;
                wasmtime::Table::new(&mut scope, ty, init)
            })?
            .map_err(errors::from_wasmtime)?;
        Ok(PyTable::new(store.id(), table))
    }

    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyTableType> {
        let store = self.store(store)?;
        Ok(PyTableType::from_wasmtime(store.with(py, |cx| self.table.ty(&cx))?))
    }

    fn size(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<u64> {
        let store = self.store(store)?;
        store.with(py, |cx| self.table.size(&cx))
    }

    /// Grows by `amt` elements set to `init`; returns the previous size.
    fn grow(&self, py: Python<'_>, store: &Bound<'_, PyAny>, amt: &Bound<'_, PyAny>, init: &Bound<'_, PyAny>) -> PyResult<u64> {
        let amt = index(amt)?;
        let store = self.store(store)?;
        let arg = Arg::from_py(py, init, &self.element(py, &store)?, store.shared())?;
        store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let init = arg.into_ref(&mut scope)?;
                self.table.grow(&mut scope, amt, init)
            })?
            .map_err(errors::from_wasmtime)
    }

    /// The element at `idx` (a `Func`, the externref's object, or `None`); `None` out of bounds.
    fn get(&self, py: Python<'_>, store: &Bound<'_, PyAny>, idx: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let idx = index(idx)?;
        let store = self.store(store)?;
        let out = store
            .with(py, |mut cx| -> wasmtime::Result<Option<Out>> {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                match self.table.get(&mut scope, idx) {
                    Some(r) => Out::from_ref(&mut scope, &r).map(Some),
                    None => Ok(None),
                }
            })?
            .map_err(errors::from_wasmtime)?;
        match out {
            Some(out) => out.into_py(py, self.store_id),
            None => Ok(py.None()),
        }
    }

    fn set(&self, py: Python<'_>, store: &Bound<'_, PyAny>, idx: &Bound<'_, PyAny>, val: &Bound<'_, PyAny>) -> PyResult<()> {
        let idx = index(idx)?;
        let store = self.store(store)?;
        let arg = Arg::from_py(py, val, &self.element(py, &store)?, store.shared())?;
        store
            .with(py, |mut cx| {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let v = arg.into_ref(&mut scope)?;
                self.table.set(&mut scope, idx, v)
            })?
            .map_err(|e| wasmtime_error(format!("{e:?}")))
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Table of store {}>", self.store_id)
    }
}
