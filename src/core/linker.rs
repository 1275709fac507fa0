//! `Linker`: names for imports, resolved at instantiation.
//!
//! A linker belongs to an engine and may serve many stores. It holds two kinds of definitions:
//! * **store items** (`define`, `define_instance`, `define_module`, default values): handles of
//!   one store. We remember which store defined each name, so that `get` from another store
//!   raises instead of handing out a foreign handle (wasmtime only checks at instantiation);
//! * **engine functions** (`define_func`, unknown imports as traps): wasmtime makes a fresh
//!   `Func` in each store that uses them. Their Python callables live in [`LinkerState::funcs`]
//!   (reported to the GC), and every operation that hands the functions to a store first copies
//!   the callables into that store's `Objects::linked`, so calls never need the linker again.
//!
//! The wasmtime linker sits behind an `Arc` and is copied on write: instantiation clones the
//! `Arc` and releases the lock before running wasm, so a start function (or a host function it
//! calls) may use the linker again, even define new names, without deadlocking.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;

use crate::core::engine::{EngineState, PyEngine};
use crate::core::func::PyFunc;
use crate::core::host::{HostFn, Source};
use crate::core::instance::{Handle, PyInstance};
use crate::core::instance_pre::PyInstancePre;
use crate::core::module::PyModule;
use crate::core::store::{self, StoreData, StoreRef};
use crate::core::types::PyFuncType;
use crate::errors::{self, type_error, wasmtime_error};

/// The callables of a linker's engine functions, by key (see `Objects::linked`). Only the
/// object that made the list reports it to the GC; snapshots of it only keep it alive.
pub type Funcs = Arc<Vec<(u64, Py<PyAny>)>>;

/// wasmtime's words for a store of another engine.
pub const CROSS_ENGINE_STORE: &str = "cross-`Engine` usage is not supported";

/// Lets `store` call a linker's functions (before anything can create them there).
pub fn hand_to(py: Python<'_>, store: &StoreRef<'_>, funcs: &Funcs) {
    if !funcs.is_empty() {
        store.shared().objects(py, |o| o.link(py, funcs));
    }
}

/// Keys of linker functions (core and component) in `Objects::linked`.
pub static NEXT_FUNC_KEY: AtomicU64 = AtomicU64::new(1);

struct LinkerState {
    linker: Arc<wasmtime::Linker<StoreData>>,
    funcs: Funcs,
    /// The store of each store item, by `(module, name)`.
    owners: HashMap<(String, String), u64>,
}

#[pyclass(frozen, module = "wasmtime", name = "Linker")]
pub struct PyLinker {
    state: Mutex<Option<LinkerState>>,
    engine_state: Arc<EngineState>,
    /// The `Engine` object passed in.
    #[pyo3(get)]
    engine: Py<PyEngine>,
}

/// wasmtime-py encodes names with `str.encode`, so a non-str fails with `AttributeError`.
fn text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    obj.extract::<String>()
        .map_err(|_| PyAttributeError::new_err(format!("expected a str, got {}", obj.get_type().name().map(|n| n.to_string()).unwrap_or_default())))
}

impl PyLinker {
    /// Runs `f` on the state; `f` must not run Python code or wasm.
    fn state<R>(&self, f: impl FnOnce(&mut LinkerState) -> PyResult<R>) -> PyResult<R> {
        let mut guard = self.state.lock().map_err(|_| wasmtime_error("linker state poisoned"))?;
        f(guard.as_mut().ok_or_else(errors::closed)?)
    }

    fn snapshot(&self) -> PyResult<(Arc<wasmtime::Linker<StoreData>>, Funcs)> {
        self.state(|s| Ok((s.linker.clone(), s.funcs.clone())))
    }

    /// Resolves a storelike of this linker's engine.
    fn store<'py>(&self, store: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
        let store = store::resolve(store)?;
        if !wasmtime::Engine::same(&self.engine_state.engine, &store.engine().engine) {
            return Err(wasmtime_error(CROSS_ENGINE_STORE));
        }
        Ok(store)
    }

    fn module(&self, module: &Bound<'_, PyAny>) -> PyResult<wasmtime::Module> {
        let module = PyModule::extract(module)?;
        if !wasmtime::Engine::same(&self.engine_state.engine, module.engine()) {
            return Err(wasmtime_error("cross-`Engine` instantiation is not currently supported"));
        }
        Ok(module)
    }

    /// Rejects a store that did not define one of `keys` (store items are per store).
    fn check_owner(&self, store: &StoreRef<'_>, keys: &[(&str, &str)]) -> PyResult<()> {
        self.state(|s| {
            for (m, n) in keys {
                if let Some(&owner) = s.owners.get(&(m.to_string(), n.to_string())) {
                    store.check(owner)?;
                }
            }
            Ok(())
        })
    }

    /// Applies `f` to the wasmtime linker, copying it first if an instantiation shares it.
    fn update(&self, f: impl FnOnce(&mut wasmtime::Linker<StoreData>) -> wasmtime::Result<()>) -> PyResult<()> {
        self.state(|s| f(Arc::make_mut(&mut s.linker)).map_err(errors::from_wasmtime))
    }

    fn own(&self, store_id: u64, module: &str, names: impl IntoIterator<Item = String>) -> PyResult<()> {
        self.state(|s| {
            for n in names {
                s.owners.insert((module.to_string(), n), store_id);
            }
            Ok(())
        })
    }
}

