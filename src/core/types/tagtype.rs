//! `TagType`: the payload signature of an exception tag, a `FuncType` with no results. Like
//! `FuncType` it needs an engine in wasmtime, so it is built when a store supplies one.

use pyo3::prelude::*;

use crate::core::types::PyFuncType;
use crate::core::types::functype::Sig;
use crate::core::Closable;
use crate::errors;

#[pyclass(frozen, module = "wasmtime", name = "TagType")]
pub struct PyTagType {
    sig: Closable<Sig>,
}

impl PyTagType {
    pub fn from_wasmtime(ty: &wasmtime::TagType) -> Self {
        PyTagType { sig: Closable::new(Sig::of(ty.ty())) }
    }

    /// The wasmtime type, built for `engine`.
    pub fn extract(obj: &Bound<'_, PyAny>, engine: &wasmtime::Engine) -> PyResult<wasmtime::TagType> {
        let ty = obj.cast::<PyTagType>().map_err(|_| errors::type_error("expected a TagType"))?;
        Ok(wasmtime::TagType::new(ty.get().sig.get()?.to_wasmtime(engine)))
    }
}

#[pymethods]
impl PyTagType {
    /// Consumes `functype`, as wasmtime-py does: using it afterwards raises `ValueError`.
    #[new]
    fn new(functype: &Bound<'_, PyAny>) -> PyResult<Self> {
        let f = functype.cast::<PyFuncType>().map_err(|_| errors::type_error("expected a FuncType"))?;
        Ok(PyTagType { sig: Closable::new(f.get().take()?) })
    }

    /// The payload's type: its parameters are the exception's values.
    #[getter]
    fn functype(&self) -> PyResult<PyFuncType> {
        Ok(PyFuncType::from_sig(self.sig.get()?))
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("TagType({})", self.functype()?.__repr__()?))
    }

    fn close(&self) {
        self.sig.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
