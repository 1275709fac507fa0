//! The core wasm API of `wasmtime`: one file per Python class, plus the helpers they share.

pub mod caller;
pub mod cancel_scope;
pub mod config;
pub mod engine;
pub mod exception;
pub mod frame;
pub mod func;
pub mod global;
pub mod host;
pub mod instance;
pub mod instance_pre;
pub mod linker;
pub mod memory;
pub mod module;
pub mod shared_memory;
pub mod store;
pub mod table;
pub mod tag;
pub mod types;
pub mod val;

use std::cell::UnsafeCell;
use std::sync::RwLock;

use pyo3::prelude::*;

use crate::errors;

/// The state of a `Managed` object: `close()` drops what it owns, and every later use raises
/// `ValueError('already closed')`. The payloads are cheap handles (`Arc`s inside wasmtime), so
/// readers clone them out instead of holding the lock.
pub struct Closable<T>(RwLock<Option<T>>);

impl<T: Clone> Closable<T> {
    pub fn new(value: T) -> Self {
        Closable(RwLock::new(Some(value)))
    }

    /// The payload, or `ValueError('already closed')`.
    pub fn get(&self) -> PyResult<T> {
        self.0.read().ok().and_then(|v| v.clone()).ok_or_else(errors::closed)
    }

    /// Takes the payload out (for calls that consume their argument, like `Engine(config)`).
    pub fn take(&self) -> PyResult<T> {
        self.0.write().ok().and_then(|mut v| v.take()).ok_or_else(errors::closed)
    }

    pub fn close(&self) {
        // Drop the payload outside the lock: its destructor may run arbitrary code.
        let old = self.0.write().ok().and_then(|mut v| v.take());
        drop(old);
    }
}

/// A cell whose contents are only touched while attached to the Python interpreter: the GIL is
/// the lock (the module declares `gil_used = true`). Callers never keep the reference across code
/// that can run Python (calls, allocations that may trigger a GC finalizer), so no two
/// references are live at once.
pub struct GilCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through `get`, which demands a `Python` token, so accesses are
// serialized by the GIL.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(value))
    }

    /// # Safety
    /// The caller holds the GIL (`_py`) and drops the reference before running any code that can
    /// re-enter Python or reach this cell again.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self, _py: Python<'_>) -> &mut T {
        // SAFETY: see the method contract.
        unsafe { &mut *self.0.get() }
    }

    /// The raw contents, for GC slots (`tp_traverse`), which hold the GIL but get no token.
    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// `f.call_async(store, *params)`: the coroutine of `wasmtime._async.call(f, store, *params)`.
pub fn call_async<'py>(f: &Bound<'py, PyAny>, store: &Bound<'py, PyAny>, params: &Bound<'py, pyo3::types::PyTuple>) -> PyResult<Bound<'py, PyAny>> {
    let py = f.py();
    let args: Vec<Bound<'py, PyAny>> = [f.clone(), store.clone()].into_iter().chain(params.iter()).collect();
    let args = pyo3::types::PyTuple::new(py, args)?;
    py.import("wasmtime._async")?.getattr("call")?.call1(args)
}

/// A small id unique to the current OS thread (never 0), to tell which thread runs a store.
pub fn thread_token() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}

#[cfg(test)]
mod tests {
    use super::thread_token;

    #[test]
    fn thread_tokens_are_stable_and_distinct() {
        let here = thread_token();
        assert_ne!(here, 0);
        assert_eq!(here, thread_token());
        let there = std::thread::spawn(thread_token).join().unwrap();
        assert_ne!(here, there);
    }
}
