//! `Func`: a handle to a wasm or host function of one store, and the call fast path.
//!
//! Calls with only numeric parameters and results convert Python values straight into a stack
//! buffer of `ValRaw` and use `call_unchecked`: no per-call type check, no allocation. The
//! kinds are cached on the handle at first use. Other signatures take the checked path inside a
//! `RootScope`, so externrefs passed in are unrooted again when the call returns. Both paths run
//! wasm with the GIL released (`StoreRef::run`).

use std::sync::{Arc, OnceLock};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use wasmtime::ValRaw;

use crate::core::host::{HostFn, Source};
use crate::core::store::{self, PyStore, StoreRef};
use crate::core::types::PyFuncType;
use crate::core::val::{self, Arg, Kind, Out};
use crate::errors::{type_error, wasmtime_error};

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

#[pyclass(frozen, weakref, module = "wasmtime", name = "Func")]
pub struct PyFunc {
    /// CPython's per-instance vectorcall entry (see [`enable_vectorcall`]).
    #[cfg(not(feature = "abi3"))]
    vectorcall: Option<ffi::vectorcallfunc>,
    pub store_id: u64,
    pub func: wasmtime::Func,
    sig: OnceLock<Arc<CallSig>>,
}

/// Most signatures fit this many slots: the buffer then lives on the stack.
const INLINE: usize = 16;

impl PyFunc {
    /// A handle whose type is loaded at first use.
    pub fn lazy(store_id: u64, func: wasmtime::Func) -> Self {
        PyFunc {
            #[cfg(not(feature = "abi3"))]
            vectorcall: Some(vectorcall),
            store_id,
            func,
            sig: OnceLock::new(),
        }
    }

    fn sig(&self, py: Python<'_>, store: &StoreRef<'_>) -> PyResult<&CallSig> {
        if let Some(sig) = self.sig.get() {
            return Ok(sig);
        }
        let ty = store.with(py, |cx| self.func.ty(&cx))?;
        Ok(self.sig.get_or_init(|| Arc::new(CallSig::new(ty))))
    }

    /// `func(store, *params)`, shared by `__call__` (tp_call) and the vectorcall entry.
    fn call(&self, py: Python<'_>, store: &Bound<'_, PyAny>, params: Params<'_, '_>) -> PyResult<Py<PyAny>> {
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
        if sig.raw { self.call_raw(py, &store, sig, params) } else { self.call_vals(py, &store, sig, params) }
    }

    fn call_raw(&self, py: Python<'_>, store: &StoreRef<'_>, sig: &CallSig, args: Params<'_, '_>) -> PyResult<Py<PyAny>> {
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
            buf[i] = val::to_raw(&args.get(py, i), *kind)?;
        }
        let func = self.func;
        let slots = SendSlice(buf as *mut [ValRaw]);
        store.call(py, move |cx| {
            let slots = slots;
            // SAFETY: the store owns `func` (checked by the caller), the buffer holds values of
            // exactly the parameter kinds and has room for every result.
            unsafe { func.call_unchecked(cx, slots.0) }
        })?;
        match sig.results.len() {
            0 => Ok(py.None()),
            1 => val::from_raw(py, &buf[0], sig.results[0]),
            n => {
                let items = (0..n).map(|i| val::from_raw(py, &buf[i], sig.results[i])).collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, items)?.into_any().unbind())
            }
        }
    }

    fn call_vals(&self, py: Python<'_>, store: &StoreRef<'_>, sig: &CallSig, args: Params<'_, '_>) -> PyResult<Py<PyAny>> {
        let id = store.id();
        let shared = store.shared();
        let args = sig
            .ty
            .params()
            .enumerate()
            .map(|(i, t)| Arg::from_py(py, &args.get(py, i), &t, shared))
            .collect::<PyResult<Vec<_>>>()?;
        let func = self.func;
        let n = sig.results.len();
        let outs = store
            .call(py, move |mut cx| -> wasmtime::Result<Vec<Out>> {
                let mut scope = wasmtime::RootScope::new(&mut cx);
                let vals = args.into_iter().map(|a| a.into_val(&mut scope)).collect::<wasmtime::Result<Vec<_>>>()?;
                let mut results = vec![wasmtime::Val::I32(0); n];
                func.call(&mut scope, &vals, &mut results)?;
                results.iter().map(|v| Out::from_val(&mut scope, v)).collect()
            })?;
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
    fn __call__(slf: &Bound<'_, Self>, store: &Bound<'_, PyAny>, params: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        #[cfg(not(feature = "abi3"))]
        enable_vectorcall(slf);
        slf.get().call(slf.py(), store, Params::Tuple(params))
    }

    /// Extension: an awaitable that makes the same call on a worker thread, leaving the event
    /// loop free; cancelling its task stops the wasm (see `wasmtime._async`).
    #[pyo3(signature = (store, *params))]
    fn call_async<'py>(slf: &Bound<'py, Self>, store: &Bound<'py, PyAny>, params: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        crate::core::call_async(slf, store, params)
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Func of store {}>", self.store_id)
    }
}

