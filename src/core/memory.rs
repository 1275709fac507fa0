//! `Memory`: a linear memory of one store, and `MemoryBuffer`, its zero-copy view.
//!
//! `data_ptr` and `get_buffer_ptr` return raw ctypes pointers, as wasmtime-py does: they are
//! unsafe by contract (nothing keeps the memory alive or in place). `Memory.buffer(store)` is the
//! safe zero-copy path: a buffer-protocol object that keeps the store alive; closing the store
//! while a view is exported retires the store instead of freeing it (see `Store.close`).

use std::os::raw::c_int;

use pyo3::exceptions::{PyAttributeError, PyBufferError, PyIndexError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt};

use crate::core::store::{self, PyStore, StoreRef};
use crate::core::types::PyMemoryType;
use crate::errors::{self, wasmtime_error};

#[pyclass(frozen, module = "wasmtime", name = "Memory")]
pub struct PyMemory {
    pub store_id: u64,
    pub memory: wasmtime::Memory,
}

impl PyMemory {
    pub fn new(store_id: u64, memory: wasmtime::Memory) -> Self {
        PyMemory { store_id, memory }
    }

    fn store<'py>(&self, store: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
        let store = store::resolve(store)?;
        store.check(self.store_id)?;
        Ok(store)
    }

    /// Base address and length in bytes, now.
    fn span(&self, py: Python<'_>, store: &StoreRef<'_>) -> PyResult<(usize, usize)> {
        store.with(py, |cx| (self.memory.data_ptr(&cx) as usize, self.memory.data_size(&cx)))
    }
}

/// Python slice bounds over `[0, len)`: negative counts from the end, out of range clamps.
pub fn clamp(index: i64, len: usize) -> usize {
    let len = len as i64;
    let i = if index < 0 { index + len } else { index };
    i.clamp(0, len) as usize
}

/// A `grow` argument in pages, with wasmtime-py's errors.
pub fn grow_delta(delta: &Bound<'_, PyAny>) -> PyResult<u64> {
    if !delta.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err("expected an integer"));
    }
    if delta.lt(0)? {
        return Err(wasmtime_error("cannot grow by negative amount"));
    }
    delta.extract()
}

/// A ctypes `POINTER(c_ubyte)` to `addr`.
pub fn ctypes_pointer<'py>(py: Python<'py>, addr: usize) -> PyResult<Bound<'py, PyAny>> {
    let ctypes = py.import("ctypes")?;
    let ptr_type = ctypes.getattr("POINTER")?.call1((ctypes.getattr("c_ubyte")?,))?;
    ctypes.getattr("cast")?.call1((addr, ptr_type))
}

/// The bytes of a `write` argument: bytes, bytearray, or anything `bytearray()` accepts.
pub fn bytes_of(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Ok(if let Ok(b) = value.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(b) = value.cast::<PyByteArray>() {
        b.to_vec()
    } else {
        PyByteArray::from(value)?.to_vec()
    })
}

/// Where a write of `n` bytes at `start` goes in a memory of `len` bytes (wasmtime-py's rules):
/// `None` for an empty write, `IndexError` if `start` or the end is out of range.
pub fn write_start(start: Option<i64>, n: usize, len: usize) -> PyResult<Option<usize>> {
    let start = start.unwrap_or(0);
    let start = if start < 0 { start + len as i64 } else { start };
    if start < 0 || start as usize >= len {
        return Err(PyIndexError::new_err("index out of range"));
    }
    if n == 0 {
        return Ok(None);
    }
    let start = start as usize;
    if start + n > len {
        return Err(PyIndexError::new_err("index out of range"));
    }
    Ok(Some(start))
}

/// A new `bytearray` of `n` bytes filled by `fill` (which must not run Python code).
pub fn new_bytearray<'py>(py: Python<'py>, n: usize, fill: impl FnOnce(*mut u8) -> PyResult<()>) -> PyResult<Bound<'py, PyByteArray>> {
    // Allocate first (uninitialised: one pass over the bytes, not two), then fill.
    // SAFETY: a NULL source with a length makes a bytearray of that size; errors are NULL.
    let out = unsafe {
        let ptr = ffi::PyByteArray_FromStringAndSize(std::ptr::null(), n as ffi::Py_ssize_t);
        Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyByteArray>()
    };
    // SAFETY: the bytearray is ours alone; its buffer holds `n` bytes.
    let dst = unsafe { ffi::PyByteArray_AsString(out.as_ptr()) } as *mut u8;
    fill(dst)?;
    Ok(out)
}

