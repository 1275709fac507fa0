//! `ExtismCaller` (behind `extism.CurrentPlugin`): what a Python host function gets to reach
//! the plugin that called it, and the trampoline that calls Python host functions.
//!
//! The handle points at the wasmtime `Caller` of the running host call, and only for as long as
//! that call runs, on its thread: afterwards (or from another thread) every method raises instead
//! of touching a store that moved on. Every access to the kernel memory is bounds-checked
//! (upstream hands out raw pointers). No Python code runs while the `Caller` is borrowed: reads
//! copy out first and build Python objects after.

use std::sync::atomic::{AtomicPtr, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use wasmtime::{Caller, Val, ValType};

use crate::core::thread_token;
use crate::errors::{HostError, extism_error, type_error};
use crate::extism::imports::with_kernel;
use crate::extism::state::PluginData;

#[pyclass(frozen, module = "wasmtime._native", name = "ExtismCaller")]
pub struct PyExtismCaller {
    /// The running host call's `Caller`; null once it returned.
    caller: AtomicPtr<Caller<'static, PluginData>>,
    /// The thread running that call.
    thread: u64,
    #[pyo3(get)]
    plugin_id: String,
}

impl PyExtismCaller {
    fn with<R>(&self, f: impl FnOnce(&mut Caller<'static, PluginData>) -> R) -> PyResult<R> {
        let ptr = self.caller.load(Ordering::Acquire);
        if ptr.is_null() || self.thread != thread_token() {
            return Err(extism_error("CurrentPlugin used outside of its host function call"));
        }
        // SAFETY: the pointer is non-null only while the host call that owns the `Caller` runs
        // on this thread (checked above), and that call is inside Python code now (the GIL is
        // held here), not using the `Caller`; `f` runs no Python code, so the borrow is unique.
        Ok(f(unsafe { &mut *ptr }))
    }
}

fn out_of_bounds(offset: u64, length: u64) -> PyErr {
    extism_error(format!("memory access out of bounds: offset {offset}, length {length}"))
}

#[pymethods]
impl PyExtismCaller {
    /// A new kernel block of `n` bytes: its offset, 0 for `n == 0` or when out of memory.
    fn alloc(&self, n: u64) -> PyResult<u64> {
        self.with(|c| with_kernel(c, |k| k.alloc(n)))
    }

    fn free(&self, offset: u64) -> PyResult<()> {
        self.with(|c| with_kernel(c, |k| k.free(offset)))
    }

    /// The length of the block at `offset`; 0 unless it is the start of an active block.
    fn length(&self, offset: u64) -> PyResult<u64> {
        self.with(|c| with_kernel(c, |k| k.length(offset)))
    }

    fn read<'py>(&self, py: Python<'py>, offset: u64, length: u64) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(|c| with_kernel(c, |k| k.slice(offset, length).map(<[u8]>::to_vec)))?;
        let bytes = bytes.ok_or_else(|| out_of_bounds(offset, length))?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn write(&self, offset: u64, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = crate::core::memory::bytes_of(data)?;
        let length = bytes.len() as u64;
        let ok = self.with(|c| {
            with_kernel(c, |k| match k.slice(offset, length) {
                Some(_) => k.write(offset, &bytes),
                None => false,
            })
        })?;
        if ok { Ok(()) } else { Err(out_of_bounds(offset, length)) }
    }

    /// The `host_context` passed to the running `call` (the same object), or None.
    fn host_context(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.with(|c| c.data().host_context.as_ref().map(|h| h.clone_ref(py)))
    }
}

/// Calls the Python host function `index` of the plugin's compiled manifest from wasm.
pub fn dispatch(
    caller: &mut Caller<'_, PluginData>,
    index: usize,
    params: &[Val],
    out: &mut [Val],
    results: &[ValType],
) -> wasmtime::Result<()> {
    Python::attach(|py| {
        let Some(f) = caller.data().compiled.function(py, index) else {
            return Err(HostError(extism_error("host function was cleared by the garbage collector")).into());
        };
        let args = PyList::empty(py);
        for p in params {
            let v = match p {
                Val::I32(v) => v.into_pyobject(py)?.into_any(),
                Val::I64(v) => v.into_pyobject(py)?.into_any(),
                Val::F32(v) => f32::from_bits(*v).into_pyobject(py)?.into_any(),
                Val::F64(v) => f64::from_bits(*v).into_pyobject(py)?.into_any(),
                _ => py.None().into_bound(py),
            };
            args.append(v).map_err(HostError)?;
        }
        let ptr = (caller as *mut Caller<'_, PluginData>).cast::<Caller<'static, PluginData>>();
        let handle = PyExtismCaller {
            caller: AtomicPtr::new(ptr),
            thread: thread_token(),
            plugin_id: caller.data().id.to_string(),
        };
        let handle = Bound::new(py, handle).map_err(HostError)?;
        let returned = f.call1(py, (handle.clone(), args));
        handle.get().caller.store(std::ptr::null_mut(), Ordering::Release);
        let returned = returned.map_err(HostError)?;
        convert(returned.bind(py), out, results).map_err(|e| HostError(e).into())
    })
}

/// Writes what a host function returned into wasm results of the declared types.
fn convert(returned: &Bound<'_, PyAny>, out: &mut [Val], results: &[ValType]) -> PyResult<()> {
    if results.is_empty() && returned.is_none() {
        return Ok(());
    }
    let values: Vec<Bound<'_, PyAny>> = returned
        .try_iter()
        .and_then(|it| it.collect())
        .map_err(|_| type_error(format!("a host function must return {} values, got {}", results.len(), returned.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?;
    if values.len() != results.len() {
        return Err(type_error(format!("a host function must return {} values, got {}", results.len(), values.len())));
    }
    for ((slot, ty), v) in out.iter_mut().zip(results).zip(values) {
        *slot = match ty {
            ValType::I32 => Val::I32(int_of(&v, 32)? as i32),
            ValType::I64 => Val::I64(int_of(&v, 64)? as i64),
            ValType::F32 => Val::F32((v.extract::<f64>()? as f32).to_bits()),
            _ => Val::F64(v.extract::<f64>()?.to_bits()),
        };
    }
    Ok(())
}

/// An integer that fits `bits` bits, signed or unsigned (so `0xffffffff` is a valid i32).
fn int_of(v: &Bound<'_, PyAny>, bits: u32) -> PyResult<i128> {
    let n: i128 = v.extract().map_err(|_| type_error(format!("expected an int result, got {}", v.get_type().name().map(|n| n.to_string()).unwrap_or_default())))?;
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    if n < min || n > max {
        return Err(pyo3::exceptions::PyOverflowError::new_err(format!("host function result {n} does not fit in i{bits}")));
    }
    Ok(n)
}
