//! `Instance`: an instantiated component, a handle into its store.

use pyo3::prelude::*;

use crate::component::component::PyExportIndex;
use crate::component::func::PyFunc;
use crate::component::no_constructor;
use crate::core::store;
use crate::errors::type_error;

#[pyclass(frozen, module = "wasmtime.component", name = "Instance")]
pub struct PyInstance {
    pub store_id: u64,
    /// Unique per instantiation: what the re-entry check compares.
    pub id: u64,
    pub instance: wasmtime::component::Instance,
}

static NEXT_INSTANCE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl PyInstance {
    pub fn new(store_id: u64, instance: wasmtime::component::Instance) -> Self {
        PyInstance { store_id, id: NEXT_INSTANCE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed), instance }
    }
}

#[pymethods]
impl PyInstance {
    #[new]
    fn py_new() -> PyResult<Self> {
        Err(no_constructor("Instance"))
    }

    /// The index of export `name` (inside export `instance`, if given), or None.
    #[pyo3(signature = (store, name, instance=None))]
    fn get_export_index(
        &self,
        py: Python<'_>,
        store: &Bound<'_, PyAny>,
        name: &str,
        instance: Option<&Bound<'_, PyExportIndex>>,
    ) -> PyResult<Option<PyExportIndex>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let parent = instance.map(|i| i.get().index()).transpose()?;
        let found = store.with(py, |mut cx| self.instance.get_export_index(&mut cx, parent, name))?;
        Ok(found.map(PyExportIndex::new))
    }

    /// The exported function at `index` (an `ExportIndex` or a name), or None.
    fn get_func(&self, py: Python<'_>, store: &Bound<'_, PyAny>, index: &Bound<'_, PyAny>) -> PyResult<Option<PyFunc>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        let func = if let Ok(i) = index.cast::<PyExportIndex>() {
            let i = *i.get().index()?;
            store.with(py, |mut cx| self.instance.get_func(&mut cx, i))?
        } else if let Ok(name) = index.extract::<String>() {
            store.with(py, |mut cx| self.instance.get_func(&mut cx, name.as_str()))?
        } else {
            return Err(type_error("expected an ExportIndex or a str"));
        };
        Ok(func.map(|func| PyFunc::wrap(self.store_id, self.id, func)))
    }
}
