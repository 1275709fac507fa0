//! `Linker` and `LinkerInstance` of the component model.
//!
//! A `LinkerInstance` is a *path* of instance names, not a borrow of the wasmtime linker: each
//! definition re-walks `root().into_instance(..)` (wasmtime 48 re-opens existing instances).
//! wasmtime-py 46's rules are kept on top: `root()` locks the linker and a child instance locks
//! its parent until closed, and adding an instance name twice is an error.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use wasmtime::component::{LinkerInstance, Type, Val};

use crate::component::component::PyComponent;
use crate::component::func::call_error;
use crate::component::instance::PyInstance;
use crate::component::no_constructor;
use crate::component::resource_type::PyResourceType;
use crate::component::val::{self, Resources};
use crate::core::caller::PyStoreContext;
use crate::core::engine::{EngineState, PyEngine};
use crate::core::linker::{CROSS_ENGINE_STORE, NEXT_FUNC_KEY};
use crate::core::module::PyModule;
use crate::core::store::{self, CallerScope, StoreData};
use crate::errors::{self, HostError, wasmtime_error};

struct State {
    linker: wasmtime::component::Linker<StoreData>,
    /// The callables of `add_func` and `add_resource`, by key (see `Objects::linked`).
    funcs: Vec<(u64, Py<PyAny>)>,
    /// Instance paths defined so far (wasmtime-py 46 refuses a second `add_instance`).
    instances: HashSet<Vec<String>>,
    /// A `root()` instance is open.
    locked: bool,
    /// `add_wasip2` / `add_wasi_http` were called: instantiation then checks the store has
    /// the contexts those imports need.
    wasi: bool,
    wasi_http: bool,
}

#[pyclass(frozen, module = "wasmtime.component", name = "Linker")]
pub struct PyLinker {
    state: Mutex<Option<State>>,
    engine_state: Arc<EngineState>,
    #[pyo3(get)]
    engine: Py<PyEngine>,
}

const LINKER_IN_USE: &str = "cannot use linker while it's in use by other instances";

impl PyLinker {
    /// Runs `f` on the open, unlocked state; `f` must not run Python code or wasm.
    fn state<R>(&self, f: impl FnOnce(&mut State) -> PyResult<R>) -> PyResult<R> {
        let mut guard = self.state.lock().map_err(|_| wasmtime_error("linker state poisoned"))?;
        let state = guard.as_mut().ok_or_else(errors::closed)?;
        if state.locked {
            return Err(wasmtime_error(LINKER_IN_USE));
        }
        f(state)
    }

    /// Runs `f` on the instance at `path`, for a `LinkerInstance` (which holds the lock).
    fn at<R>(&self, path: &[String], f: impl FnOnce(&mut LinkerInstance<'_, StoreData>, &mut Vec<(u64, Py<PyAny>)>, &mut HashSet<Vec<String>>) -> wasmtime::Result<R>) -> PyResult<R> {
        let mut guard = self.state.lock().map_err(|_| wasmtime_error("linker state poisoned"))?;
        let state = guard.as_mut().ok_or_else(errors::closed)?;
        let mut instance = state.linker.root();
        for name in path {
            instance = instance.into_instance(name).map_err(errors::from_wasmtime)?;
        }
        f(&mut instance, &mut state.funcs, &mut state.instances).map_err(errors::from_wasmtime)
    }

    /// Refuses a component whose WASI imports this linker serves if the store lacks the
    /// context they need (wasmtime-py aborts the process on their first call instead).
    fn check_wasi(&self, py: Python<'_>, store: &store::StoreRef<'_>, component: &wasmtime::component::Component, wasi: bool, wasi_http: bool) -> PyResult<()> {
        let (has_wasi, has_http) = store.with(py, |cx| (cx.data().wasi.is_some(), cx.data().wasi_http.is_some()))?;
        let engine = &self.engine_state.engine;
        for (name, _) in component.component_type().imports(engine) {
            if wasi_http && !has_http && name.starts_with("wasi:http/") {
                return Err(wasmtime_error(format!("component imports `{name}`, but wasi-http is not enabled in this store: call Store.set_wasi_http() first")));
            }
            if wasi && !has_wasi && name.starts_with("wasi:") {
                return Err(wasmtime_error(format!("component imports `{name}`, but this store has no WASI context: call Store.set_wasi(WasiConfig()) first")));
            }
        }
        Ok(())
    }

    fn unlock(&self) {
        if let Ok(mut guard) = self.state.lock()
            && let Some(s) = guard.as_mut()
        {
            s.locked = false;
        }
    }
}

#[pymethods]
impl PyLinker {
    #[new]
    fn new(engine: Bound<'_, PyEngine>) -> PyResult<Self> {
        let engine_state = engine.get().state()?;
        Ok(PyLinker {
            state: Mutex::new(Some(State {
                linker: wasmtime::component::Linker::new(&engine_state.engine),
                funcs: Vec::new(),
                instances: HashSet::new(),
                locked: false,
                wasi: false,
                wasi_http: false,
            })),
            engine_state,
            engine: engine.unbind(),
        })
    }