/// The parameters of a call: the tuple of `tp_call` or the argument vector of vectorcall.
#[derive(Clone, Copy)]
enum Params<'a, 'py> {
    Tuple(&'a Bound<'py, PyTuple>),
    Vector(&'a [*mut ffi::PyObject]),
}

impl<'a, 'py> Params<'a, 'py> {
    fn len(&self) -> usize {
        match self {
            Params::Tuple(t) => t.len(),
            Params::Vector(v) => v.len(),
        }
    }

    /// Parameter `i < len()`.
    fn get(&self, py: Python<'py>, i: usize) -> pyo3::Borrowed<'a, 'py, PyAny> {
        match self {
            // SAFETY: `i < len()`, checked by every caller through the arity check.
            Params::Tuple(t) => unsafe { t.get_borrowed_item_unchecked(i) },
            // SAFETY: CPython keeps the argument vector alive for the call; `i < len()`.
            Params::Vector(v) => unsafe { pyo3::Borrowed::from_ptr(py, v[i]) },
        }
    }
}

/// The vectorcall entry of `Func` objects: `func(store, *params)` without building a tuple
/// (~40 ns of a ~150 ns call).
#[cfg(not(feature = "abi3"))]
unsafe extern "C" fn vectorcall(
    callable: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: usize,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls vectorcall functions attached to the interpreter.
    let py = unsafe { Python::assume_attached() };
    let run = || -> PyResult<Py<PyAny>> {
        // SAFETY: `nargsf` comes from CPython's vectorcall protocol.
        let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf) } as usize;
        // SAFETY: `kwnames` is NULL or a tuple, per the protocol.
        if !kwnames.is_null() && unsafe { ffi::PyTuple_GET_SIZE(kwnames) } > 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err("Func call takes no keyword arguments"));
        }
        if nargs == 0 {
            return Err(pyo3::exceptions::PyTypeError::new_err("missing required argument 'store' (pos 1)"));
        }
        // SAFETY: `args` holds `nargs` live references for the duration of the call.
        let argv = unsafe { std::slice::from_raw_parts(args, nargs) };
        // SAFETY: this function is only installed on `Func` instances (see `enable_vectorcall`).
        let this = unsafe { pyo3::Borrowed::from_ptr(py, callable).cast_unchecked::<PyFunc>() };
        // SAFETY: `argv[0]` is a live reference (above).
        let store = unsafe { pyo3::Borrowed::from_ptr(py, argv[0]) };
        this.get().call(py, &store, Params::Vector(&argv[1..]))
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(obj)) => obj.into_ptr(),
        Ok(Err(e)) => {
            e.restore(py);
            std::ptr::null_mut()
        }
        Err(_) => {
            pyo3::panic::PanicException::new_err("panic in Func call").restore(py);
            std::ptr::null_mut()
        }
    }
}

/// Makes CPython call `Func` objects through [`vectorcall`]: sets the type's
/// `tp_vectorcall_offset` to where the `vectorcall` field sits inside the object, measured on the
/// first instance called through `tp_call` (PyO3 does not expose its object layout). Done lazily
/// rather than at import: probing needs a wasmtime `Func`, and creating the first engine installs
/// wasmtime's signal handlers, which must come after `faulthandler.enable()` in the usual order.
#[cfg(not(feature = "abi3"))]
fn enable_vectorcall(slf: &Bound<'_, PyFunc>) {
    static ENABLED: std::sync::Once = std::sync::Once::new();
    ENABLED.call_once(|| {
        let field = &slf.get().vectorcall as *const _ as usize;
        let offset = field - slf.as_ptr() as usize;
        let ty = slf.py().get_type::<PyFunc>();
        // SAFETY: the type object is ours and fully initialised; every `PyFunc` instance stores
        // a valid `vectorcallfunc` at `offset` (set in `PyFunc::lazy`, the only constructor), so
        // CPython may call through it. `PyType_Modified` invalidates cached lookups.
        unsafe {
            let tp = ty.as_type_ptr();
            (*tp).tp_vectorcall_offset = offset as ffi::Py_ssize_t;
            (*tp).tp_flags |= ffi::Py_TPFLAGS_HAVE_VECTORCALL;
            ffi::PyType_Modified(tp);
        }
    });
}
