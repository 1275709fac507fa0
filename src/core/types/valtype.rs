//! `ValType`: the type of a wasm value.

use pyo3::prelude::*;

use crate::core::Closable;
use crate::errors::wasmtime_error;

#[pyclass(frozen, module = "wasmtime", name = "ValType")]
pub struct PyValType {
    ty: Closable<wasmtime::ValType>,
}

impl PyValType {
    pub fn new(ty: wasmtime::ValType) -> Self {
        PyValType { ty: Closable::new(ty) }
    }

    pub fn ty(&self) -> PyResult<wasmtime::ValType> {
        self.ty.get()
    }

    /// The wasmtime type behind a `ValType` argument, or `TypeError('expected ValType')`.
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::ValType> {
        obj.cast::<PyValType>().map_err(|_| crate::errors::type_error("expected ValType"))?.get().ty()
    }

    /// wasmtime-py's names; externref prints as `anyref` (a wasm.h legacy kept for compatibility).
    pub fn name(ty: &wasmtime::ValType) -> String {
        match ty {
            wasmtime::ValType::I32 => "i32".into(),
            wasmtime::ValType::I64 => "i64".into(),
            wasmtime::ValType::F32 => "f32".into(),
            wasmtime::ValType::F64 => "f64".into(),
            wasmtime::ValType::V128 => "v128".into(),
            wasmtime::ValType::Ref(r) if r.matches(&wasmtime::RefType::EXTERNREF) && r.is_nullable() => {
                "anyref".into()
            }
            wasmtime::ValType::Ref(r) if r.matches(&wasmtime::RefType::FUNCREF) && r.is_nullable() && matches!(r.heap_type(), wasmtime::HeapType::Func) => {
                "funcref".into()
            }
            other => other.to_string(),
        }
    }
}

#[pymethods]
impl PyValType {
    #[new]
    fn construct() -> PyResult<Self> {
        Err(wasmtime_error("cannot construct directly"))
    }

    #[staticmethod]
    fn i32() -> Self {
        Self::new(wasmtime::ValType::I32)
    }

    #[staticmethod]
    fn i64() -> Self {
        Self::new(wasmtime::ValType::I64)
    }

    #[staticmethod]
    fn f32() -> Self {
        Self::new(wasmtime::ValType::F32)
    }

    #[staticmethod]
    fn f64() -> Self {
        Self::new(wasmtime::ValType::F64)
    }

    #[staticmethod]
    fn externref() -> Self {
        Self::new(wasmtime::ValType::EXTERNREF)
    }

    #[staticmethod]
    fn funcref() -> Self {
        Self::new(wasmtime::ValType::FUNCREF)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<PyValType>() else { return Ok(false) };
        Ok(wasmtime::ValType::eq(&self.ty()?, &other.get().ty()?))
    }

    fn __ne__(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(!self.__eq__(other)?)
    }

    fn __str__(&self) -> PyResult<String> {
        Ok(Self::name(&self.ty()?))
    }

    fn __repr__(&self) -> PyResult<String> {
        self.__str__()
    }

    fn close(&self) {
        self.ty.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