    /// Whether a `root()` instance is open (then the linker cannot be used).
    #[getter]
    fn locked(&self) -> PyResult<bool> {
        let guard = self.state.lock().map_err(|_| wasmtime_error("linker state poisoned"))?;
        Ok(guard.as_ref().ok_or_else(errors::closed)?.locked)
    }

    #[setter]
    fn set_allow_shadowing(&self, allow: bool) -> PyResult<()> {
        self.state(|s| {
            s.linker.allow_shadowing(allow);
            Ok(())
        })
    }

    /// The root instance, for definitions; the linker is locked until it is closed.
    fn root(slf: &Bound<'_, Self>) -> PyResult<PyLinkerInstance> {
        slf.get().state(|s| {
            s.locked = true;
            Ok(())
        })?;
        Ok(PyLinkerInstance::new(slf.clone().unbind(), None, Vec::new()))
    }

    /// Defines every WASI 0.2 interface (`wasi:cli`, `wasi:io`, `wasi:filesystem`...), served by
    /// the store's `set_wasi` context. Already defined names raise unless shadowing is allowed.
    fn add_wasip2(&self) -> PyResult<()> {
        self.state(|s| {
            wasmtime_wasi::p2::add_to_linker_sync(&mut s.linker).map_err(errors::from_wasmtime)?;
            s.wasi = true;
            Ok(())
        })
    }

    /// Defines `wasi:http/types` and `wasi:http/outgoing-handler` (use with `add_wasip2`),
    /// served by the store's `set_wasi_http` context.
    fn add_wasi_http(&self) -> PyResult<()> {
        self.state(|s| {
            wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut s.linker).map_err(errors::from_wasmtime)?;
            s.wasi_http = true;
            Ok(())
        })
    }

    /// Instantiates `component` in `store`; a missing import or a trap raises `WasmtimeError`.
    fn instantiate(&self, py: Python<'_>, store: &Bound<'_, PyAny>, component: &Bound<'_, PyAny>) -> PyResult<PyInstance> {
        let store = store::resolve(store)?;
        if !wasmtime::Engine::same(&self.engine_state.engine, &store.engine().engine) {
            return Err(wasmtime_error(CROSS_ENGINE_STORE));
        }
        let component = PyComponent::extract(component)?;
        // A snapshot: instantiation runs wasm (and maybe Python), without the lock.
        let (linker, wasi, wasi_http) = self.state(|s| {
            store.shared().objects(py, |o| o.link(py, &s.funcs));
            Ok((s.linker.clone(), s.wasi, s.wasi_http))
        })?;
        if wasi || wasi_http {
            self.check_wasi(py, &store, &component, wasi, wasi_http)?;
        }
        let instance = store.run(py, move |mut cx| linker.instantiate(&mut cx, &component))?.map_err(call_error)?;
        Ok(PyInstance::new(store.id(), instance))
    }

    /// Defines every import of `component` not defined yet as a function that traps.
    fn define_unknown_imports_as_traps(&self, component: &Bound<'_, PyAny>) -> PyResult<()> {
        let component = PyComponent::extract(component)?;
        self.state(|s| s.linker.define_unknown_imports_as_traps(&component).map_err(errors::from_wasmtime))
    }

