//! Host functions: Python callables that wasm calls.
//!
//! The closure wasmtime owns holds a [`HostFn`]: the signature and where to find the callable,
//! never the callable itself, so that the Python GC sees every reference (the store reports its
//! callables from `__traverse__`). A call re-attaches to Python, pushes the `Caller` on the
//! store's callback stack (so Python code may use the store re-entrantly, see `store.rs`), calls,
//! and converts the result. A Python exception travels back through wasm as a [`HostError`]
//! and is re-raised, as the same object, by whoever entered wasm. Panics become traps.

use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use pyo3::ffi;
use pyo3::prelude::*;
use wasmtime::{Caller, ValRaw};

use crate::core::caller::PyCaller;
use crate::core::exception;
use crate::core::store::{CallerScope, Shared, StoreData};
use crate::core::val::{self, Arg, Kind, Out};
use crate::errors::{HostError, wasmtime_error};

/// Where a host function's callable lives.
pub enum Source {
    /// `Objects::host_fns[index]` of the store the function belongs to.
    Store(usize),
    /// `Objects::linked[key]` of the calling store: a `Linker.define_func` function, usable
    /// from every store the linker hands it to.
    Linker(u64),
}

pub struct HostFn {
    pub source: Source,
    pub ty: wasmtime::FuncType,
    pub params: Box<[Kind]>,
    pub results: Box<[Kind]>,
    pub access_caller: bool,
}

impl HostFn {
    pub fn new(source: Source, ty: wasmtime::FuncType, access_caller: bool) -> Self {
        let params = ty.params().map(|t| Kind::of(&t)).collect();
        let results = ty.results().map(|t| Kind::of(&t)).collect();
        HostFn { source, ty, params, results, access_caller }
    }

    fn is_raw(&self) -> bool {
        self.params.iter().chain(self.results.iter()).all(|k| k.is_numeric())
    }

    fn callable(&self, py: Python<'_>, shared: &Shared) -> PyResult<Py<PyAny>> {
        match self.source {
            Source::Store(index) => shared.host_fn(py, index),
            Source::Linker(key) => shared.linked_fn(py, key),
        }
        .ok_or_else(|| wasmtime_error("host function was cleared by the garbage collector"))
    }

    /// Creates the wasmtime function in `cx`'s store.
    pub fn into_func(self, cx: impl wasmtime::AsContextMut<Data = StoreData>) -> wasmtime::Func {
        let ty = self.ty.clone();
        let host = Arc::new(self);
        if host.is_raw() {
            // SAFETY: `call_raw` reads exactly `params.len()` values of the kinds of `ty` and
            // writes `results.len()` values of the result kinds, as `new_unchecked` requires.
            unsafe { wasmtime::Func::new_unchecked(cx, ty, move |caller, raw| guard(|| call_raw(caller, &host, raw))) }
        } else {
            wasmtime::Func::new(cx, ty, move |caller, params, results| guard(|| call_vals(caller, &host, params, results)))
        }
    }
}

impl HostFn {
    /// Defines the function in `linker` as `module::name`, for every store.
    pub fn define_in(self, linker: &mut wasmtime::Linker<StoreData>, module: &str, name: &str) -> wasmtime::Result<()> {
        let ty = self.ty.clone();
        let host = Arc::new(self);
        if host.is_raw() {
            // SAFETY: as in `into_func`.
            unsafe { linker.func_new_unchecked(module, name, ty, move |caller, raw| guard(|| call_raw(caller, &host, raw)))? };
        } else {
            linker.func_new(module, name, ty, move |caller, params, results| guard(|| call_vals(caller, &host, params, results)))?;
        }
        Ok(())
    }
}

fn guard(f: impl FnOnce() -> wasmtime::Result<()>) -> wasmtime::Result<()> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| Err(wasmtime::Error::msg("host function panicked")))
}

