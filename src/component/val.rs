//! Python values <-> `component::Val`, guided by the wasmtime type (wasmtime-py's mapping).
//!
//! | WIT | Python in | Python out |
//! |---|---|---|
//! | bool | `bool` | bool |
//! | integers | `int` (wraps to the width, as wasmtime-py's ctypes does) | int |
//! | f32, f64 | `float` | float |
//! | char, string | `str` (one character for char) | str |
//! | list<u8> | `bytes` | bytes |
//! | list<T> | `list` | list |
//! | record | any object with the fields as attributes | `Record` |
//! | tuple | `tuple` of the right length | tuple |
//! | enum | `str` | str |
//! | flags | `set` of str | set |
//! | variant, option, result | untagged or tagged (below) | |
//! | own, borrow | `ResourceAny` or `ResourceHost` | `ResourceAny` |
//!
//! Variant-like values are *untagged* when the Python classes of their cases are disjoint (a
//! payload-less case counting as `object`): the bare payload goes in and comes out, `None` for a
//! payload-less case, and the case is chosen by `isinstance`, in declaration order. Otherwise
//! they are *tagged*: `Variant(tag, payload)`.
//!
//! Resources need the store and care with their handles: [`Resources`] carries both through a
//! conversion (see there).

use pyo3::exceptions::{PyNotImplementedError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PySet, PyString, PyTuple, PyType};
use wasmtime::component::{ResourceAny, Type, Val};

use crate::component::resource_any::PyResourceAny;
use crate::component::resource_host::PyResourceHost;
use crate::core::store::StoreRef;
use crate::errors;

/// The Python classes of a type's values, coarsely: what decides tagging and `isinstance`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    List,
    Record,
    Tuple,
    Set,
    Dict,
    Variant,
    Resource,
    /// The class of a case with no payload.
    Object,
}

fn classes(ty: &Type, out: &mut Vec<Class>) {
    let class = match ty {
        Type::Bool => Class::Bool,
        Type::S8 | Type::U8 | Type::S16 | Type::U16 | Type::S32 | Type::U32 | Type::S64 | Type::U64 => Class::Int,
        Type::Float32 | Type::Float64 => Class::Float,
        Type::Char | Type::String | Type::Enum(_) => Class::Str,
        Type::List(l) if matches!(l.ty(), Type::U8) => Class::Bytes,
        Type::List(_) | Type::FixedLengthList(_) => Class::List,
        Type::Map(_) => Class::Dict,
        Type::Record(_) => Class::Record,
        Type::Tuple(_) => Class::Tuple,
        Type::Flags(_) => Class::Set,
        Type::Variant(_) | Type::Option(_) | Type::Result(_) => {
            let cases = cases(ty);
            if tagged(&cases) {
                Class::Variant
            } else {
                for (_, payload) in &cases {
                    match payload {
                        Some(t) => classes(t, out),
                        None => out.push(Class::Object),
                    }
                }
                return;
            }
        }
        Type::Own(_) | Type::Borrow(_) => Class::Resource,
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => return,
    };
    if !out.contains(&class) {
        out.push(class);
    }
}

/// The cases of a variant-like type: `(name, payload type)`.
fn cases(ty: &Type) -> Vec<(String, Option<Type>)> {
    match ty {
        Type::Variant(v) => v.cases().map(|c| (c.name.to_owned(), c.ty)).collect(),
        Type::Option(o) => vec![("none".into(), None), ("some".into(), Some(o.ty()))],
        Type::Result(r) => vec![("ok".into(), r.ok()), ("err".into(), r.err())],
        _ => Vec::new(),
    }
}

fn case_classes(payload: &Option<Type>) -> Vec<Class> {
    let mut out = Vec::new();
    match payload {
        Some(t) => classes(t, &mut out),
        None => out.push(Class::Object),
    }
    out
}

/// Whether two cases share a Python class (then values need a `Variant` tag).
fn tagged(cases: &[(String, Option<Type>)]) -> bool {
    let sets: Vec<Vec<Class>> = cases.iter().map(|(_, p)| case_classes(p)).collect();
    sets.iter().enumerate().any(|(i, a)| sets[i + 1..].iter().any(|b| a.iter().any(|c| b.contains(c))))
}

