//! `Val`, and the conversions between Python values and wasm values.
//!
//! Two paths: numeric signatures convert straight to and from `ValRaw` (the `call_unchecked`
//! fast path); signatures with references go through [`Arg`]/[`Out`], Rust-only intermediates
//! that can cross `Python::detach`.
//!
//! An externref's payload is an [`ExternCell`]: one strong reference to the Python object, made
//! under the GIL when the value enters wasm and registered with the store (`Objects::externs`)
//! so that the store's `__traverse__` reports it and `__clear__` can break cycles through it.
//! wasmtime owns the `Arc`; when its GC drops the externref (or the store dies) the reference
//! goes, through PyO3's deferred decref if the GIL is not held.
//!
//! Python -> wasm (as wasmtime-py): `int` (and `bool`) wrap to i32/i64, `float` goes to f32/f64
//! (f32 rounds), any object is an externref (`None` is null), a `Func` or `None` is a funcref,
//! and a `Val` must have exactly the expected type.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt};
use wasmtime::{AsContextMut, ValRaw};

use crate::core::func::PyFunc;
use crate::core::GilCell;
use crate::core::store::{Shared, StoreData};
use crate::core::types::PyValType;
use crate::errors::wasmtime_error;

/// What the binding needs to know of a wasm value type on the hot path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    I32,
    I64,
    F32,
    F64,
    V128,
    ExternRef,
    FuncRef,
    /// Other reference types (GC proposal): no Python representation.
    Other,
}

impl Kind {
    pub fn of(ty: &wasmtime::ValType) -> Kind {
        match ty {
            wasmtime::ValType::I32 => Kind::I32,
            wasmtime::ValType::I64 => Kind::I64,
            wasmtime::ValType::F32 => Kind::F32,
            wasmtime::ValType::F64 => Kind::F64,
            wasmtime::ValType::V128 => Kind::V128,
            wasmtime::ValType::Ref(r) => match r.heap_type() {
                wasmtime::HeapType::Extern => Kind::ExternRef,
                wasmtime::HeapType::Func => Kind::FuncRef,
                _ => Kind::Other,
            },
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::I32 | Kind::I64 | Kind::F32 | Kind::F64)
    }

    fn name(self) -> &'static str {
        match self {
            Kind::I32 => "i32",
            Kind::I64 => "i64",
            Kind::F32 => "f32",
            Kind::F64 => "f64",
            Kind::V128 => "v128",
            Kind::ExternRef => "anyref",
            Kind::FuncRef => "funcref",
            Kind::Other => "reference",
        }
    }
}

/// `int` wrapped to 64 bits (two's complement), as wasmtime-py does through ctypes.
fn wrap_int(obj: &Bound<'_, PyAny>) -> Option<u64> {
    if !obj.is_instance_of::<PyInt>() {
        return None;
    }
    // SAFETY: `obj` is a live `int` (checked above), for which the mask conversion cannot fail.
    Some(unsafe { ffi::PyLong_AsUnsignedLongLongMask(obj.as_ptr()) })
}

fn float(obj: &Bound<'_, PyAny>) -> Option<f64> {
    obj.cast::<PyFloat>().ok().map(|f| f.value())
}

fn cannot_convert(obj: &Bound<'_, PyAny>, kind: Kind) -> PyErr {
    let repr = obj.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<object>".into());
    PyTypeError::new_err(format!("don't know how to convert {repr} to {}", kind.name()))
}

/// A Python value as a raw numeric wasm value (`kind` is numeric).
pub fn to_raw(obj: &Bound<'_, PyAny>, kind: Kind) -> PyResult<ValRaw> {
    let raw = match kind {
        Kind::I32 => wrap_int(obj).map(|v| ValRaw::i32(v as u32 as i32)),
        Kind::I64 => wrap_int(obj).map(|v| ValRaw::i64(v as i64)),
        Kind::F32 => float(obj).map(|v| ValRaw::f32((v as f32).to_bits())),
        Kind::F64 => float(obj).map(|v| ValRaw::f64(v.to_bits())),
        _ => None,
    };
    match raw {
        Some(raw) => Ok(raw),
        None => match obj.cast::<PyVal>() {
            Ok(v) => v.get().to_raw(kind),
            Err(_) => Err(cannot_convert(obj, kind)),
        },
    }
}

