//! The one mapping from failures to Python exceptions.
//!
//! Order of precedence when wasm or the runtime fails:
//! 1. a Python exception raised by a host function (or by a signal handler that ran while wasm
//!    was interrupted) travels through wasmtime inside a [`HostError`] and comes back out as the
//!    very same exception object;
//! 2. a WASI `proc_exit` becomes `ExitTrap` carrying the exit code;
//! 3. a wasm trap becomes `Trap`, with its `TrapCode` and wasm frames; an uncaught wasm
//!    exception becomes `WasmException` (a `Trap` carrying the tag and payload);
//! 4. anything else becomes `WasmtimeError`, rendered like wasmtime-py does (`{:?}`: the error
//!    chain plus the wasm backtrace).
//!
//! The exception classes themselves are plain Python (`wasmtime/_error.py`): they are shaped like
//! Python (subclassable, picklable, `Managed`), and Rust only instantiates them.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyType};

use crate::core::frame::PyFrame;

/// A Python exception carried through wasmtime as an error, so that the frame that entered wasm
/// can re-raise the original object.
#[derive(Debug)]
pub struct HostError(pub PyErr);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("python exception")
    }
}

impl std::error::Error for HostError {}

static WASMTIME_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static TRAP: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static EXIT_TRAP: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>, name: &str) -> Bound<'py, PyType> {
    class_in(py, cell, "wasmtime._error", name)
}

fn class_in<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>, module: &str, name: &str) -> Bound<'py, PyType> {
    match cell.import(py, module, name) {
        Ok(t) => t.clone(),
        // The package is broken if this happens; fall back to a plain exception type.
        Err(_) => py.get_type::<pyo3::exceptions::PyRuntimeError>(),
    }
}

/// `WasmtimeError(message)`.
pub fn wasmtime_error(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| match class(py, &WASMTIME_ERROR, "WasmtimeError").call1((msg,)) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    })
}

static EXTISM_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `extism.Error(msg)`: every failure the Extism API reports (the class is plain Python, in
/// `extism/extism.py`).
pub fn extism_error(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| match class_in(py, &EXTISM_ERROR, "extism.extism", "Error").call1((msg,)) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    })
}

/// `ValueError('already closed')`, for any use of a closed object.
pub fn closed() -> PyErr {
    PyValueError::new_err("already closed")
}

/// `TypeError(msg)`.
pub fn type_error(msg: impl Into<String>) -> PyErr {
    PyTypeError::new_err(msg.into())
}

/// The error of a failed wasmtime operation that did not run wasm (compile, grow, define...).
pub fn from_wasmtime(err: wasmtime::Error) -> PyErr {
    if let Some(host) = err.downcast_ref::<HostError>() {
        return Python::attach(|py| host.0.clone_ref(py));
    }
    wasmtime_error(format!("{err:?}"))
}

/// The error of an operation that ran wasm (call, instantiate): see the module docs.
pub fn from_call(err: wasmtime::Error) -> PyErr {
    Python::attach(|py| {
        if let Some(host) = err.downcast_ref::<HostError>() {
            return host.0.clone_ref(py);
        }
        if let Some(uncaught) = err.downcast_ref::<crate::core::exception::Uncaught>() {
            return crate::core::exception::to_python(py, uncaught).unwrap_or_else(|e| e);
        }
        let message = format!("{err:?}");
        if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
            let code = exit.0;
            return match class(py, &EXIT_TRAP, "ExitTrap").call1((message, code)) {
                Ok(e) => PyErr::from_value(e),
                Err(e) => e,
            };
        }
        let code = err.downcast_ref::<wasmtime::Trap>().map(|t| *t as u8);
        if code.is_none() && err.downcast_ref::<wasmtime::ThrownException>().is_none() {
            return wasmtime_error(message);
        }
        let trap = class(py, &TRAP, "Trap").call1((message,));
        trap.and_then(|t| {
            set_trap_details(&t, frames_of(&err), code)?;
            Ok(PyErr::from_value(t))
        })
        .unwrap_or_else(|e| e)
    })
}

/// The wasm frames of a failure's backtrace, innermost first.
pub fn frames_of(err: &wasmtime::Error) -> Vec<PyFrame> {
    err.downcast_ref::<wasmtime::WasmBacktrace>()
        .map(|bt| bt.frames().iter().map(PyFrame::from_info).collect())
        .unwrap_or_default()
}

/// Fills in what a `Trap` (or subclass) made from a wasm failure carries.
pub fn set_trap_details(trap: &Bound<'_, PyAny>, frames: Vec<PyFrame>, code: Option<u8>) -> PyResult<()> {
    let py = trap.py();
    let frames = frames.into_iter().map(|f| Py::new(py, f)).collect::<PyResult<Vec<_>>>()?;
    trap.setattr("_frames", PyList::new(py, frames)?)?;
    trap.setattr("_code", code)
}

/// Turns any `Display` error into a `WasmtimeError` (for `map_err`).
pub fn msg<E: std::fmt::Display>(e: E) -> PyErr {
    wasmtime_error(e.to_string())
}