fn types_class<'py>(py: Python<'py>, cell: &'static PyOnceLock<Py<PyType>>, name: &str) -> PyResult<Bound<'py, PyType>> {
    cell.import(py, "wasmtime.component._types", name).cloned()
}

fn record_class(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    static RECORD: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    types_class(py, &RECORD, "Record")
}

fn variant_class(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    static VARIANT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    types_class(py, &VARIANT, "Variant")
}

/// Whether `obj` is an instance of `class`, as wasmtime-py's `isinstance` checks see it.
fn is_instance(obj: &Bound<'_, PyAny>, class: Class) -> PyResult<bool> {
    let py = obj.py();
    Ok(match class {
        Class::Bool => obj.is_instance_of::<PyBool>(),
        Class::Int => obj.is_instance_of::<PyInt>(),
        Class::Float => obj.is_instance_of::<PyFloat>(),
        Class::Str => obj.is_instance_of::<PyString>(),
        Class::Bytes => obj.is_instance_of::<PyBytes>(),
        Class::List => obj.is_instance_of::<PyList>(),
        Class::Tuple => obj.is_instance_of::<PyTuple>(),
        Class::Set => obj.is_instance_of::<PySet>(),
        Class::Dict => obj.is_instance_of::<pyo3::types::PyDict>(),
        Class::Record => obj.is_instance(record_class(py)?.as_any())?,
        Class::Variant => obj.is_instance(variant_class(py)?.as_any())?,
        Class::Resource => obj.is_instance_of::<PyResourceAny>() || obj.is_instance_of::<PyResourceHost>(),
        Class::Object => obj.is_none(),
    })
}

fn expected(what: &str, ty: &Type, obj: &Bound<'_, PyAny>) -> PyErr {
    let got = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    let kind = crate::component::types::kind(ty);
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    PyTypeError::new_err(format!("expected {what} for {article} {kind} value, got {got}"))
}

/// The low 64 bits of a Python int (two's complement), as ctypes keeps them.
fn wrapped(obj: &Bound<'_, PyAny>, ty: &Type) -> PyResult<u64> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(expected("int", ty, obj));
    }
    // SAFETY: `obj` is a live int; the mask variant never overflows, and -1 with an error set
    // is the only failure (checked below).
    let v = unsafe { pyo3::ffi::PyLong_AsUnsignedLongLongMask(obj.as_ptr()) };
    if v == u64::MAX
        && let Some(e) = PyErr::take(obj.py())
    {
        return Err(e);
    }
    Ok(v)
}