/// Calls the callable with `args` (a free first slot, then the parameters) while the callback
/// is registered on the store. The first slot gets a `Caller` if the function asked for one.
fn invoke<'py>(
    py: Python<'py>,
    host: &HostFn,
    shared: &Arc<Shared>,
    caller: &mut Caller<'_, StoreData>,
    args: &mut [*mut ffi::PyObject],
) -> PyResult<Bound<'py, PyAny>> {
    let callable = host.callable(py, shared)?;
    // SAFETY: `caller` outlives the scope and is not used by us until the scope is dropped.
    let scope = unsafe { CallerScope::enter(py, shared, caller) };
    let pycaller = match host.access_caller {
        true => Some(Bound::new(py, PyCaller::new(shared.clone(), scope.depth()))?),
        false => None,
    };
    let argv = match &pycaller {
        Some(c) => {
            args[0] = c.as_ptr();
            &args[..]
        }
        None => &args[1..],
    };
    // SAFETY: `argv` holds live references owned by our caller (and `pycaller`) for the whole
    // call; vectorcall borrows them. The result is a new reference or NULL with an exception set.
    let result = unsafe {
        let r = ffi::PyObject_Vectorcall(callable.as_ptr(), argv.as_ptr(), argv.len(), std::ptr::null_mut());
        Bound::from_owned_ptr_or_err(py, r)
    };
    if let Some(c) = pycaller {
        c.get().invalidate();
    }
    drop(scope);
    result
}

/// Checks the callable's result against the number of results; calls `f(i, value)` for each.
fn split_results<'py>(host: &HostFn, result: &Bound<'py, PyAny>, mut f: impl FnMut(usize, &Bound<'py, PyAny>) -> PyResult<()>) -> PyResult<()> {
    match host.results.len() {
        0 if result.is_none() => Ok(()),
        0 => Err(wasmtime_error("callback produced results when it shouldn't")),
        1 => f(0, result),
        n => {
            if result.len()? != n {
                return Err(wasmtime_error("callback produced wrong number of results"));
            }
            (0..n).try_for_each(|i| f(i, &result.get_item(i)?))
        }
    }
}

/// The error a host function's Python exception becomes in wasm: a thrown wasm exception for a
/// `WasmException`, else the exception itself, carried to whoever entered wasm.
fn raise(py: Python<'_>, err: PyErr, caller: &mut Caller<'_, StoreData>) -> wasmtime::Error {
    exception::throw(py, &err, caller).unwrap_or_else(|| HostError(err).into())
}

fn call_raw(mut caller: Caller<'_, StoreData>, host: &HostFn, raw: &mut [MaybeUninit<ValRaw>]) -> wasmtime::Result<()> {
    Python::attach(|py| {
        let shared = caller.data().shared.clone();
        let mut run = || -> PyResult<()> {
            let args = host
                .params
                .iter()
                .zip(raw.iter())
                // SAFETY: wasmtime initialised the first `params.len()` slots with the params.
                .map(|(k, v)| val::from_raw(py, unsafe { v.assume_init_ref() }, *k))
                .collect::<PyResult<Vec<_>>>()?;
            let mut argv = Vec::with_capacity(args.len() + 1);
            argv.push(std::ptr::null_mut());
            argv.extend(args.iter().map(|a| a.as_ptr()));
            let result = invoke(py, host, &shared, &mut caller, &mut argv)?;
            split_results(host, &result, |i, obj| {
                raw[i] = MaybeUninit::new(val::to_raw(obj, host.results[i])?);
                Ok(())
            })
        };
        run().map_err(|e| raise(py, e, &mut caller))
    })
}

fn call_vals(
    mut caller: Caller<'_, StoreData>,
    host: &HostFn,
    params: &[wasmtime::Val],
    results: &mut [wasmtime::Val],
) -> wasmtime::Result<()> {
    let outs = params.iter().map(|p| Out::from_val(&mut caller, p)).collect::<wasmtime::Result<Vec<_>>>()?;
    Python::attach(|py| {
        let shared = caller.data().shared.clone();
        let run = || -> PyResult<Vec<Arg>> {
            let args = outs.into_iter().map(|o| o.into_py(py, shared.id)).collect::<PyResult<Vec<_>>>()?;
            let mut argv = Vec::with_capacity(args.len() + 1);
            argv.push(std::ptr::null_mut());
            argv.extend(args.iter().map(|a| a.as_ptr()));
            let result = invoke(py, host, &shared, &mut caller, &mut argv)?;
            let types: Vec<_> = host.ty.results().collect();
            let mut converted = Vec::with_capacity(types.len());
            split_results(host, &result, |i, obj| {
                converted.push(Arg::from_py(py, obj, &types[i], &shared)?);
                Ok(())
            })?;
            Ok(converted)
        };
        let args = run().map_err(|e| raise(py, e, &mut caller))?;
        for (slot, arg) in results.iter_mut().zip(args) {
            *slot = arg.into_val(&mut caller)?;
        }
        Ok(())
    })
}
