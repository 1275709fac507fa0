//! `Func`: a handle to a wasm or host function of one store, and the call fast path.
//!
//! Calls with only numeric parameters and results convert Python values straight into a stack
//! buffer of `ValRaw` and use `call_unchecked`: no per-call type check, no allocation. The
//! kinds are cached on the handle at first use. Other signatures take the checked path inside a
//! `RootScope`, so externrefs passed in are unrooted again when the call returns. Both paths run
//! wasm with the GIL released (`StoreRef::run`).

use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use wasmtime::ValRaw;

use crate::core::host::{HostFn, Source};
use crate::core::store::{self, PyStore, StoreRef};
use crate::core::types::PyFuncType;
use crate::core::val::{self, Arg, Kind, Out};
use crate::errors::{self, type_error, wasmtime_error};

/// What a call needs to know of the function's type.
pub struct CallSig {
    pub ty: wasmtime::FuncType,
    params: Box<[Kind]>,
    results: Box<[Kind]>,
    raw: bool,
}

impl CallSig {
    fn new(ty: wasmtime::FuncType) -> Self {
        let params: Box<[Kind]> = ty.params().map(|t| Kind::of(&t)).collect();
        let results: Box<[Kind]> = ty.results().map(|t| Kind::of(&t)).collect();
        let raw = params.iter().chain(results.iter()).all(|k| k.is_numeric());
        CallSig { ty, params, results, raw }
    }
}

#[pyclass(frozen, module = "wasmtime", name = "Func")]
pub struct PyFunc {
    pub store_id: u64,
    pub func: wasmtime::Func,
    sig: OnceLock<Arc<CallSig>>,
}

/// Most signatures fit this many slots: the buffer then lives on the stack.
const INLINE: usize = 16;

impl PyFunc {
    /// A handle whose type is loaded at first use.
    pub fn lazy(store_id: u64, func: wasmtime::Func) -> Self {
        PyFunc { store_id, func, sig: OnceLock::new() }
    }

    fn sig(&self, py: Python<'_>, store: &StoreRef<'_>) -> PyResult<Arc<CallSig>> {
        if let Some(sig) = self.sig.get() {
            return Ok(sig.clone());
        }
        let ty = store.with(py, |cx| self.func.ty(&cx))?;
        Ok(self.sig.get_or_init(|| Arc::new(CallSig::new(ty))).clone())
    }

    fn call_raw(&self, py: Python<'_>, store: &StoreRef<'_>, sig: &CallSig, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let len = sig.params.len().max(sig.results.len());
        let mut inline = [ValRaw::i32(0); INLINE];
        let mut heap;
        let buf: &mut [ValRaw] = if len <= INLINE {
            &mut inline[..len]
        } else {
            heap = vec![ValRaw::i32(0); len];
            &mut heap
        };
        for (i, kind) in sig.params.iter().enumerate() {
            // SAFETY: `i < args.len()` (the arity was checked by the caller).
            let arg = unsafe { args.get_borrowed_item_unchecked(i) };
            buf[i] = val::to_raw(&arg, *kind)?;
        }
        let func = self.func;
        let slots = SendSlice(buf as *mut [ValRaw]);
        let result = store.run(py, move |cx| {
            let slots = slots;
            // SAFETY: the store owns `func` (checked by the caller), the buffer holds values of
            // exactly the parameter kinds and has room for every result.
            unsafe { func.call_unchecked(cx, slots.0) }
        })?;
        result.map_err(errors::from_call)?;
        match sig.results.len() {
            0 => Ok(py.None()),
            1 => val::from_raw(py, &buf[0], sig.results[0]),
            n => {
                let items = (0..n).map(|i| val::from_raw(py, &buf[i], sig.results[i])).collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, items)?.into_any().unbind())
            }
        }
    }

    fn call_vals(&self, py: Python<'_>, store: &StoreRef<'_>, sig: &CallSig, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let id = store.id();
        let args = args
            .iter()
            .zip(sig.ty.params())
            .map(|(a, t)| Arg::from_py(py, &a, &t, id))
            .collect::<PyResult<Vec<_>>>()?;
        let func = self.func;
        let n = sig.results.len();
        let outs = store
            .run(py, move |mut cx| -> wasmtime::Result<Vec<Out>> {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let vals = args.into_iter().map(|a| a.into_val(&mut scope)).collect::<wasmtime::Result<Vec<_>>>()?;
                let mut results = vec![wasmtime::Val::I32(0); n];
                func.call(&mut scope, &vals, &mut results)?;
                results.iter().map(|v| Out::from_val(&mut scope, v)).collect()
            })?
            .map_err(errors::from_call)?;
        let mut values = outs.into_iter().map(|o| o.into_py(py, id)).collect::<PyResult<Vec<_>>>()?;
        match n {
            0 => Ok(py.None()),
            1 => Ok(values.remove(0)),
            _ => Ok(PyList::new(py, values)?.into_any().unbind()),
        }
    }
}

/// The call buffer, moved across `detach` to the same thread.
struct SendSlice(*mut [ValRaw]);
// SAFETY: the pointer is used only by the thread that created it, inside `detach`.
unsafe impl Send for SendSlice {}

#[pymethods]
impl PyFunc {
    /// A host function: `func` is called with Python values (and a `Caller` first if
    /// `access_caller`), and returns `None`, a value, or a sequence for several results.
    #[new]
    #[pyo3(signature = (store, ty, func, access_caller=false))]
    fn new(py: Python<'_>, store: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>, func: Py<PyAny>, access_caller: bool) -> PyResult<Self> {
        let store = store.cast::<PyStore>().map_err(|_| type_error("expected a Store"))?;
        let ty = ty.cast::<PyFuncType>().map_err(|_| type_error("expected a FuncType"))?;
        let shared = store.get().shared.clone();
        let ty = ty.get().to_wasmtime(&shared.engine.engine)?;
        let index = shared.objects(py, |o| {
            o.host_fns.push(Some(func));
            o.host_fns.len() - 1
        });
        let host = HostFn::new(Source::Store(index), ty, access_caller);
        let f = store.get().with(py, |cx| host.into_func(cx))?;
        Ok(PyFunc::lazy(shared.id, f))
    }

    /// The function's type.
    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyFuncType> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(PyFuncType::from_wasmtime(&self.sig(py, &store)?.ty))
    }

    /// Calls the function: `None` for no result, the value for one, a list for several.
    #[pyo3(signature = (store, *params))]
    fn __call__(&self, py: Python<'_>, store: &Bound<'_, PyAny>, params: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let sig = self.sig(py, &store)?;
        let (given, expected) = (params.len(), sig.params.len());
        if given != expected {
            let which = if given > expected { "many" } else { "few" };
            return Err(wasmtime_error(format!(
                "too {which} parameters provided: given {given}, expected {expected}"
            )));
        }
        if sig.raw { self.call_raw(py, &store, &sig, params) } else { self.call_vals(py, &store, &sig, params) }
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Func of store {}>", self.store_id)
    }
}