/// Converts `obj` to a value of `ty`.
pub fn to_val(obj: &Bound<'_, PyAny>, ty: &Type, rs: &mut Resources<'_, '_>) -> PyResult<Val> {
    Ok(match ty {
        Type::Bool => match obj.cast::<PyBool>() {
            Ok(b) => Val::Bool(b.is_true()),
            Err(_) => return Err(expected("bool", ty, obj)),
        },
        Type::S8 => Val::S8(wrapped(obj, ty)? as i8),
        Type::U8 => Val::U8(wrapped(obj, ty)? as u8),
        Type::S16 => Val::S16(wrapped(obj, ty)? as i16),
        Type::U16 => Val::U16(wrapped(obj, ty)? as u16),
        Type::S32 => Val::S32(wrapped(obj, ty)? as i32),
        Type::U32 => Val::U32(wrapped(obj, ty)? as u32),
        Type::S64 => Val::S64(wrapped(obj, ty)? as i64),
        Type::U64 => Val::U64(wrapped(obj, ty)?),
        Type::Float32 | Type::Float64 => {
            let Ok(f) = obj.cast::<PyFloat>() else { return Err(expected("float", ty, obj)) };
            match ty {
                Type::Float32 => Val::Float32(f.value() as f32),
                _ => Val::Float64(f.value()),
            }
        }
        Type::Char => {
            let s = obj.cast::<PyString>().map_err(|_| expected("a str of length 1", ty, obj))?.to_str()?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(PyTypeError::new_err(format!("expected a str of length 1 for a char value, got {} characters", s.chars().count()))),
            }
        }
        Type::String => Val::String(obj.cast::<PyString>().map_err(|_| expected("str", ty, obj))?.to_str()?.to_owned()),
        Type::List(l) => {
            let element = l.ty();
            if matches!(element, Type::U8) {
                let b = obj.cast::<PyBytes>().map_err(|_| expected("bytes", ty, obj))?;
                Val::List(b.as_bytes().iter().map(|b| Val::U8(*b)).collect())
            } else {
                let list = obj.cast::<PyList>().map_err(|_| expected("list", ty, obj))?;
                Val::List(list.iter().map(|item| to_val(&item, &element, rs)).collect::<PyResult<_>>()?)
            }
        }
        Type::FixedLengthList(l) => {
            let list = obj.cast::<PyList>().map_err(|_| expected("list", ty, obj))?;
            if list.len() != l.len() as usize {
                return Err(PyValueError::new_err(format!("expected a list of {} elements, got {}", l.len(), list.len())));
            }
            let element = l.ty();
            Val::FixedLengthList(list.iter().map(|item| to_val(&item, &element, rs)).collect::<PyResult<_>>()?)
        }
        Type::Map(m) => {
            let dict = obj.cast::<pyo3::types::PyDict>().map_err(|_| expected("dict", ty, obj))?;
            let (k, v) = (m.key(), m.value());
            Val::Map(dict.iter().map(|(a, b)| Ok((to_val(&a, &k, rs)?, to_val(&b, &v, rs)?))).collect::<PyResult<_>>()?)
        }
        Type::Record(r) => Val::Record(
            r.fields()
                .map(|f| Ok((f.name.to_owned(), to_val(&obj.getattr(f.name)?, &f.ty, rs)?)))
                .collect::<PyResult<_>>()?,
        ),
        Type::Tuple(t) => {
            let tuple = obj.cast::<PyTuple>().map_err(|_| expected("tuple", ty, obj))?;
            if tuple.len() != t.types().len() {
                return Err(PyTypeError::new_err(format!("expected a tuple of {} elements, got {}", t.types().len(), tuple.len())));
            }
            Val::Tuple(tuple.iter().zip(t.types()).map(|(item, ty)| to_val(&item, &ty, rs)).collect::<PyResult<_>>()?)
        }
        Type::Enum(_) => Val::Enum(obj.cast::<PyString>().map_err(|_| expected("str", ty, obj))?.to_str()?.to_owned()),
        Type::Flags(_) => {
            let set = obj.cast::<PySet>().map_err(|_| expected("set", ty, obj))?;
            let mut names = set.iter().map(|n| n.extract::<String>()).collect::<PyResult<Vec<_>>>()?;
            names.sort();
            Val::Flags(names)
        }
        Type::Variant(_) | Type::Option(_) | Type::Result(_) => {
            let (index, payload) = choose_case(obj, ty, rs)?;
            let boxed = payload.map(Box::new);
            match ty {
                Type::Option(_) => Val::Option(boxed),
                Type::Result(_) => Val::Result(if index == 0 { Ok(boxed) } else { Err(boxed) }),
                _ => Val::Variant(cases(ty).swap_remove(index).0, boxed),
            }
        }
        Type::Own(_) | Type::Borrow(_) => rs.lower(obj, ty)?,
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            return Err(PyNotImplementedError::new_err(format!("{} values are not supported", crate::component::types::kind(ty))));
        }
    })
}

/// The case (index) a variant-like Python value stands for, and its converted payload.
fn choose_case(obj: &Bound<'_, PyAny>, ty: &Type, rs: &mut Resources<'_, '_>) -> PyResult<(usize, Option<Val>)> {
    let cases = cases(ty);
    let invalid = || PyValueError::new_err("value not valid for this variant");
    if tagged(&cases) {
        if !obj.is_instance(variant_class(obj.py())?.as_any())? {
            return Err(expected("a Variant", ty, obj));
        }
        let tag: String = obj.getattr("tag")?.extract()?;
        let index = cases.iter().position(|(name, _)| *name == tag).ok_or_else(invalid)?;
        let payload = match &cases[index].1 {
            Some(t) => Some(to_val(&obj.getattr("payload")?, t, rs)?),
            None => None,
        };
        return Ok((index, payload));
    }
    for (index, (_, payload)) in cases.iter().enumerate() {
        match payload {
            None if obj.is_none() => return Ok((index, None)),
            None => {}
            Some(t) => {
                for class in case_classes(payload) {
                    if is_instance(obj, class)? {
                        return Ok((index, Some(to_val(obj, t, rs)?)));
                    }
                }
            }
        }
    }
    Err(invalid())
}

