//! `Caller` and `StoreContext`: the store as seen from inside a running host callback.
//!
//! Both are valid only while their callback runs; afterwards every use raises
//! `ValueError('caller is no longer valid')` (and `Caller.get` returns `None`). While valid they
//! resolve to the store's innermost running callback (see `store.rs`), which is where wasmtime
//! lent its mutable borrow.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;

use crate::core::instance::Handle;
use crate::core::store::Shared;
use crate::errors::wasmtime_error;

#[pyclass(frozen, module = "wasmtime", name = "Caller")]
pub struct PyCaller {
    shared: Arc<Shared>,
    depth: usize,
    valid: AtomicBool,
}

impl PyCaller {
    pub fn new(shared: Arc<Shared>, depth: usize) -> Self {
        PyCaller { shared, depth, valid: AtomicBool::new(true) }
    }

    pub fn invalidate(&self) {
        self.valid.store(false, Ordering::Relaxed);
    }

    pub fn shared(&self) -> PyResult<Arc<Shared>> {
        if self.valid.load(Ordering::Relaxed) {
            Ok(self.shared.clone())
        } else {
            Err(PyValueError::new_err("caller is no longer valid"))
        }
    }

    fn lookup(&self, py: Python<'_>, name: &str) -> PyResult<Option<Py<PyAny>>> {
        if !self.valid.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Some(caller) = self.shared.caller_at(py, self.depth) else {
            return Err(wasmtime_error(
                "this Caller is not the innermost running callback of its store; use the inner one",
            ));
        };
        // SAFETY: `caller_at` checked that this callback is running on this thread and is the
        // innermost one, so its `Caller` is live and nobody else uses it right now.
        let handle = unsafe {
            let caller = &mut *caller;
            caller.get_export(name).map(|e| Handle::new(&self.shared, e))
        };
        handle.map(|h| h.into_py(py)).transpose()
    }
}

#[pymethods]
impl PyCaller {
    /// The export `name` of the calling instance, or `None`.
    fn get(&self, py: Python<'_>, name: &str) -> PyResult<Option<Py<PyAny>>> {
        self.lookup(py, name)
    }

    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        self.lookup(py, name)?.ok_or_else(|| PyKeyError::new_err(format!("failed to find export {name}")))
    }
}

/// The store handed to component host functions and resource destructors.
#[pyclass(frozen, module = "wasmtime", name = "StoreContext")]
pub struct PyStoreContext {
    shared: Arc<Shared>,
    valid: AtomicBool,
}

impl PyStoreContext {
    pub fn new(shared: Arc<Shared>) -> Self {
        PyStoreContext { shared, valid: AtomicBool::new(true) }
    }

    pub fn invalidate(&self) {
        self.valid.store(false, Ordering::Relaxed);
    }

    pub fn shared(&self) -> PyResult<Arc<Shared>> {
        if self.valid.load(Ordering::Relaxed) {
            Ok(self.shared.clone())
        } else {
            Err(PyValueError::new_err("caller is no longer valid"))
        }
    }
}