#[pymethods]
impl PyMemory {
    #[new]
    fn construct(py: Python<'_>, store: &Bound<'_, PyAny>, ty: &Bound<'_, PyAny>) -> PyResult<Self> {
        let store = store::resolve(store)?;
        if !ty.is_instance_of::<PyMemoryType>() {
            return Err(PyAttributeError::new_err("expected a MemoryType"));
        }
        let ty = PyMemoryType::extract(ty)?;
        let memory = store.with(py, |mut cx| wasmtime::Memory::new(&mut cx, ty))?.map_err(errors::from_wasmtime)?;
        Ok(PyMemory::new(store.id(), memory))
    }

    fn r#type(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyMemoryType> {
        let store = self.store(store)?;
        Ok(PyMemoryType::from_wasmtime(store.with(py, |cx| self.memory.ty(&cx))?))
    }

    /// Grows by `delta` pages; returns the previous size in pages.
    fn grow(&self, py: Python<'_>, store: &Bound<'_, PyAny>, delta: &Bound<'_, PyAny>) -> PyResult<u64> {
        let delta = grow_delta(delta)?;
        let store = self.store(store)?;
        store
            .with(py, |mut cx| {
                let page = 1u64 << self.memory.page_size_log2(&cx);
                let bytes = self.memory.size(&cx).saturating_add(delta).saturating_mul(page);
                if cx.data().growth_would_move_a_view(bytes) {
                    // As `bytearray` refuses to resize while exported.
                    return Err(PyBufferError::new_err("cannot grow this memory while a MemoryBuffer of its store is alive: growing would move it"));
                }
                self.memory.grow(&mut cx, delta).map_err(errors::from_wasmtime)
            })?
    }

    /// The size in pages.
    fn size(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<u64> {
        let store = self.store(store)?;
        store.with(py, |cx| self.memory.size(&cx))
    }

    /// The size in bytes.
    fn data_len(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<usize> {
        let store = self.store(store)?;
        Ok(self.span(py, &store)?.1)
    }

    fn page_size(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<u64> {
        let store = self.store(store)?;
        store.with(py, |cx| self.memory.page_size(&cx))
    }

    fn page_size_log2(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<u8> {
        let store = self.store(store)?;
        store.with(py, |cx| self.memory.page_size_log2(&cx))
    }

    /// Unsafe by contract: a ctypes `POINTER(c_ubyte)` to the memory's base, unchecked and
    /// invalidated by growth or by the store going away.
    fn data_ptr<'py>(&self, py: Python<'py>, store: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store(store)?;
        let (base, _) = self.span(py, &store)?;
        ctypes_pointer(py, base)
    }

    /// Unsafe by contract: a ctypes `c_ubyte` array over `[offset, offset + size)`, unchecked.
    #[pyo3(signature = (store, size=None, offset=0))]
    fn get_buffer_ptr<'py>(
        &self,
        py: Python<'py>,
        store: &Bound<'py, PyAny>,
        size: Option<usize>,
        offset: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store(store)?;
        let (base, len) = self.span(py, &store)?;
        let size = size.unwrap_or(len);
        let ctypes = py.import("ctypes")?;
        let array = ctypes.getattr("c_ubyte")?.call_method1("__mul__", (size,))?;
        array.call_method1("from_address", (base + offset,))
    }

    /// A copy of `memory[start:stop]` (Python slice semantics) as a `bytearray`.
    #[pyo3(signature = (store, start=Some(0), stop=None), text_signature = "(self, store, start=0, stop=None)")]
    fn read<'py>(&self, py: Python<'py>, store: &Bound<'py, PyAny>, start: Option<i64>, stop: Option<i64>) -> PyResult<Bound<'py, PyByteArray>> {
        let store = self.store(store)?;
        let (_, len) = self.span(py, &store)?;
        let start = clamp(start.unwrap_or(0), len);
        let stop = stop.map_or(len, |s| clamp(s, len));
        let n = stop.saturating_sub(start);
        new_bytearray(py, n, |dst| {
            store.with(py, |cx| {
                let src = &self.memory.data(&cx)[start..start + n];
                // SAFETY: `src` and `dst` are `n` bytes, distinct allocations.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n) };
            })
        })
    }

    /// Writes `value` (bytes-like) at `start` (negative counts from the end); returns the
    /// number of bytes written. Raises `IndexError` if it does not fit.
    #[pyo3(signature = (store, value, start=None))]
    fn write(&self, py: Python<'_>, store: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>, start: Option<i64>) -> PyResult<usize> {
        let store = self.store(store)?;
        let data = bytes_of(value)?;
        let (_, len) = self.span(py, &store)?;
        let Some(start) = write_start(start, data.len(), len)? else {
            return Ok(0);
        };
        store.with(py, |mut cx| self.memory.write(&mut cx, start, &data))?.map_err(errors::msg)?;
        Ok(data.len())
    }

    /// Extension: a zero-copy, writable buffer-protocol view of the whole memory that keeps its
    /// store alive (`memoryview(mem.buffer(store))`, `numpy.frombuffer(...)`).
    fn buffer(&self, py: Python<'_>, store: &Bound<'_, PyAny>) -> PyResult<PyMemoryBuffer> {
        let owner = store
            .cast::<PyStore>()
            .map_err(|_| PyTypeError::new_err("Memory.buffer needs the Store object itself"))?;
        let s = owner.get();
        if s.shared.id != self.store_id {
            return Err(wasmtime_error("object used with the wrong store"));
        }
        let (base, len) = s.with(py, |cx| (self.memory.data_ptr(&cx) as usize, self.memory.data_size(&cx)))?;
        s.shared.views.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(PyMemoryBuffer { store: owner.clone().unbind(), base, len })
    }

    fn __repr__(&self) -> String {
        format!("<wasmtime.Memory of store {}>", self.store_id)
    }
}

/// A zero-copy view of a linear memory; its length is the memory's size when it was made.
/// While it lives, the store's memories do not move (see `StoreData`'s `ResourceLimiter`).
#[pyclass(frozen, module = "wasmtime", name = "MemoryBuffer")]
pub struct PyMemoryBuffer {
    store: Py<PyStore>,
    base: usize,
    len: usize,
}

impl Drop for PyMemoryBuffer {
    fn drop(&mut self) {
        self.store.get().shared.views.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[pymethods]
impl PyMemoryBuffer {
    fn __len__(&self) -> usize {
        self.len
    }

    /// # Safety
    /// Called by CPython with a valid `Py_buffer` to fill.
    unsafe fn __getbuffer__(slf: Bound<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        let this = slf.get();
        if view.is_null() {
            return Err(PyBufferError::new_err("view is null"));
        }
        this.store.get().export_buffer()?;
        // SAFETY: `view` is the non-null buffer CPython handed us; the memory stays mapped while
        // the view lives because `view.obj` owns this object, which owns the store, and a store
        // with exported buffers is retired rather than freed on `close()`.
        let ret = unsafe {
            ffi::PyBuffer_FillInfo(view, slf.as_ptr(), this.base as *mut _, this.len as ffi::Py_ssize_t, 0, flags)
        };
        if ret == -1 {
            this.store.get().release_buffer();
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {
        self.store.get().release_buffer();
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.store)
    }
}

#[cfg(test)]
mod tests {
    use super::clamp;

    #[test]
    fn clamp_follows_python_slice_rules() {
        assert_eq!(clamp(0, 10), 0);
        assert_eq!(clamp(3, 10), 3);
        assert_eq!(clamp(-1, 10), 9);
        assert_eq!(clamp(-10, 10), 0);
        assert_eq!(clamp(-11, 10), 0);
        assert_eq!(clamp(11, 10), 10);
        assert_eq!(clamp(i64::MIN, 10), 0);
        assert_eq!(clamp(5, 0), 0);
    }
}
