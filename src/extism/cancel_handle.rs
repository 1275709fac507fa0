//! `ExtismCancelHandle` (behind `extism.CancelHandle`): stops a plugin's running call from any
//! thread. It shares only the plugin's cancel flag, so it stays safe to use after the plugin is
//! closed (upstream's handle points into the freed plugin).

use std::sync::Arc;

use pyo3::prelude::*;

use crate::extism::state::Interrupt;

#[pyclass(frozen, module = "wasmtime._native", name = "ExtismCancelHandle")]
pub struct PyExtismCancelHandle {
    interrupt: Arc<Interrupt>,
}

impl PyExtismCancelHandle {
    pub fn new(interrupt: Arc<Interrupt>) -> Self {
        PyExtismCancelHandle { interrupt }
    }
}

#[pymethods]
impl PyExtismCancelHandle {
    /// Stops the running call (it fails with "timeout"); does nothing while the plugin is idle.
    /// Always True, as in the reference.
    fn cancel(&self) -> bool {
        self.interrupt.cancel();
        true
    }
}