#[pymethods]
impl PyLinker {
    #[new]
    fn new(engine: &Bound<'_, PyAny>) -> PyResult<Self> {
        let obj = engine
            .cast::<PyEngine>()
            .map_err(|_| PyAttributeError::new_err("expected an Engine"))?;
        let engine_state = obj.get().state()?;
        let linker = wasmtime::Linker::new(&engine_state.engine);
        Ok(PyLinker {
            state: Mutex::new(Some(LinkerState { linker: Arc::new(linker), funcs: Arc::default(), owners: HashMap::new() })),
            engine_state,
            engine: obj.clone().unbind(),
        })
    }

    /// Write-only: whether a later definition may replace an earlier one of the same name.
    #[setter]
    fn set_allow_shadowing(&self, allow: &Bound<'_, PyAny>) -> PyResult<()> {
        let allow = allow.is_truthy()?;
        self.update(|l| {
            l.allow_shadowing(allow);
            Ok(())
        })
    }

    /// Defines `module::name` as `item`, an extern of `store`.
    fn define(&self, py: Python<'_>, store: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>, item: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = self.store(store)?;
        let (module, n) = (text(module)?, text(name)?);
        let ext = Handle::extern_of(item, store.shared())?;
        let shared_memory = matches!(ext, wasmtime::Extern::SharedMemory(_));
        store.with(py, |cx| self.update(|l| l.define(&cx, &module, &n, ext).map(drop)))??;
        self.state(|s| {
            let key = (module, n);
            if shared_memory {
                s.owners.remove(&key);
            } else {
                s.owners.insert(key, store.id());
            }
            Ok(())
        })
    }

    /// Defines `module::name` as a host function usable from every store of the engine.
    #[pyo3(signature = (module, name, ty, func, access_caller=false))]
    fn define_func(
        &self,
        py: Python<'_>,
        module: &Bound<'_, PyAny>,
        name: &Bound<'_, PyAny>,
        ty: &Bound<'_, PyAny>,
        func: Py<PyAny>,
        access_caller: bool,
    ) -> PyResult<()> {
        let (module, n) = (text(module)?, text(name)?);
        let ty = ty.cast::<PyFuncType>().map_err(|_| type_error("expected a FuncType"))?;
        let ty = ty.get().to_wasmtime(&self.engine_state.engine)?;
        let key = NEXT_FUNC_KEY.fetch_add(1, Ordering::Relaxed);
        let host = HostFn::new(Source::Linker(key), ty, access_caller);
        self.update(|l| host.define_in(l, &module, &n))?;
        self.state(|s| {
            let mut funcs: Vec<_> = s.funcs.iter().map(|(k, f)| (*k, f.clone_ref(py))).collect();
            funcs.push((key, func));
            s.funcs = Arc::new(funcs);
            s.owners.remove(&(module, n));
            Ok(())
        })
    }

    /// Defines every export of `instance` under the module name `name`.
    fn define_instance(&self, py: Python<'_>, store: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>, instance: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = self.store(store)?;
        let module = text(name)?;
        let instance = instance.cast::<PyInstance>().map_err(|_| type_error("expected an `Instance`"))?.get();
        store.check(instance.store_id)?;
        let inst = instance.instance;
        let names = store.with(py, |mut cx| -> PyResult<Vec<String>> {
            let names = inst.exports(&mut cx).map(|e| e.name().to_string()).collect();
            self.update(|l| l.instance(&mut cx, &module, inst).map(drop))?;
            Ok(names)
        })??;
        self.own(store.id(), &module, names)
    }

    /// Defines the exports of `module` under `name`: a command (`_start`) gets a fresh instance
    /// per call of an export; a reactor is instantiated now and its `_initialize` run.
    fn define_module(&self, py: Python<'_>, store: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = self.store(store)?;
        let module_name = text(name)?;
        let module = self.module(module)?;
        let names: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
        let (linker, funcs) = self.snapshot()?;
        hand_to(py, &store, &funcs);
        if module.get_export("_start").is_some() || module.get_export("_initialize").is_some_and(|e| e.func().is_none()) {
            // A command (or an invalid module wasmtime reports): nothing runs now.
            store.with(py, |mut cx| self.update(|l| l.module(&mut cx, &module_name, &module).map(drop)))??;
            return self.own(store.id(), &module_name, names);
        }
        let instance = store
            .call(py, move |mut cx| -> wasmtime::Result<wasmtime::Instance> {
                let instance = linker.instantiate(&mut cx, &module)?;
                if let Some(init) = instance.get_func(&mut cx, "_initialize") {
                    init.call(&mut cx, &[], &mut [])?;
                }
                Ok(instance)
            })?;
        store.with(py, |mut cx| self.update(|l| l.instance(&mut cx, &module_name, instance).map(drop)))??;
        self.own(store.id(), &module_name, names)
    }

