//! Type reflection: `ComponentType`, `ComponentInstanceType`, `ModuleType`, `FuncType`, and the
//! handle on one value type that the Python value-type classes wrap (`ComponentValType`).
//!
//! Value types are handed to Python as objects of `wasmtime.component._types`: the handle is
//! passed to `_types._wrap`, which picks the class (`U8()`, `ListType(handle)`, ...).

use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use wasmtime::component::types::{self as ct, ComponentItem};
use wasmtime::component::Type;

use crate::component::no_constructor;
use crate::component::resource_type::PyResourceType;
use crate::core::engine::PyEngine;
use crate::core::types::{PyExportType, PyImportType};

/// The Python value-type object of `ty` (`_types._wrap(handle)`).
pub fn wrap(py: Python<'_>, ty: Type) -> PyResult<Py<PyAny>> {
    static WRAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let f = WRAP.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("wasmtime.component._types")?.getattr("_wrap")?.unbind())
    })?;
    Ok(f.bind(py).call1((PyComponentValType { ty },))?.unbind())
}

fn wrap_opt(py: Python<'_>, ty: Option<Type>) -> PyResult<Option<Py<PyAny>>> {
    ty.map(|t| wrap(py, t)).transpose()
}

/// The Python object for an item of a component's imports or exports.
fn item(py: Python<'_>, item: ComponentItem) -> PyResult<Py<PyAny>> {
    Ok(match item {
        ComponentItem::ComponentFunc(ty) => Py::new(py, PyFuncType { ty })?.into_any(),
        ComponentItem::Module(ty) => Py::new(py, PyModuleType { ty })?.into_any(),
        ComponentItem::Component(ty) => Py::new(py, PyComponentType { ty })?.into_any(),
        ComponentItem::ComponentInstance(ty) => Py::new(py, PyComponentInstanceType { ty })?.into_any(),
        ComponentItem::Type(ty) => wrap(py, ty)?,
        ComponentItem::Resource(ty) => Py::new(py, PyResourceType { ty })?.into_any(),
        _ => return Err(PyTypeError::new_err("unknown component item kind")),
    })
}

fn items<'a, 'py>(
    py: Python<'py>,
    entries: impl Iterator<Item = (&'a str, ct::ComponentExtern<'a>)>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, ext) in entries {
        dict.set_item(name, item(py, ext.ty)?)?;
    }
    Ok(dict)
}

#[pyclass(frozen, module = "wasmtime.component", name = "ComponentType")]
pub struct PyComponentType {
    pub ty: ct::Component,
}

#[pymethods]
impl PyComponentType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("ComponentType"))
    }

    fn imports<'py>(&self, py: Python<'py>, engine: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let engine = PyEngine::extract(engine)?;
        items(py, self.ty.imports(&engine.engine))
    }

    fn exports<'py>(&self, py: Python<'py>, engine: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let engine = PyEngine::extract(engine)?;
        items(py, self.ty.exports(&engine.engine))
    }

    fn close(&self) {}
}

#[pyclass(frozen, module = "wasmtime.component", name = "ComponentInstanceType")]
pub struct PyComponentInstanceType {
    pub ty: ct::ComponentInstance,
}

#[pymethods]
impl PyComponentInstanceType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("ComponentInstanceType"))
    }

    fn exports<'py>(&self, py: Python<'py>, engine: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let engine = PyEngine::extract(engine)?;
        items(py, self.ty.exports(&engine.engine))
    }

    fn close(&self) {}
}

#[pyclass(frozen, module = "wasmtime.component", name = "ModuleType")]
pub struct PyModuleType {
    pub ty: ct::Module,
}

#[pymethods]
impl PyModuleType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("ModuleType"))
    }

    fn imports<'py>(&self, py: Python<'py>, engine: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let engine = PyEngine::extract(engine)?;
        let list: Vec<_> = self.ty.imports(&engine.engine).map(|((m, n), ty)| PyImportType::new(m, n, ty)).collect();
        PyList::new(py, list)
    }

    fn exports<'py>(&self, py: Python<'py>, engine: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let engine = PyEngine::extract(engine)?;
        let list: Vec<_> = self.ty.exports(&engine.engine).map(|(n, ty)| PyExportType::new(n, ty)).collect();
        PyList::new(py, list)
    }

    fn close(&self) {}
}

#[pyclass(frozen, module = "wasmtime.component", name = "FuncType")]
pub struct PyFuncType {
    pub ty: ct::ComponentFunc,
}

