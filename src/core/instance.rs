//! `Instance`, and [`Handle`]: the Python handle for any extern of a store.

use std::sync::OnceLock;

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

use crate::core::func::PyFunc;
use crate::core::global::PyGlobal;
use crate::core::memory::PyMemory;
use crate::core::module::PyModule;
use crate::core::shared_memory::PySharedMemory;
use crate::core::store::{self, Shared};
use crate::core::table::PyTable;
use crate::core::tag::PyTag;
use crate::errors::{type_error, wasmtime_error};

/// A Python handle for an extern, built without running Python code (so it can be made while
/// the store is borrowed) and turned into a Python object afterwards.
pub enum Handle {
    Func(PyFunc),
    Memory(PyMemory),
    Global(PyGlobal),
    Table(PyTable),
    SharedMemory(PySharedMemory),
    Tag(PyTag),
}

impl Handle {
    pub fn new(store: &Shared, ext: wasmtime::Extern) -> Handle {
        let store_id = store.id;
        match ext {
            wasmtime::Extern::Func(f) => Handle::Func(PyFunc::lazy(store_id, f)),
            wasmtime::Extern::Memory(m) => Handle::Memory(PyMemory::new(store_id, m)),
            wasmtime::Extern::Global(g) => Handle::Global(PyGlobal::new(store_id, g)),
            wasmtime::Extern::Table(t) => Handle::Table(PyTable::new(store_id, t)),
            wasmtime::Extern::SharedMemory(m) => Handle::SharedMemory(PySharedMemory::wrap(store.engine.engine.clone(), m)),
            wasmtime::Extern::Tag(t) => Handle::Tag(PyTag::new(store_id, t)),
        }
    }

    pub fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Handle::Func(f) => Py::new(py, f)?.into_any(),
            Handle::Memory(m) => Py::new(py, m)?.into_any(),
            Handle::Global(g) => Py::new(py, g)?.into_any(),
            Handle::Table(t) => Py::new(py, t)?.into_any(),
            Handle::SharedMemory(m) => Py::new(py, m)?.into_any(),
            Handle::Tag(t) => Py::new(py, t)?.into_any(),
        })
    }

    /// The extern behind a Python import value, checked to belong to `store` (a shared memory:
    /// to its engine).
    pub fn extern_of(obj: &Bound<'_, PyAny>, store: &Shared) -> PyResult<wasmtime::Extern> {
        let store_id = store.id;
        let (id, ext) = if let Ok(f) = obj.cast::<PyFunc>() {
            (f.get().store_id, wasmtime::Extern::Func(f.get().func))
        } else if let Ok(m) = obj.cast::<PyMemory>() {
            (m.get().store_id, wasmtime::Extern::Memory(m.get().memory))
        } else if let Ok(g) = obj.cast::<PyGlobal>() {
            (g.get().store_id, wasmtime::Extern::Global(g.get().global))
        } else if let Ok(t) = obj.cast::<PyTable>() {
            (t.get().store_id, wasmtime::Extern::Table(t.get().table))
        } else if let Ok(t) = obj.cast::<PyTag>() {
            (t.get().store_id, wasmtime::Extern::Tag(t.get().tag))
        } else if let Ok(m) = obj.cast::<PySharedMemory>() {
            let m = m.get();
            if !wasmtime::Engine::same(&m.engine, &store.engine.engine) {
                return Err(wasmtime_error("shared memory used with a store of another engine"));
            }
            (store_id, wasmtime::Extern::SharedMemory(m.memory()?))
        } else {
            return Err(type_error("expected a Func, Global, Memory, SharedMemory, Tag, or Table"));
        };
        if id != store_id {
            return Err(wasmtime_error("object used with the wrong store"));
        }
        Ok(ext)
    }
}

static INSTANCE_EXPORTS: PyOnceLock<Py<pyo3::types::PyType>> = PyOnceLock::new();

#[pyclass(frozen, module = "wasmtime", name = "Instance")]
pub struct PyInstance {
    pub store_id: u64,
    pub instance: wasmtime::Instance,
    exports: OnceLock<Py<PyAny>>,
}

impl PyInstance {
    pub fn new(store_id: u64, instance: wasmtime::Instance) -> Self {
        PyInstance { store_id, instance, exports: OnceLock::new() }
    }
}

#[pymethods]
impl PyInstance {
    /// Instantiates `module` with `imports` in module import order. A trap in the start
    /// function raises `Trap`; an exception from a host function comes back as itself.
    #[new]
    fn construct(py: Python<'_>, store: &Bound<'_, PyAny>, module: &Bound<'_, PyAny>, imports: &Bound<'_, PyAny>) -> PyResult<Self> {
        let store = store::resolve(store)?;
        let module = module
            .cast::<PyModule>()
            .map_err(|_| PyAttributeError::new_err("expected a Module"))?
            .get()
            .module()?;
        let id = store.id();
        let externs = imports
            .try_iter()?
            .map(|i| Handle::extern_of(&i?, store.shared()))
            .collect::<PyResult<Vec<_>>>()?;
        let instance = store
            .call(py, move |mut cx| wasmtime::Instance::new(&mut cx, &module, &externs))?;
        Ok(PyInstance::new(id, instance))
    }

    /// The exports, as a mapping by name with `.by_index`; built once and cached.
    fn exports(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        if let Some(e) = self.exports.get() {
            // Cached, but still refused for a closed (or busy) store, as on the first call.
            store.with(py, |_| ())?;
            return Ok(e.clone_ref(py));
        }
        let shared = store.shared();
        let items = store.with(py, |mut cx| {
            let exports = self.instance.exports(&mut cx);
            exports.map(|e| (e.name().to_string(), Handle::new(shared, e.into_extern()))).collect::<Vec<_>>()
        })?;
        let mut names = Vec::with_capacity(items.len());
        let mut values = Vec::with_capacity(items.len());
        for (name, handle) in items {
            names.push(name);
            values.push(handle.into_py(py)?);
        }
        let class = INSTANCE_EXPORTS.import(py, "wasmtime._instance", "InstanceExports")?;
        let exports = class.call1((PyList::new(py, names)?, PyList::new(py, values)?))?.unbind();
        Ok(self.exports.get_or_init(|| exports).clone_ref(py))
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        if let Some(e) = self.exports.get() {
            visit.call(e)?;
        }
        Ok(())
    }
}