    fn close(&self) -> PyResult<()> {
        let mut guard = self.state.lock().map_err(|_| wasmtime_error("linker state poisoned"))?;
        if guard.as_ref().is_some_and(|s| s.locked) {
            return Err(wasmtime_error(LINKER_IN_USE));
        }
        let old = guard.take();
        drop(guard);
        drop(old);
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close()
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.engine)?;
        if let Ok(guard) = self.state.try_lock()
            && let Some(s) = guard.as_ref()
        {
            for (_, f) in s.funcs.iter() {
                visit.call(f)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let old = self.state.lock().ok().map(|mut s| s.as_mut().map(|s| std::mem::take(&mut s.funcs)));
        drop(old);
    }
}

/// A namespace of a component linker, where functions, modules and instances are defined.
#[pyclass(frozen, module = "wasmtime.component", name = "LinkerInstance")]
pub struct PyLinkerInstance {
    linker: Py<PyLinker>,
    parent: Option<Py<PyLinkerInstance>>,
    path: Vec<String>,
    /// A child instance is open.
    locked: AtomicBool,
    closed: AtomicBool,
}

const INSTANCE_IN_USE: &str = "cannot use linker instance while it's in use by other instances";

impl PyLinkerInstance {
    fn new(linker: Py<PyLinker>, parent: Option<Py<PyLinkerInstance>>, path: Vec<String>) -> Self {
        PyLinkerInstance { linker, parent, path, locked: AtomicBool::new(false), closed: AtomicBool::new(false) }
    }

    fn usable(&self) -> PyResult<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(errors::closed());
        }
        if self.locked.load(Ordering::Relaxed) {
            return Err(wasmtime_error(INSTANCE_IN_USE));
        }
        Ok(())
    }

    fn at<R>(&self, f: impl FnOnce(&mut LinkerInstance<'_, StoreData>, &mut Vec<(u64, Py<PyAny>)>, &mut HashSet<Vec<String>>) -> wasmtime::Result<R>) -> PyResult<R> {
        self.usable()?;
        self.linker.get().at(&self.path, f)
    }
}

#[pymethods]
impl PyLinkerInstance {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(no_constructor("LinkerInstance"))
    }

    /// Defines (and opens) the instance `name` inside this one; this one is locked until the
    /// child is closed. A name already defined raises `WasmtimeError`.
    fn add_instance(slf: &Bound<'_, Self>, name: &str) -> PyResult<PyLinkerInstance> {
        let this = slf.get();
        let mut path = this.path.clone();
        path.push(name.to_owned());
        let child = path.clone();
        this.at(move |li, _, instances| {
            if instances.contains(&child) {
                return Err(wasmtime::format_err!("import of `{}` defined twice", child.last().map(String::as_str).unwrap_or("")));
            }
            li.instance(child.last().map(String::as_str).unwrap_or(""))?;
            instances.insert(child);
            Ok(())
        })?;
        this.locked.store(true, Ordering::Relaxed);
        Ok(PyLinkerInstance::new(this.linker.clone_ref(slf.py()), Some(slf.clone().unbind()), path))
    }

    /// Defines the core module `name`.
    fn add_module(&self, name: &str, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let module = PyModule::extract(module)?;
        self.at(|li, _, _| li.module(name, &module))
    }

    /// Defines the function `name`: `func(store_context, *params)` gets the parameters as
    /// Python values and returns the result (or None).
    fn add_func(&self, name: &str, func: Bound<'_, PyAny>) -> PyResult<()> {
        if !func.is_callable() {
            return Err(errors::type_error("expected a callable"));
        }
        let key = NEXT_FUNC_KEY.fetch_add(1, Ordering::Relaxed);
        let callable = func.unbind();
        self.at(move |li, funcs, _| {
            li.func_new(name, move |cx, ty, params, results| host_call(cx, key, ty, params, results))?;
            funcs.push((key, callable));
            Ok(())
        })
    }

    /// Defines the host resource type `ty` as `name`; `dtor(store_context, rep)` runs when a
    /// guest drops an owned resource of it.
    fn add_resource(&self, name: &str, ty: &Bound<'_, PyResourceType>, dtor: Bound<'_, PyAny>) -> PyResult<()> {
        if !dtor.is_callable() {
            return Err(errors::type_error("expected a callable"));
        }
        let key = NEXT_FUNC_KEY.fetch_add(1, Ordering::Relaxed);
        let rt = ty.get().ty;
        let callable = dtor.unbind();
        self.at(move |li, funcs, _| {
            li.resource(name, rt, move |cx, rep| host_dtor(cx, key, rep))?;
            funcs.push((key, callable));
            Ok(())
        })
    }

    /// Unlocks the parent (or the linker).
    fn close(&self) -> PyResult<()> {
        if self.locked.load(Ordering::Relaxed) {
            return Err(wasmtime_error(INSTANCE_IN_USE));
        }
        if self.closed.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        match &self.parent {
            Some(p) => p.get().locked.store(false, Ordering::Relaxed),
            None => self.linker.get().unlock(),
        }
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close()
    }
}

