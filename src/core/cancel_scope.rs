//! `CancelScope` (private, behind `call_async`): cancellation of the wasm one thread runs.
//!
//! asyncio runs a call on a worker thread and, when its task is cancelled, must stop exactly
//! that call: not an earlier one that already ended, not the next one on the same store. A
//! store-wide "interrupt" flag cannot tell those apart (a cancel racing with the end of a call
//! would hit the next one). So cancellation belongs to a scope object made for one call: the
//! worker thread enters the scope for the duration of the call, and the epoch deadline
//! callbacks (`core/store.rs`, `extism/state.rs`), which run on the thread running wasm, ask
//! [`requested`] whether any scope that thread is in was cancelled. A scope cancelled before
//! the call starts stops it before any wasm runs.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::wasmtime_error;

thread_local! {
    /// The scopes this thread is in, innermost last.
    static ACTIVE: RefCell<Vec<Arc<AtomicBool>>> = const { RefCell::new(Vec::new()) };
}

/// Whether wasm running on this thread should stop: a scope it runs in was cancelled.
pub fn requested() -> bool {
    ACTIVE.with(|active| active.borrow().iter().any(|flag| flag.load(Ordering::SeqCst)))
}

#[pyclass(frozen, module = "wasmtime._native", name = "CancelScope")]
pub struct PyCancelScope {
    flag: Arc<AtomicBool>,
}

/// Leaves the scope however the call ends.
struct Entered;

impl Drop for Entered {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().pop());
    }
}

#[pymethods]
impl PyCancelScope {
    #[new]
    fn new() -> Self {
        PyCancelScope { flag: Arc::new(AtomicBool::new(false)) }
    }

    /// Calls `f(*args, **kwargs)` inside the scope: wasm it runs on this thread stops (with an
    /// interrupt trap) at the next epoch tick after `cancel()`. Raises `WasmtimeError` without
    /// calling `f` if the scope was cancelled already.
    #[pyo3(signature = (f, *args, **kwargs))]
    fn run<'py>(&self, f: &Bound<'py, PyAny>, args: &Bound<'py, PyTuple>, kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
        ACTIVE.with(|active| active.borrow_mut().push(self.flag.clone()));
        let _entered = Entered;
        if self.flag.load(Ordering::SeqCst) {
            return Err(wasmtime_error("call cancelled before it started"));
        }
        f.call(args, kwargs)
    }

    /// Stops the call running in this scope (idempotent; callable from any thread).
    fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    #[getter]
    fn cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}
