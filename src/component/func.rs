//! `Func`: a function exported by a component instance, called with Python values.

use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use wasmtime::component::{Type, Val};

use crate::component::no_constructor;
use crate::component::types::PyFuncType;
use crate::component::val::{self, Resources};
use crate::core::store;
use crate::errors::{HostError, wasmtime_error};

#[pyclass(frozen, module = "wasmtime.component", name = "Func")]
pub struct PyFunc {
    pub store_id: u64,
    /// The instance it belongs to (`PyInstance::id`).
    instance_id: u64,
    pub func: wasmtime::component::Func,
    /// Parameter and result types, looked up on the first call.
    sig: OnceLock<Sig>,
}

struct Sig {
    params: Vec<Type>,
    result: Option<Type>,
}

impl PyFunc {
    pub fn wrap(store_id: u64, instance_id: u64, func: wasmtime::component::Func) -> Self {
        PyFunc { store_id, instance_id, func, sig: OnceLock::new() }
    }
}

/// The exception of a failed component call: a host function's own exception, else
/// `WasmtimeError` (traps included, as wasmtime-py reports them for components).
pub fn call_error(err: wasmtime::Error) -> PyErr {
    if let Some(host) = err.downcast_ref::<HostError>() {
        return Python::attach(|py| host.0.clone_ref(py));
    }
    wasmtime_error(format!("{err:?}"))
}

#[pymethods]
impl PyFunc {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("Func"))
    }

    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyFuncType> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(PyFuncType { ty: store.with(py, |cx| self.func.ty(&cx))? })
    }

    /// Extension: an awaitable that makes the same call on a worker thread (see `Func.call_async`
    /// of the core API).
    #[pyo3(signature = (store, *params))]
    fn call_async<'py>(slf: &Bound<'py, Self>, store: &Bound<'py, PyAny>, params: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        crate::core::call_async(slf, store, params)
    }

    /// Calls the function with Python values; returns its result converted, or None.
    #[pyo3(signature = (store, *params))]
    fn __call__(&self, py: Python<'_>, store: &Bound<'_, PyAny>, params: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let sig = match self.sig.get() {
            Some(sig) => sig,
            None => {
                let ty = store.with(py, |cx| self.func.ty(&cx))?;
                self.sig.get_or_init(|| Sig { params: ty.params().map(|(_, t)| t).collect(), result: ty.results().next() })
            }
        };
        if params.len() != sig.params.len() {
            return Err(PyTypeError::new_err(format!("expected {} arguments, got {}", sig.params.len(), params.len())));
        }
        let mut resources = Resources::new(&store);
        let args = params.iter().zip(&sig.params).map(|(p, t)| val::to_val(&p, t, &mut resources)).collect::<PyResult<Vec<_>>>();
        let args = match args {
            Ok(args) => args,
            Err(e) => return Err(resources.undo(py, e)),
        };
        let mut results = vec![Val::Bool(false); usize::from(sig.result.is_some())];
        let func = self.func;
        let entered = store.shared().enter_component(py, self.instance_id);
        let outcome = entered.and_then(|_entered| store.run(py, move |mut cx| func.call(&mut cx, &args, &mut results).map(|()| results)));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => return Err(resources.undo(py, e)),
        };
        resources.finish(py)?;
        let results = outcome.map_err(call_error)?;
        match (&sig.result, results.first()) {
            (Some(t), Some(v)) => val::from_val(py, v, t, &mut Resources::new(&store)),
            _ => Ok(py.None()),
        }
    }

    /// Does nothing: wasmtime 48 runs the post-return step itself (kept for compatibility).
    fn post_return(&self, store: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = store::resolve(store)?;
        store.check(self.store_id)
    }
}