/// A raw numeric wasm value as a Python value.
pub fn from_raw(py: Python<'_>, raw: &ValRaw, kind: Kind) -> PyResult<Py<PyAny>> {
    Ok(match kind {
        Kind::I32 => raw.get_i32().into_pyobject(py)?.into_any().unbind(),
        Kind::I64 => raw.get_i64().into_pyobject(py)?.into_any().unbind(),
        Kind::F32 => (f32::from_bits(raw.get_f32()) as f64).into_pyobject(py)?.into_any().unbind(),
        Kind::F64 => f64::from_bits(raw.get_f64()).into_pyobject(py)?.into_any().unbind(),
        _ => return Err(wasmtime_error("internal error: not a numeric kind")),
    })
}

/// The payload of an externref made from Python: one reference to the object. `None` once the
/// store's `__clear__` broke a reference cycle through it (the store is garbage by then).
pub struct ExternCell(GilCell<Option<Py<PyAny>>>);

impl ExternCell {
    /// Registers a new payload for `obj` with the store.
    pub fn new(py: Python<'_>, shared: &Shared, obj: Py<PyAny>) -> Arc<ExternCell> {
        let cell = Self::unregistered(obj);
        shared.objects(py, |o| o.add_extern(&cell));
        cell
    }

    /// A cell that some owner other than a store reports to the GC until a store takes it
    /// (`Objects::add_extern`); WASI output callbacks use this.
    pub fn unregistered(obj: Py<PyAny>) -> Arc<ExternCell> {
        Arc::new(ExternCell(GilCell::new(Some(obj))))
    }

    pub fn get(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        // SAFETY: GIL held; the borrow ends before any Python code runs.
        unsafe { self.0.get(py) }.as_ref().map(|o| o.clone_ref(py))
    }

    /// The object, for `__traverse__`.
    ///
    /// # Safety
    /// The GIL is held and no other thread can drop or clear the cell meanwhile.
    pub unsafe fn peek(&self) -> Option<&Py<PyAny>> {
        // SAFETY: see the method contract.
        unsafe { (*self.0.0.get()).as_ref() }
    }

    pub fn clear(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        // SAFETY: GIL held; the borrow ends before the taken object is dropped by the caller.
        unsafe { self.0.get(py) }.take()
    }
}

/// A Python value converted for a wasm slot, ready to cross into wasm without the GIL.
pub enum Arg {
    Val(wasmtime::Val),
    Extern(Option<Arc<ExternCell>>),
}

impl Arg {
    pub fn from_py(py: Python<'_>, obj: &Bound<'_, PyAny>, ty: &wasmtime::ValType, shared: &Shared) -> PyResult<Arg> {
        let store_id = shared.id;
        let kind = Kind::of(ty);
        if kind.is_numeric() {
            let raw = to_raw(obj, kind)?;
            return Ok(Arg::Val(match kind {
                Kind::I32 => wasmtime::Val::I32(raw.get_i32()),
                Kind::I64 => wasmtime::Val::I64(raw.get_i64()),
                Kind::F32 => wasmtime::Val::F32(raw.get_f32()),
                _ => wasmtime::Val::F64(raw.get_f64()),
            }));
        }
        if let Ok(v) = obj.cast::<PyVal>() {
            return v.get().to_arg(py, kind, shared);
        }
        match kind {
            Kind::ExternRef => Ok(Arg::Extern((!obj.is_none()).then(|| ExternCell::new(py, shared, obj.clone().unbind())))),
            Kind::FuncRef => {
                if obj.is_none() {
                    return Ok(Arg::Val(wasmtime::Val::FuncRef(None)));
                }
                let f = obj.cast::<PyFunc>().map_err(|_| cannot_convert(obj, kind))?;
                let f = f.get();
                if f.store_id != store_id {
                    return Err(wasmtime_error("object used with the wrong store"));
                }
                Ok(Arg::Val(wasmtime::Val::FuncRef(Some(f.func))))
            }
            _ => Err(cannot_convert(obj, kind)),
        }
    }