#[pymethods]
impl PyFuncType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("FuncType"))
    }

    /// `[(name, ValType), ...]`.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (name, ty) in self.ty.params() {
            list.append((name, wrap(py, ty)?))?;
        }
        Ok(list)
    }

    /// The result type, or None.
    #[getter]
    fn result(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        wrap_opt(py, self.ty.results().next())
    }

    fn close(&self) {}
}

/// One component value type, as wasmtime knows it (structural equality included).
#[pyclass(frozen, module = "wasmtime.component", name = "ComponentValType")]
pub struct PyComponentValType {
    pub ty: Type,
}

impl PyComponentValType {
    fn missing(&self, what: &str) -> PyErr {
        PyAttributeError::new_err(format!("a {} type has no {what}", kind(&self.ty)))
    }
}

/// The name of a type's kind, as `ComponentValType.kind` gives it.
pub fn kind(ty: &Type) -> &'static str {
    match ty {
        Type::Bool => "bool",
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::List(_) => "list",
        Type::Map(_) => "map",
        Type::Record(_) => "record",
        Type::Tuple(_) => "tuple",
        Type::Variant(_) => "variant",
        Type::Enum(_) => "enum",
        Type::Option(_) => "option",
        Type::Result(_) => "result",
        Type::Flags(_) => "flags",
        Type::Own(_) => "own",
        Type::Borrow(_) => "borrow",
        Type::Future(_) => "future",
        Type::Stream(_) => "stream",
        Type::ErrorContext => "error-context",
        Type::FixedLengthList(_) => "fixed-length-list",
    }
}

#[pymethods]
impl PyComponentValType {
    #[new]
    fn new() -> PyResult<Self> {
        Err(no_constructor("ComponentValType"))
    }

    #[getter]
    fn kind(&self) -> &'static str {
        kind(&self.ty)
    }

    #[getter]
    fn element(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.ty {
            Type::List(l) => wrap(py, l.ty()),
            Type::FixedLengthList(l) => wrap(py, l.ty()),
            _ => Err(self.missing("element")),
        }
    }

    /// The length of a fixed-length list.
    #[getter]
    fn length(&self) -> PyResult<u32> {
        match &self.ty {
            Type::FixedLengthList(l) => Ok(l.len()),
            _ => Err(self.missing("length")),
        }
    }

    #[getter]
    fn key(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.ty {
            Type::Map(m) => wrap(py, m.key()),
            _ => Err(self.missing("key")),
        }
    }

    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.ty {
            Type::Map(m) => wrap(py, m.value()),
            _ => Err(self.missing("value")),
        }
    }

    #[getter]
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let Type::Record(r) = &self.ty else { return Err(self.missing("fields")) };
        let list = PyList::empty(py);
        for f in r.fields() {
            list.append((f.name, wrap(py, f.ty)?))?;
        }
        Ok(list)
    }

    #[getter]
    fn elements<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let Type::Tuple(t) = &self.ty else { return Err(self.missing("elements")) };
        let items = t.types().map(|t| wrap(py, t)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    #[getter]
    fn cases<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let Type::Variant(v) = &self.ty else { return Err(self.missing("cases")) };
        let list = PyList::empty(py);
        for c in v.cases() {
            list.append((c.name, wrap_opt(py, c.ty)?))?;
        }
        Ok(list)
    }

    #[getter]
    fn names<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names: Vec<&str> = match &self.ty {
            Type::Enum(e) => e.names().collect(),
            Type::Flags(f) => f.names().collect(),
            _ => return Err(self.missing("names")),
        };
        PyList::new(py, names)
    }

    #[getter]
    fn payload(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.ty {
            Type::Option(o) => wrap(py, o.ty()).map(Some),
            Type::Future(f) => wrap_opt(py, f.ty()),
            Type::Stream(s) => wrap_opt(py, s.ty()),
            _ => Err(self.missing("payload")),
        }
    }

    #[getter]
    fn ok(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.ty {
            Type::Result(r) => wrap_opt(py, r.ok()),
            _ => Err(self.missing("ok")),
        }
    }

    #[getter]
    fn err(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.ty {
            Type::Result(r) => wrap_opt(py, r.err()),
            _ => Err(self.missing("err")),
        }
    }

    #[getter]
    fn resource(&self) -> PyResult<PyResourceType> {
        match &self.ty {
            Type::Own(r) | Type::Borrow(r) => Ok(PyResourceType { ty: *r }),
            _ => Err(self.missing("resource")),
        }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyComponentValType>().is_ok_and(|o| o.get().ty == self.ty)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        kind(&self.ty).hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!("<ComponentValType {}>", kind(&self.ty))
    }
}

