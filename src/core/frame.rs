//! `Frame`: one wasm frame of a trap's backtrace.

use pyo3::prelude::*;

use crate::core::Closable;

#[derive(Clone)]
struct Info {
    func_index: u32,
    func_name: Option<String>,
    module_name: Option<String>,
    module_offset: usize,
    func_offset: usize,
}

#[pyclass(frozen, module = "wasmtime", name = "Frame")]
pub struct PyFrame {
    info: Closable<Info>,
}

impl PyFrame {
    /// Another frame object with the same information.
    pub fn duplicate(&self) -> PyResult<Self> {
        Ok(PyFrame { info: Closable::new(self.info.get()?) })
    }

    pub fn from_info(f: &wasmtime::FrameInfo) -> Self {
        // wasmtime-py reports a missing offset as usize::MAX.
        PyFrame {
            info: Closable::new(Info {
                func_index: f.func_index(),
                func_name: f.func_name().map(str::to_string),
                module_name: f.module().name().map(str::to_string),
                module_offset: f.module_offset().unwrap_or(usize::MAX),
                func_offset: f.func_offset().unwrap_or(usize::MAX),
            }),
        }
    }
}

/// `pickle` support (traps cross process pools with their frames): the `Frame` of
/// `Frame.__reduce__`.
#[pyfunction]
pub fn _unpickle_frame(func_index: u32, func_name: Option<String>, module_name: Option<String>, module_offset: usize, func_offset: usize) -> PyFrame {
    PyFrame { info: Closable::new(Info { func_index, func_name, module_name, module_offset, func_offset }) }
}

type FrameArgs = (u32, Option<String>, Option<String>, usize, usize);

#[pymethods]
impl PyFrame {
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, FrameArgs)> {
        let i = self.info.get()?;
        let unpickle = py.import("wasmtime._native")?.getattr("_unpickle_frame")?;
        Ok((unpickle, (i.func_index, i.func_name, i.module_name, i.module_offset, i.func_offset)))
    }

    #[getter]
    fn func_index(&self) -> PyResult<u32> {
        Ok(self.info.get()?.func_index)
    }

    #[getter]
    fn func_name(&self) -> PyResult<Option<String>> {
        Ok(self.info.get()?.func_name)
    }

    #[getter]
    fn module_name(&self) -> PyResult<Option<String>> {
        Ok(self.info.get()?.module_name)
    }

    #[getter]
    fn module_offset(&self) -> PyResult<usize> {
        Ok(self.info.get()?.module_offset)
    }

    #[getter]
    fn func_offset(&self) -> PyResult<usize> {
        Ok(self.info.get()?.func_offset)
    }

    fn __repr__(&self) -> PyResult<String> {
        let i = self.info.get()?;
        Ok(format!(
            "<Frame {}!{} at 0x{:x}>",
            i.module_name.as_deref().unwrap_or("<unknown>"),
            i.func_name.unwrap_or_else(|| format!("<wasm function {}>", i.func_index)),
            i.module_offset
        ))
    }

    fn close(&self) {
        self.info.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