    /// Defines the WASI preview 1 imports (`wasi_snapshot_preview1`), served from the context
    /// each store was given with `Store.set_wasi`.
    fn define_wasi(&self) -> PyResult<()> {
        self.update(|l| wasmtime_wasi::p1::add_to_linker_sync(l, crate::wasi::context))
    }

    /// Defines every unresolved import of `module` as a function that traps when called.
    fn define_unknown_imports_as_traps(&self, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let module = self.module(module)?;
        self.update(|l| l.define_unknown_imports_as_traps(&module))
    }

    /// Defines every unresolved import of `module` as a default value (zeros, null) in `store`.
    fn define_unknown_imports_as_default_values(&self, py: Python<'_>, store: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let store = self.store(store)?;
        let module = self.module(module)?;
        let (linker, funcs) = self.snapshot()?;
        hand_to(py, &store, &funcs);
        let missing = store.with(py, |mut cx| -> PyResult<Vec<(String, String)>> {
            let missing = module
                .imports()
                .filter(|i| linker.get_by_import(&mut cx, i).is_none())
                .map(|i| (i.module().to_string(), i.name().to_string()))
                .collect();
            self.update(|l| l.define_unknown_imports_as_default_values(&mut cx, &module))?;
            Ok(missing)
        })??;
        self.state(|s| {
            s.owners.extend(missing.into_iter().map(|k| (k, store.id())));
            Ok(())
        })
    }

    /// Instantiates `module`, resolving its imports by name.
    fn instantiate(&self, py: Python<'_>, store: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>) -> PyResult<PyInstance> {
        let store = self.store(store)?;
        if !module.is_instance_of::<PyModule>() {
            // wasmtime-py fails on the missing attribute here (TypeError in the other methods).
            return Err(PyAttributeError::new_err("expected a `Module`"));
        }
        let module = self.module(module)?;
        let (linker, funcs) = self.snapshot()?;
        hand_to(py, &store, &funcs);
        let instance = store
            .call(py, move |mut cx| linker.instantiate(&mut cx, &module))?;
        Ok(PyInstance::new(store.id(), instance))
    }

    /// Resolves the imports of `module` now, for fast instantiation in any store later.
    fn instantiate_pre(&self, py: Python<'_>, module: &Bound<'_, PyAny>) -> PyResult<PyInstancePre> {
        let module = self.module(module)?;
        let (linker, funcs) = self.snapshot()?;
        let pre = linker.instantiate_pre(&module).map_err(errors::from_wasmtime)?;
        // Its own references: each GC-visible owner must report references of its own.
        let funcs = Arc::new(funcs.iter().map(|(k, f)| (*k, f.clone_ref(py))).collect());
        Ok(PyInstancePre::new(pre, funcs, self.engine_state.clone()))
    }

    /// The item defined as `module::name`.
    fn get(&self, py: Python<'_>, store: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let store = self.store(store)?;
        let (module, n) = (text(module)?, text(name)?);
        self.check_owner(&store, &[(&module, &n)])?;
        let (linker, funcs) = self.snapshot()?;
        hand_to(py, &store, &funcs);
        let ext = store
            .with(py, |mut cx| linker.get(&mut cx, &module, &n))?
            .map_err(|_| wasmtime_error("item not defined in linker"))?;
        Handle::new(store.shared(), ext).into_py(py)
    }

    /// The default function of `name`: its `""` or `_start` export, or a function doing nothing.
    fn get_default(&self, py: Python<'_>, store: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> PyResult<PyFunc> {
        let store = self.store(store)?;
        let module = text(name)?;
        self.check_owner(&store, &[(&module, ""), (&module, "_start")])?;
        let (linker, funcs) = self.snapshot()?;
        hand_to(py, &store, &funcs);
        let func = store.with(py, |mut cx| linker.get_default(&mut cx, &module))?.map_err(errors::from_wasmtime)?;
        Ok(PyFunc::lazy(store.id(), func))
    }

    fn close(&self) {
        let old = self.state.lock().ok().and_then(|mut s| s.take());
        drop(old);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.engine)?;
        // The lock is only held briefly by code that runs no Python; if it is held now, report
        // nothing (fewer references only make the collector keep more alive).
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