    /// The wasm value; externrefs are rooted in the current `RootScope` of `cx`.
    pub fn into_val(self, mut cx: impl AsContextMut<Data = StoreData>) -> wasmtime::Result<wasmtime::Val> {
        Ok(match self {
            Arg::Val(v) => v,
            Arg::Extern(None) => wasmtime::Val::ExternRef(None),
            Arg::Extern(Some(obj)) => wasmtime::Val::ExternRef(Some(wasmtime::ExternRef::new(&mut cx, obj)?)),
        })
    }
}

/// A wasm value taken out of the store, ready to become a Python value under the GIL.
#[derive(Clone)]
pub enum Out {
    Val(wasmtime::Val),
    Extern(Option<Arc<ExternCell>>),
}

impl Out {
    pub fn from_val(cx: impl AsContextMut<Data = StoreData>, val: &wasmtime::Val) -> wasmtime::Result<Out> {
        Ok(match val {
            wasmtime::Val::ExternRef(None) => Out::Extern(None),
            wasmtime::Val::ExternRef(Some(r)) => {
                let data = r.data(&cx)?;
                Out::Extern(data.and_then(|d| d.downcast_ref::<Arc<ExternCell>>()).cloned())
            }
            other => Out::Val(*other),
        })
    }

    pub fn into_py(self, py: Python<'_>, store_id: u64) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Out::Extern(None) => py.None(),
            Out::Extern(Some(cell)) => cell.get(py).unwrap_or_else(|| py.None()),
            Out::Val(wasmtime::Val::I32(v)) => v.into_pyobject(py)?.into_any().unbind(),
            Out::Val(wasmtime::Val::I64(v)) => v.into_pyobject(py)?.into_any().unbind(),
            Out::Val(wasmtime::Val::F32(v)) => (f32::from_bits(v) as f64).into_pyobject(py)?.into_any().unbind(),
            Out::Val(wasmtime::Val::F64(v)) => f64::from_bits(v).into_pyobject(py)?.into_any().unbind(),
            Out::Val(wasmtime::Val::FuncRef(None)) => py.None(),
            Out::Val(wasmtime::Val::FuncRef(Some(f))) => Py::new(py, PyFunc::lazy(store_id, f))?.into_any(),
            Out::Val(_) => return Err(wasmtime_error("this wasm value type has no Python representation")),
        })
    }
}

#[derive(Debug)]
enum V {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    ExternRef(Option<Py<PyAny>>),
    FuncRef(Option<Py<PyFunc>>),
}

/// A typed wasm value.
#[pyclass(frozen, module = "wasmtime", name = "Val")]
pub struct PyVal {
    v: V,
}

impl PyVal {
    fn kind(&self) -> Kind {
        match self.v {
            V::I32(_) => Kind::I32,
            V::I64(_) => Kind::I64,
            V::F32(_) => Kind::F32,
            V::F64(_) => Kind::F64,
            V::ExternRef(_) => Kind::ExternRef,
            V::FuncRef(_) => Kind::FuncRef,
        }
    }

    fn wrong_type() -> PyErr {
        PyTypeError::new_err("wrong type of `Val` provided")
    }

    fn to_raw(&self, kind: Kind) -> PyResult<ValRaw> {
        match (&self.v, kind) {
            (V::I32(v), Kind::I32) => Ok(ValRaw::i32(*v)),
            (V::I64(v), Kind::I64) => Ok(ValRaw::i64(*v)),
            (V::F32(v), Kind::F32) => Ok(ValRaw::f32(*v)),
            (V::F64(v), Kind::F64) => Ok(ValRaw::f64(*v)),
            _ => Err(Self::wrong_type()),
        }
    }

