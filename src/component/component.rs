//! `Component` (compiled component, shareable across stores of one engine) and `ExportIndex`.
//!
//! Like a `Module`, a component remembers its engine, and pickles as serialized code plus that
//! engine's settings (see `core/engine.rs`).

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::component::no_constructor;
use crate::component::types::PyComponentType;
use crate::core::Closable;
use crate::core::engine::{self, EngineState, PyEngine};
use crate::core::module::{file_bytes, source_bytes};
use crate::errors::{self, type_error, wasmtime_error};

#[pyclass(frozen, weakref, module = "wasmtime.component", name = "Component")]
pub struct PyComponent {
    component: Closable<wasmtime::component::Component>,
    engine: Arc<EngineState>,
}

impl PyComponent {
    pub fn component(&self) -> PyResult<wasmtime::component::Component> {
        self.component.get()
    }

    /// The component behind `obj`, which must be a `Component` (`TypeError` otherwise).
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::component::Component> {
        obj.cast::<PyComponent>().map_err(|_| type_error("expected a `Component`"))?.get().component()
    }

    fn wrap(component: wasmtime::component::Component, engine: Arc<EngineState>) -> Self {
        PyComponent { component: Closable::new(component), engine }
    }

    fn compile(py: Python<'_>, engine: &Bound<'_, PyAny>, bytes: Vec<u8>) -> PyResult<Self> {
        let engine = PyEngine::extract(engine)?;
        py.detach(|| wasmtime::component::Component::from_binary(&engine.engine, &bytes))
            .map(|c| Self::wrap(c, engine.clone()))
            .map_err(errors::from_wasmtime)
    }
}

#[pymethods]
impl PyComponent {
    #[new]
    fn new(py: Python<'_>, engine: &Bound<'_, PyAny>, wasm: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::compile(py, engine, source_bytes(wasm)?)
    }

    /// Compiles the file at `path` (binary or text).
    #[staticmethod]
    fn from_file(py: Python<'_>, engine: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::compile(py, engine, file_bytes(py, path)?)
    }

    /// Unsafe by contract: the bytes must come from `serialize` of a compatible engine; untrusted
    /// bytes can run arbitrary native code.
    #[staticmethod]
    fn deserialize(py: Python<'_>, engine: &Bound<'_, PyAny>, encoded: &Bound<'_, PyAny>) -> PyResult<Self> {
        let engine = PyEngine::extract(engine)?;
        let bytes: Vec<u8> = if let Ok(b) = encoded.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(b) = encoded.cast::<PyByteArray>() {
            b.to_vec()
        } else {
            return Err(type_error("expected bytes"));
        };
        // SAFETY: unsafe by contract (documented): the caller vouches for the bytes; wasmtime
        // still checks the version and the engine's settings.
        py.detach(|| unsafe { wasmtime::component::Component::deserialize(&engine.engine, &bytes) })
            .map(|c| Self::wrap(c, engine.clone()))
            .map_err(errors::from_wasmtime)
    }

    /// Unsafe by contract, like `deserialize`.
    #[staticmethod]
    fn deserialize_file(py: Python<'_>, engine: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path: String = path.extract().map_err(|_| type_error("expected a str path"))?;
        let engine = PyEngine::extract(engine)?;
        // SAFETY: as in `deserialize`.
        py.detach(|| unsafe { wasmtime::component::Component::deserialize_file(&engine.engine, &path) })
            .map(|c| Self::wrap(c, engine.clone()))
            .map_err(errors::from_wasmtime)
    }

    fn serialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        let component = self.component()?;
        let bytes = py.detach(|| component.serialize()).map_err(errors::from_wasmtime)?;
        Ok(PyByteArray::new(py, &bytes))
    }

    /// The index of export `name` (inside export `instance`, if given), or None; an index of
    /// another component gives None.
    #[pyo3(signature = (name, instance=None))]
    fn get_export_index(&self, name: &str, instance: Option<&Bound<'_, PyExportIndex>>) -> PyResult<Option<PyExportIndex>> {
        let component = self.component()?;
        let parent = instance.map(|i| i.get().index()).transpose()?;
        Ok(component.get_export_index(parent, name).map(PyExportIndex::new))
    }

    #[getter]
    fn r#type(&self) -> PyResult<PyComponentType> {
        Ok(PyComponentType { ty: self.component()?.component_type() })
    }

    /// Extension: the engine this component was compiled for (see `Module.engine`).
    #[getter]
    fn engine(&self) -> PyResult<PyEngine> {
        self.component()?; // closed: ValueError, as for every other use
        Ok(PyEngine::from_state(self.engine.clone()))
    }

    /// Pickles as the serialized code plus the engine's settings.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
        let component = self.component()?;
        // With the GIL held: a fork must not copy a lock this holds (see `fork.rs`).
        let code = component.serialize().map_err(errors::from_wasmtime)?;
        engine::reduce(py, "_unpickle_component", &self.engine, Some(&code))
    }

    fn close(&self) {
        self.component.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}

/// `pickle` support: the `Component` of `Component.__reduce__` (trusted data only, as with
/// any pickle: this loads native code).
#[pyfunction]
pub fn _unpickle_component(py: Python<'_>, format: u32, version: &str, recipe: &Bound<'_, PyAny>, code: &[u8]) -> PyResult<PyComponent> {
    let engine = engine::unpickle_engine(py, "Component", format, version, recipe)?;
    // SAFETY: the bytes come from `Component.__reduce__` (pickles are trusted data by Python's
    // contract); wasmtime checks that they were compiled for this engine's settings.
    let component = py
        .detach(|| unsafe { wasmtime::component::Component::deserialize(&engine.engine, code) })
        .map_err(|e| wasmtime_error(format!("cannot unpickle Component: {}", e.root_cause())))?;
    Ok(PyComponent::wrap(component, engine))
}

/// Where an export sits in a component, for fast lookups (`Component.get_export_index`).
#[pyclass(frozen, module = "wasmtime.component", name = "ExportIndex")]
pub struct PyExportIndex {
    index: wasmtime::component::ComponentExportIndex,
    closed: std::sync::atomic::AtomicBool,
}

impl PyExportIndex {
    pub fn new(index: wasmtime::component::ComponentExportIndex) -> Self {
        PyExportIndex { index, closed: Default::default() }
    }

    /// The index; `ValueError` after `close()`.
    pub fn index(&self) -> PyResult<&wasmtime::component::ComponentExportIndex> {
        if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(crate::errors::closed());
        }
        Ok(&self.index)
    }
}

#[pymethods]
impl PyExportIndex {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(no_constructor("ExportIndex"))
    }

    fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
