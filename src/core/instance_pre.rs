//! `InstancePre`: a module with its imports resolved by a `Linker`, ready to instantiate in any
//! store of the engine with the least work per instance (no name lookups, no type checks).

use std::sync::Arc;

use pyo3::prelude::*;

use crate::core::instance::PyInstance;
use crate::core::linker::{self, Funcs};
use crate::core::module::PyModule;
use crate::core::store::{self, StoreData};
use crate::core::Closable;
use crate::core::engine::EngineState;
use crate::errors::wasmtime_error;

#[pyclass(frozen, module = "wasmtime", name = "InstancePre")]
pub struct PyInstancePre {
    pre: Closable<wasmtime::InstancePre<StoreData>>,
    /// The callables of the linker's functions when this was made (reported to the GC).
    funcs: Funcs,
    engine: Arc<EngineState>,
}

impl PyInstancePre {
    pub fn new(pre: wasmtime::InstancePre<StoreData>, funcs: Funcs, engine: Arc<EngineState>) -> Self {
        PyInstancePre { pre: Closable::new(pre), funcs, engine }
    }
}

#[pymethods]
impl PyInstancePre {
    /// A new instance in `store`. A trap in the start function raises `Trap`.
    fn instantiate(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyInstance> {
        let store = store::resolve(store)?;
        if !wasmtime::Engine::same(&self.engine.engine, &store.engine().engine) {
            return Err(wasmtime_error(crate::core::linker::CROSS_ENGINE_STORE));
        }
        let pre = self.pre.get()?;
        linker::hand_to(py, &store, &self.funcs);
        let instance = store.call(py, move |mut cx| pre.instantiate(&mut cx))?;
        Ok(PyInstance::new(store.id(), instance))
    }

    /// The module this was made from.
    #[getter]
    fn module(&self) -> PyResult<PyModule> {
        Ok(PyModule::wrap(self.pre.get()?.module().clone(), self.engine.clone()))
    }

    fn close(&self) {
        self.pre.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        for (_, f) in self.funcs.iter() {
            visit.call(f)?;
        }
        Ok(())
    }
}