/// Runs a Python callable registered under `key` with the store's callback stack entered.
fn with_callable<R>(
    mut cx: wasmtime::StoreContextMut<'_, StoreData>,
    key: u64,
    f: impl FnOnce(Python<'_>, &Bound<'_, PyAny>, &Bound<'_, PyStoreContext>) -> PyResult<R>,
) -> wasmtime::Result<R> {
    Python::attach(|py| {
        let shared = cx.data().shared.clone();
        let callable = shared.linked_fn(py, key).ok_or_else(|| wasmtime::Error::msg("host function was cleared by the garbage collector"))?;
        // SAFETY: `cx` outlives the scope, and we do not use it until the scope is dropped.
        let scope = unsafe { CallerScope::enter_context(py, &shared, &mut cx) };
        let result = Bound::new(py, PyStoreContext::new(shared.clone())).and_then(|context| {
            let r = f(py, callable.bind(py), &context);
            context.get().invalidate();
            r
        });
        drop(scope);
        // As wasmtime-py: a `WasmtimeError` becomes the call's error (the caller gets a new
        // `WasmtimeError` saying what it was caused by); any other exception comes back out.
        result.map_err(|e| {
            let wasmtime_error = py.import("wasmtime").and_then(|m| m.getattr("WasmtimeError"));
            if wasmtime_error.is_ok_and(|class| e.is_instance(py, &class)) {
                wasmtime::Error::msg(e.value(py).to_string())
            } else {
                HostError(e).into()
            }
        })
    })
}

fn host_call(
    cx: wasmtime::StoreContextMut<'_, StoreData>,
    key: u64,
    ty: wasmtime::component::types::ComponentFunc,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let result_ty: Option<Type> = ty.results().next();
    let value = with_callable(cx, key, |py, callable, context| {
        let store = store::StoreRef::Callback(context.get().shared()?);
        let mut resources = Resources::new(&store);
        let mut args = Vec::with_capacity(params.len() + 1);
        args.push(context.clone().into_any().unbind());
        for (v, (_, t)) in params.iter().zip(ty.params()) {
            args.push(val::from_val(py, v, &t, &mut resources)?);
        }
        let out = callable.call1(pyo3::types::PyTuple::new(py, args)?);
        // Borrows lent to Python end here, whatever the callable did.
        resources.finish(py)?;
        let out = out?;
        // The result is lowered after this returns, so its resource entries stay.
        let mut resources = Resources::new(&store);
        match &result_ty {
            None if out.is_none() => Ok(None),
            None => Err(wasmtime_error("callback produced results when it shouldn't")),
            Some(t) => match val::to_val(&out, t, &mut resources) {
                Ok(v) => Ok(Some(v)),
                Err(e) => Err(resources.undo(py, e)),
            },
        }
    })?;
    if let (Some(v), Some(slot)) = (value, results.first_mut()) {
        *slot = v;
    }
    Ok(())
}

fn host_dtor(cx: wasmtime::StoreContextMut<'_, StoreData>, key: u64, rep: u32) -> wasmtime::Result<()> {
    with_callable(cx, key, |_, callable, context| callable.call1((context, rep)).map(drop))
}