/// Converts a value of `ty` to Python.
pub fn from_val(py: Python<'_>, val: &Val, ty: &Type, rs: &mut Resources<'_, '_>) -> PyResult<Py<PyAny>> {
    Ok(match val {
        Val::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Val::S8(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U8(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S16(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U16(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S32(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U32(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::S64(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::U64(v) => v.into_pyobject(py)?.into_any().unbind(),
        Val::Float32(v) => PyFloat::new(py, f64::from(*v)).into_any().unbind(),
        Val::Float64(v) => PyFloat::new(py, *v).into_any().unbind(),
        Val::Char(c) => c.into_pyobject(py)?.into_any().unbind(),
        Val::String(s) => PyString::new(py, s).into_any().unbind(),
        Val::Enum(s) => PyString::new(py, s).into_any().unbind(),
        Val::List(items) | Val::FixedLengthList(items) => {
            let element = match ty {
                Type::List(l) => l.ty(),
                Type::FixedLengthList(l) => l.ty(),
                _ => return Err(mismatch(ty)),
            };
            if matches!(ty, Type::List(_)) && matches!(element, Type::U8) {
                let bytes: Vec<u8> = items.iter().map(|v| if let Val::U8(b) = v { *b } else { 0 }).collect();
                PyBytes::new(py, &bytes).into_any().unbind()
            } else {
                let items = items.iter().map(|v| from_val(py, v, &element, rs)).collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any().unbind()
            }
        }
        Val::Map(pairs) => {
            let Type::Map(m) = ty else { return Err(mismatch(ty)) };
            let dict = pyo3::types::PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(from_val(py, k, &m.key(), rs)?, from_val(py, v, &m.value(), rs)?)?;
            }
            dict.into_any().unbind()
        }
        Val::Record(fields) => {
            let Type::Record(r) = ty else { return Err(mismatch(ty)) };
            let record = record_class(py)?.call0()?;
            for ((name, v), f) in fields.iter().zip(r.fields()) {
                record.setattr(name.as_str(), from_val(py, v, &f.ty, rs)?)?;
            }
            record.unbind()
        }
        Val::Tuple(items) => {
            let Type::Tuple(t) = ty else { return Err(mismatch(ty)) };
            let items = items.iter().zip(t.types()).map(|(v, t)| from_val(py, v, &t, rs)).collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any().unbind()
        }
        Val::Flags(names) => PySet::new(py, names)?.into_any().unbind(),
        Val::Variant(name, payload) => {
            let cases = cases(ty);
            let index = cases.iter().position(|(n, _)| n == name).ok_or_else(|| mismatch(ty))?;
            case_to_py(py, &cases, index, payload.as_deref(), rs)?
        }
        Val::Option(payload) => case_to_py(py, &cases(ty), usize::from(payload.is_some()), payload.as_deref(), rs)?,
        Val::Result(r) => {
            let (index, payload) = match r {
                Ok(p) => (0, p.as_deref()),
                Err(p) => (1, p.as_deref()),
            };
            case_to_py(py, &cases(ty), index, payload, rs)?
        }
        Val::Resource(any) => rs.lift(py, *any)?,
        Val::Future(_) | Val::Stream(_) | Val::ErrorContext(_) => {
            return Err(PyNotImplementedError::new_err(format!("{} values are not supported", crate::component::types::kind(ty))));
        }
    })
}

fn case_to_py(py: Python<'_>, cases: &[(String, Option<Type>)], index: usize, payload: Option<&Val>, rs: &mut Resources<'_, '_>) -> PyResult<Py<PyAny>> {
    let (name, payload_ty) = &cases[index];
    let payload = match (payload, payload_ty) {
        (Some(v), Some(t)) => Some(from_val(py, v, t, rs)?),
        _ => None,
    };
    if tagged(cases) {
        Ok(variant_class(py)?.call1((name.as_str(), payload))?.unbind())
    } else {
        Ok(payload.unwrap_or_else(|| py.None()))
    }
}

fn mismatch(ty: &Type) -> PyErr {
    PyTypeError::new_err(format!("value does not match its {} type", crate::component::types::kind(ty)))
}

/// The store side of converting values, and the resource handles a conversion touched.
///
/// * An `own` argument takes its `ResourceAny` handle (ownership moves into the call); if the
///   conversion fails before the call, [`Resources::undo`] gives the handles back.
/// * A `ResourceHost` argument enters the store as a new host-table entry; [`Resources::finish`]
///   removes the entries the call did not consume.
/// * A `borrow` lent to a host function must end with that function: `finish` drops the ones
///   Python did not drop or convert.
pub struct Resources<'a, 'py> {
    store: &'a StoreRef<'py>,
    taken: Vec<(Py<PyResourceAny>, ResourceAny)>,
    made: Vec<ResourceAny>,
    lent: Vec<Py<PyResourceAny>>,
}

impl<'a, 'py> Resources<'a, 'py> {
    pub fn new(store: &'a StoreRef<'py>) -> Self {
        Resources { store, taken: Vec::new(), made: Vec::new(), lent: Vec::new() }
    }

    fn lower(&mut self, obj: &Bound<'_, PyAny>, ty: &Type) -> PyResult<Val> {
        let own = matches!(ty, Type::Own(_));
        if let Ok(any) = obj.cast::<PyResourceAny>() {
            let r = any.get();
            self.store.check(r.store_id)?;
            if own && r.owned() {
                let handle = r.take()?;
                self.taken.push((any.clone().unbind(), handle));
                return Ok(Val::Resource(handle));
            }
            return Ok(Val::Resource(r.get()?));
        }
        if let Ok(host) = obj.cast::<PyResourceHost>() {
            let host = host.get();
            if own && !host.owned {
                return Err(errors::wasmtime_error("cannot lower a `borrow` resource into an `own`"));
            }
            let handle = self.store.with(obj.py(), |cx| host.lower(cx))?.map_err(errors::from_wasmtime)?;
            self.made.push(handle);
            return Ok(Val::Resource(handle));
        }
        Err(expected("a ResourceAny or ResourceHost", ty, obj))
    }

    fn lift(&mut self, py: Python<'_>, any: ResourceAny) -> PyResult<Py<PyAny>> {
        let handle = Py::new(py, PyResourceAny::new(self.store.id(), any))?;
        if !any.owned() {
            self.lent.push(handle.clone_ref(py));
        }
        Ok(handle.into_any())
    }

    /// Undoes a conversion that failed before its call ran (`err` says why, and is returned):
    /// gives back the handles it took and removes the host entries it made.
    pub fn undo(mut self, py: Python<'_>, err: PyErr) -> PyErr {
        for (any, handle) in self.taken.drain(..) {
            any.get().restore(handle);
        }
        match self.finish(py) {
            Ok(()) => err,
            Err(e) => e,
        }
    }

    /// Ends the conversion after the call (or host function) it was for: removes the host
    /// entries the call did not consume, and ends the borrows lent to Python.
    pub fn finish(self, py: Python<'_>) -> PyResult<()> {
        let lent: Vec<ResourceAny> = self.lent.iter().filter_map(|any| any.get().take().ok()).collect();
        if self.made.is_empty() && lent.is_empty() {
            return Ok(());
        }
        self.store.with(py, |mut cx| {
            // An entry an `own` parameter consumed is gone: dropping it fails, harmlessly.
            for handle in self.made {
                let _ = handle.resource_drop(&mut cx);
            }
            lent.into_iter().try_for_each(|handle| handle.resource_drop(&mut cx))
        })?
        .map_err(errors::from_wasmtime)
    }
}
