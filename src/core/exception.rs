//! Wasm exceptions (the exceptions proposal) crossing into and out of Python.
//!
//! * An exception thrown by wasm and caught by nobody ends the call with wasmtime's
//!   `ThrownException`, leaving the exception object pending in the store. [`take`] takes it
//!   out while the store is at hand and reads its tag and payload; the caller then raises
//!   `wasmtime.WasmException` (a `Trap`) carrying both.
//! * A host function that raises `WasmException(tag, values)` throws that exception into the
//!   wasm that called it ([`throw`]), where `try_table` can catch it. So an exception from
//!   nested wasm passes through Python frames that do not catch it, as it would through wasm.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use wasmtime::{AsContextMut, StoreContextMut};

use crate::core::frame::PyFrame;
use crate::core::store::StoreData;
use crate::core::tag::PyTag;
use crate::core::val::{Arg, Out};
use crate::errors::{self, HostError, type_error, wasmtime_error};

/// An uncaught wasm exception, taken out of its store (carried as a `wasmtime::Error`).
pub struct Uncaught {
    pub store_id: u64,
    pub tag: wasmtime::Tag,
    pub values: Vec<Out>,
    pub message: String,
    pub frames: Vec<PyFrame>,
}

impl std::fmt::Display for Uncaught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Debug for Uncaught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Uncaught {}

/// If `err` is an uncaught wasm exception, takes it out of the store as an [`Uncaught`].
pub fn take(mut cx: StoreContextMut<'_, StoreData>, err: wasmtime::Error, store_id: u64) -> wasmtime::Error {
    if err.downcast_ref::<wasmtime::ThrownException>().is_none() {
        return err;
    }
    let mut scope = wasmtime::RootScope::new(&mut cx);
    let Some(exn) = scope.as_context_mut().take_pending_exception() else {
        return err;
    };
    let read = |scope: &mut wasmtime::RootScope<_>| -> wasmtime::Result<(wasmtime::Tag, Vec<Out>)> {
        let tag = exn.tag(&mut *scope)?;
        let vals: Vec<wasmtime::Val> = exn.fields(&mut *scope)?.collect();
        let values = vals.iter().map(|v| Out::from_val(&mut *scope, v)).collect::<wasmtime::Result<_>>()?;
        Ok((tag, values))
    };
    match read(&mut scope) {
        Ok((tag, values)) => {
            let frames = errors::frames_of(&err);
            let message = format!("{err:?}");
            wasmtime::Error::new(Uncaught { store_id, tag, values, message, frames })
        }
        Err(_) => err,
    }
}

static WASM_EXCEPTION: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn class(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    WASM_EXCEPTION.import(py, "wasmtime._error", "WasmException")
}

/// The `WasmException` for an uncaught exception.
pub fn to_python(py: Python<'_>, e: &Uncaught) -> PyResult<PyErr> {
    let tag = Py::new(py, PyTag::new(e.store_id, e.tag))?;
    let values = e.values.iter().map(|v| v.clone().into_py(py, e.store_id).unwrap_or_else(|_| py.None())).collect::<Vec<_>>();
    let exc = class(py)?.call1((tag, values, e.message.clone()))?;
    let frames = e.frames.iter().map(PyFrame::duplicate).collect::<PyResult<Vec<_>>>()?;
    errors::set_trap_details(&exc, frames, Some(wasmtime::Trap::UncaughtException as u8))?;
    Ok(PyErr::from_value(exc))
}

/// If `err` is a `WasmException`, throws it into the wasm that called the host function: the
/// returned error unwinds to the nearest matching `catch` (or out to the host as uncaught).
/// Any problem building the exception object comes back as that Python error instead.
pub fn throw(py: Python<'_>, err: &PyErr, caller: &mut wasmtime::Caller<'_, StoreData>) -> Option<wasmtime::Error> {
    let value = err.value(py);
    match class(py) {
        Ok(c) if value.is_instance(c).unwrap_or(false) => {}
        _ => return None,
    }
    let shared = caller.data().shared.clone();
    let mut build = || -> PyResult<wasmtime::Error> {
        let tag = value.getattr("tag")?;
        let tag = tag.cast::<PyTag>().map_err(|_| type_error("WasmException.tag must be a Tag"))?.get();
        if tag.store_id != shared.id {
            return Err(wasmtime_error("WasmException.tag belongs to another store"));
        }
        let ty = tag.tag.ty(&*caller);
        let values: Vec<Bound<'_, PyAny>> = value.getattr("values")?.try_iter()?.collect::<PyResult<_>>()?;
        let params: Vec<wasmtime::ValType> = ty.ty().params().collect();
        if values.len() != params.len() {
            return Err(wasmtime_error(format!(
                "WasmException has {} values, its tag expects {}",
                values.len(),
                params.len()
            )));
        }
        let args = values.iter().zip(&params).map(|(v, t)| Arg::from_py(py, v, t, &shared)).collect::<PyResult<Vec<_>>>()?;
        let make = |caller: &mut wasmtime::Caller<'_, StoreData>| -> wasmtime::Result<wasmtime::Error> {
            let mut scope = wasmtime::RootScope::new(caller);
            let vals = args.into_iter().map(|a| a.into_val(&mut scope)).collect::<wasmtime::Result<Vec<_>>>()?;
            let pre = wasmtime::ExnRefPre::new(&mut scope, wasmtime::ExnType::from_tag_type(&ty)?);
            let exn = wasmtime::ExnRef::new(&mut scope, &pre, &tag.tag, &vals)?;
            Ok(scope.as_context_mut().throw::<()>(exn).unwrap_err())
        };
        make(caller).map_err(errors::from_wasmtime)
    };
    Some(build().unwrap_or_else(|e| HostError(e).into()))
}
