//! `Tag`: an exception tag of one store (the exceptions proposal). Tags are compared by
//! definition, not by type: two tags of the same type are different exceptions.

use pyo3::prelude::*;

use crate::core::store::{self, StoreRef};
use crate::core::types::PyTagType;
use crate::errors::{self, type_error};

#[pyclass(frozen, module = "wasmtime", name = "Tag")]
pub struct PyTag {
    pub store_id: u64,
    pub tag: wasmtime::Tag,
}

impl PyTag {
    pub fn new(store_id: u64, tag: wasmtime::Tag) -> Self {
        PyTag { store_id, tag }
    }

    fn store<'py>(&self, store: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(store)
    }
}

#[pymethods]
impl PyTag {
    /// A new host-defined tag with the given type.
    #[new]
    fn construct(py: Python<'_>, store: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>) -> PyResult<Self> {
        let store = store::resolve(store)?;
        if !ty.is_instance_of::<PyTagType>() {
            return Err(type_error("expected a TagType"));
        }
        let ty = PyTagType::extract(ty, &store.engine().engine)?;
        let tag = store.with(py, |mut cx| wasmtime::Tag::new(&mut cx, &ty))?.map_err(errors::from_wasmtime)?;
        Ok(PyTag::new(store.id(), tag))
    }

    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyTagType> {
        let store = self.store(store)?;
        Ok(PyTagType::from_wasmtime(&store.with(py, |cx| self.tag.ty(&cx))?))
    }

    /// True if both name the same tag definition.
    fn eq(&self, py: Python<'_>, store: &Bound<'_, PyAny>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let store = self.store(store)?;
        let other = other.cast::<PyTag>().map_err(|_| type_error("expected a Tag"))?.get();
        if other.store_id != self.store_id {
            return Ok(false);
        }
        store.with(py, |cx| wasmtime::Tag::eq(&self.tag, &other.tag, &cx))
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Tag of store {}>", self.store_id)
    }
}