    fn to_arg(&self, py: Python<'_>, kind: Kind, shared: &Shared) -> PyResult<Arg> {
        let store_id = shared.id;
        match (&self.v, kind) {
            (V::ExternRef(o), Kind::ExternRef) => Ok(Arg::Extern(o.as_ref().map(|o| ExternCell::new(py, shared, o.clone_ref(py))))),
            (V::FuncRef(None), Kind::FuncRef) => Ok(Arg::Val(wasmtime::Val::FuncRef(None))),
            (V::FuncRef(Some(f)), Kind::FuncRef) => {
                let f = f.get();
                if f.store_id != store_id {
                    return Err(wasmtime_error("object used with the wrong store"));
                }
                Ok(Arg::Val(wasmtime::Val::FuncRef(Some(f.func))))
            }
            _ => Err(Self::wrong_type()),
        }
    }

    fn py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match &self.v {
            V::I32(v) => v.into_pyobject(py)?.into_any().unbind(),
            V::I64(v) => v.into_pyobject(py)?.into_any().unbind(),
            V::F32(v) => (f32::from_bits(*v) as f64).into_pyobject(py)?.into_any().unbind(),
            V::F64(v) => f64::from_bits(*v).into_pyobject(py)?.into_any().unbind(),
            V::ExternRef(o) => o.as_ref().map(|o| o.clone_ref(py)).unwrap_or_else(|| py.None()),
            V::FuncRef(f) => f.as_ref().map(|f| f.clone_ref(py).into_any()).unwrap_or_else(|| py.None()),
        })
    }

    fn as_kind(&self, py: Python<'_>, kind: Kind) -> PyResult<Option<Py<PyAny>>> {
        if self.kind() == kind { self.py_value(py).map(Some) } else { Ok(None) }
    }

    /// `Val(kind, value)` from a `ValType` or a wasm.h kind code.
    fn from_kind(kind: Kind, val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        match kind {
            Kind::I32 => Self::i32(val),
            Kind::I64 => Self::i64(val),
            Kind::F32 => Self::f32(val),
            Kind::F64 => Self::f64(val),
            Kind::ExternRef => Ok(Self::externref(val)),
            Kind::FuncRef => Self::funcref(val),
            _ => Err(PyTypeError::new_err("unsupported value kind")),
        }
    }
}

