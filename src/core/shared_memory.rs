//! `SharedMemory`: a wasm threads memory. It belongs to an engine, not a store: any number of
//! stores (and threads) may import it at once, and it never moves, so its size only grows.
//!
//! Access from Python races with wasm running on other threads, exactly as wasm threads race
//! with each other: `read`/`write` copy bytes with no ordering guarantees beyond that; use
//! wasm atomics for synchronisation.

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::types::PyByteArray;

use crate::core::engine::PyEngine;
use crate::core::memory::{bytes_of, clamp, ctypes_pointer, grow_delta, new_bytearray, write_start};
use crate::core::types::PyMemoryType;
use crate::core::Closable;
use crate::errors;

#[pyclass(frozen, module = "wasmtime", name = "SharedMemory")]
pub struct PySharedMemory {
    memory: Closable<wasmtime::SharedMemory>,
    /// The engine it was made in, to refuse it in stores of another engine.
    pub engine: wasmtime::Engine,
}

impl PySharedMemory {
    pub fn wrap(engine: wasmtime::Engine, memory: wasmtime::SharedMemory) -> Self {
        PySharedMemory { memory: Closable::new(memory), engine }
    }

    pub fn memory(&self) -> PyResult<wasmtime::SharedMemory> {
        self.memory.get()
    }
}

#[pymethods]
impl PySharedMemory {
    #[new]
    fn new(py: Python<'_>, engine: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>) -> PyResult<Self> {
        // wasmtime-py fails on a missing attribute for a non-engine.
        let engine = engine.cast::<PyEngine>().map_err(|_| PyAttributeError::new_err("expected an Engine"))?;
        let engine = engine.get().state()?.engine.clone();
        if !ty.is_instance_of::<PyMemoryType>() {
            return Err(PyAttributeError::new_err("expected a MemoryType"));
        }
        let ty = PyMemoryType::extract(ty)?;
        let memory = py.detach(|| wasmtime::SharedMemory::new(&engine, ty)).map_err(errors::from_wasmtime)?;
        Ok(Self::wrap(engine, memory))
    }

    fn r#type(&self) -> PyResult<PyMemoryType> {
        Ok(PyMemoryType::from_wasmtime(self.memory()?.ty()))
    }

    /// Grows by `delta` pages; returns the previous size in pages.
    fn grow(&self, delta: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.memory()?.grow(grow_delta(delta)?).map_err(errors::from_wasmtime)
    }

    /// The size in pages.
    fn size(&self) -> PyResult<u64> {
        Ok(self.memory()?.size())
    }

    /// The size in bytes.
    fn data_len(&self) -> PyResult<usize> {
        Ok(self.memory()?.data_size())
    }

    /// Unsafe by contract: a ctypes `POINTER(c_ubyte)` to the base, unchecked; valid while this
    /// object (or a store using the memory) lives.
    fn data_ptr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        ctypes_pointer(py, self.memory()?.data().as_ptr() as usize)
    }

    /// Extension: a copy of `memory[start:stop]` (Python slice semantics) as a `bytearray`.
    #[pyo3(signature = (start=Some(0), stop=None), text_signature = "(self, start=0, stop=None)")]
    fn read<'py>(&self, py: Python<'py>, start: Option<i64>, stop: Option<i64>) -> PyResult<Bound<'py, PyByteArray>> {
        let memory = self.memory()?;
        let data = memory.data();
        let len = data.len();
        let start = clamp(start.unwrap_or(0), len);
        let stop = stop.map_or(len, |s| clamp(s, len));
        let n = stop.saturating_sub(start);
        new_bytearray(py, n, |dst| {
            // SAFETY: `[start, start + n)` lies in the memory, which stays mapped while `memory`
            // lives; concurrent wasm writes race as wasm threads do (module docs).
            unsafe { std::ptr::copy_nonoverlapping(data[start..].as_ptr().cast::<u8>(), dst, n) };
            Ok(())
        })
    }

    /// Extension: writes `value` (bytes-like) at `start`, as `Memory.write`.
    #[pyo3(signature = (value, start=None))]
    fn write(&self, value: &Bound<'_, PyAny>, start: Option<i64>) -> PyResult<usize> {
        let memory = self.memory()?;
        let bytes = bytes_of(value)?;
        let data = memory.data();
        let Some(start) = write_start(start, bytes.len(), data.len())? else {
            return Ok(0);
        };
        // SAFETY: `[start, start + len)` lies in the memory (checked above), which stays mapped
        // while `memory` lives; the bytes are `UnsafeCell`s, so writing through them is allowed.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), data[start].get(), bytes.len()) };
        Ok(bytes.len())
    }

    fn close(&self) {
        self.memory.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
