//! `FuncType`. wasmtime needs an engine to build a `FuncType`; Python's has none, so we keep the
//! value types and build the wasmtime type when a store or linker supplies the engine.

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::core::types::PyValType;
use crate::core::Closable;

#[derive(Clone)]
pub struct Sig {
    pub params: Vec<wasmtime::ValType>,
    pub results: Vec<wasmtime::ValType>,
}

impl Sig {
    pub fn of(ty: &wasmtime::FuncType) -> Sig {
        Sig { params: ty.params().collect(), results: ty.results().collect() }
    }

    pub fn to_wasmtime(self, engine: &wasmtime::Engine) -> wasmtime::FuncType {
        wasmtime::FuncType::new(engine, self.params, self.results)
    }
}

#[pyclass(frozen, module = "wasmtime", name = "FuncType")]
pub struct PyFuncType {
    sig: Closable<Sig>,
}

impl PyFuncType {
    pub fn from_wasmtime(ty: &wasmtime::FuncType) -> Self {
        Self::from_sig(Sig::of(ty))
    }

    pub fn from_sig(sig: Sig) -> Self {
        PyFuncType { sig: Closable::new(sig) }
    }

    /// Takes the signature out, closing this object (`TagType(functype)` consumes it).
    pub fn take(&self) -> PyResult<Sig> {
        self.sig.take()
    }

    pub fn sig(&self) -> PyResult<Sig> {
        self.sig.get()
    }

    pub fn to_wasmtime(&self, engine: &wasmtime::Engine) -> PyResult<wasmtime::FuncType> {
        Ok(self.sig()?.to_wasmtime(engine))
    }

    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Sig> {
        obj.cast::<PyFuncType>().map_err(|_| crate::errors::type_error("expected a FuncType"))?.get().sig()
    }
}

fn types(list: &Bound<'_, PyAny>) -> PyResult<Vec<wasmtime::ValType>> {
    list.try_iter()?.map(|t| PyValType::extract(&t?)).collect()
}

fn to_list<'py>(py: Python<'py>, tys: &[wasmtime::ValType]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, tys.iter().map(|t| PyValType::new(t.clone())).collect::<Vec<_>>())
}

#[pymethods]
impl PyFuncType {
    #[new]
    fn new(params: &Bound<'_, PyAny>, results: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyFuncType { sig: Closable::new(Sig { params: types(params)?, results: types(results)? }) })
    }

    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        to_list(py, &self.sig()?.params)
    }

    #[getter]
    fn results<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        to_list(py, &self.sig()?.results)
    }

    pub fn __repr__(&self) -> PyResult<String> {
        let sig = self.sig()?;
        let names = |t: &[wasmtime::ValType]| t.iter().map(PyValType::name).collect::<Vec<_>>().join(", ");
        Ok(format!("FuncType([{}], [{}])", names(&sig.params), names(&sig.results)))
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