#[pymethods]
impl PyVal {
    #[new]
    fn new(kind: &Bound<'_, PyAny>, val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        let kind = if let Ok(t) = kind.cast::<PyValType>() {
            Kind::of(&t.get().ty()?)
        } else {
            // The wasm.h kind codes wasmtime-py's ctypes constructor takes.
            match kind.extract::<u8>() {
                Ok(0) => Kind::I32,
                Ok(1) => Kind::I64,
                Ok(2) => Kind::F32,
                Ok(3) => Kind::F64,
                Ok(128) => Kind::ExternRef,
                Ok(129) => Kind::FuncRef,
                _ => return Err(PyTypeError::new_err("expected a ValType or a wasm value kind code")),
            }
        };
        Self::from_kind(kind, val)
    }

    #[staticmethod]
    fn i32(val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        let v = wrap_int(val).ok_or_else(|| PyTypeError::new_err("expected an integer"))?;
        Ok(PyVal { v: V::I32(v as u32 as i32) })
    }

    #[staticmethod]
    fn i64(val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        let v = wrap_int(val).ok_or_else(|| PyTypeError::new_err("expected an integer"))?;
        Ok(PyVal { v: V::I64(v as i64) })
    }

    #[staticmethod]
    fn f32(val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        let v = float(val).ok_or_else(|| PyTypeError::new_err("expected a float"))?;
        Ok(PyVal { v: V::F32((v as f32).to_bits()) })
    }

    #[staticmethod]
    fn f64(val: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        let v = float(val).ok_or_else(|| PyTypeError::new_err("expected a float"))?;
        Ok(PyVal { v: V::F64(v.to_bits()) })
    }

    #[staticmethod]
    fn externref(r#extern: &Bound<'_, PyAny>) -> PyVal {
        PyVal { v: V::ExternRef((!r#extern.is_none()).then(|| r#extern.clone().unbind())) }
    }

    #[staticmethod]
    fn funcref(f: &Bound<'_, PyAny>) -> PyResult<PyVal> {
        if f.is_none() {
            return Ok(PyVal { v: V::FuncRef(None) });
        }
        let f = f.cast::<PyFunc>().map_err(|_| PyTypeError::new_err("expected a Func or None"))?;
        Ok(PyVal { v: V::FuncRef(Some(f.clone().unbind())) })
    }

    /// A null reference of the given reference type.
    #[staticmethod]
    fn ref_null(ty: &Bound<'_, PyValType>) -> PyResult<PyVal> {
        let t = ty.get().ty()?;
        match Kind::of(&t) {
            Kind::ExternRef => Ok(PyVal { v: V::ExternRef(None) }),
            Kind::FuncRef => Ok(PyVal { v: V::FuncRef(None) }),
            k => Err(wasmtime_error(format!("Invalid reference type for `ref_null`: {}", k.name()))),
        }
    }

    /// The value as a Python object.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.py_value(py)
    }

    #[getter]
    fn r#type(&self) -> PyValType {
        PyValType::new(match self.kind() {
            Kind::I32 => wasmtime::ValType::I32,
            Kind::I64 => wasmtime::ValType::I64,
            Kind::F32 => wasmtime::ValType::F32,
            Kind::F64 => wasmtime::ValType::F64,
            Kind::ExternRef => wasmtime::ValType::EXTERNREF,
            _ => wasmtime::ValType::FUNCREF,
        })
    }

    fn as_i32(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::I32)
    }

    fn as_i64(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::I64)
    }

    fn as_f32(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::F32)
    }

    fn as_f64(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::F64)
    }

    fn as_externref(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::ExternRef)
    }

    fn as_funcref(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.as_kind(py, Kind::FuncRef)
    }

    /// Against a `Val`: same type and value. Against anything else: the value compares.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(o) = other.cast::<PyVal>() {
            let o = o.get();
            if o.kind() != self.kind() {
                return Ok(false);
            }
            return self.py_value(py)?.bind(py).eq(o.py_value(py)?);
        }
        self.py_value(py)?.bind(py).eq(other)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Val.{}({})", self.kind().name().replace("anyref", "externref"), self.py_value(py)?.bind(py).repr()?))
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.v {
            V::ExternRef(Some(o)) => visit.call(o),
            V::FuncRef(Some(f)) => visit.call(f),
            _ => Ok(()),
        }
    }
}

impl Arg {
    /// The table element for this value (`Arg` made for a reference type).
    pub fn into_ref(self, cx: impl AsContextMut<Data = StoreData>) -> wasmtime::Result<wasmtime::Ref> {
        match self.into_val(cx)? {
            wasmtime::Val::FuncRef(f) => Ok(wasmtime::Ref::Func(f)),
            wasmtime::Val::ExternRef(e) => Ok(wasmtime::Ref::Extern(e)),
            _ => Err(wasmtime::Error::msg("expected a reference value")),
        }
    }
}

impl Out {
    pub fn from_ref(cx: impl AsContextMut<Data = StoreData>, r: &wasmtime::Ref) -> wasmtime::Result<Out> {
        match r {
            wasmtime::Ref::Func(f) => Ok(Out::Val(wasmtime::Val::FuncRef(*f))),
            wasmtime::Ref::Extern(e) => Out::from_val(cx, &wasmtime::Val::ExternRef(*e)),
            _ => Ok(Out::Val(wasmtime::Val::AnyRef(None))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kinds_of_value_types() {
        assert_eq!(Kind::of(&wasmtime::ValType::I32), Kind::I32);
        assert_eq!(Kind::of(&wasmtime::ValType::F64), Kind::F64);
        assert_eq!(Kind::of(&wasmtime::ValType::V128), Kind::V128);
        assert_eq!(Kind::of(&wasmtime::ValType::EXTERNREF), Kind::ExternRef);
        assert_eq!(Kind::of(&wasmtime::ValType::FUNCREF), Kind::FuncRef);
        assert_eq!(Kind::of(&wasmtime::ValType::ANYREF), Kind::Other);
        assert!(Kind::I64.is_numeric() && !Kind::FuncRef.is_numeric() && !Kind::V128.is_numeric());
    }
}
