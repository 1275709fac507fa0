//! `Module`: compiled wasm, shareable across stores of one engine; and `wat2wasm`.
//!
//! A module remembers the engine it was compiled for (`Module.engine`), which is what makes it
//! picklable: it travels as its serialized code plus that engine's settings (see `engine.rs`),
//! so a process-pool worker gets a ready module and an engine to make stores from.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyString};

use std::sync::Arc;

use crate::core::engine::{self, EngineState, PyEngine};
use crate::core::types::{PyExportType, PyImportType};
use crate::core::Closable;
use crate::errors::{self, type_error, wasmtime_error};

#[pyclass(frozen, weakref, module = "wasmtime", name = "Module")]
pub struct PyModule {
    module: Closable<wasmtime::Module>,
    engine: Arc<EngineState>,
}

/// The wasm bytes of a `Module`/`Component` source: text (a `str`, or bytes whose first byte
/// is not 0, as wasmtime-py decides) is parsed as WAT; other bytes are taken as binary.
pub fn source_bytes(wasm: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = wasm.cast::<PyString>() {
        let s = s.to_str()?;
        if !s.is_empty() && !s.starts_with('\0') {
            return parse_wat(s.as_bytes());
        }
        return Err(type_error("expected wasm bytes"));
    }
    wasm_or_wat(binary(wasm).ok_or_else(|| type_error("expected wasm bytes"))?)
}

/// Binary wasm as it is; text (first byte not 0) parsed as WAT.
fn wasm_or_wat(bytes: Vec<u8>) -> PyResult<Vec<u8>> {
    if bytes.first().is_some_and(|b| *b != 0) { parse_wat(&bytes) } else { Ok(bytes) }
}

/// The wasm of the file at `path` (any path-like; binary or text), for `from_file`.
pub fn file_bytes(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let path: std::path::PathBuf = py.import("os")?.getattr("fsdecode")?.call1((path,))?.extract()?;
    let bytes = std::fs::read(&path).map_err(|e| wasmtime_error(format!("failed to read {}: {e}", path.display())))?;
    wasm_or_wat(bytes)
}

/// `bytes` or `bytearray` contents.
fn binary(obj: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        Some(b.as_bytes().to_vec())
    } else {
        obj.cast::<PyByteArray>().ok().map(|b| b.to_vec())
    }
}

fn parse_wat(text: &[u8]) -> PyResult<Vec<u8>> {
    wat::parse_bytes(text).map(|b| b.into_owned()).map_err(|e| wasmtime_error(e.to_string()))
}

/// Converts the WebAssembly text format to the binary format.
///
/// Takes a `str` (or UTF-8 `bytes`), raises `WasmtimeError` if it does not parse, and returns
/// a `bytearray`.
///
/// >>> wat2wasm('(module)')
/// bytearray(b'\x00asm\x01\x00\x00\x00')
#[pyfunction]
pub fn wat2wasm<'py>(py: Python<'py>, wat: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyByteArray>> {
    let text: Vec<u8> = if let Ok(s) = wat.cast::<PyString>() {
        s.to_str()?.as_bytes().to_vec()
    } else {
        binary(wat).ok_or_else(|| type_error("expected a str or bytes"))?
    };
    Ok(PyByteArray::new(py, &parse_wat(&text)?))
}

/// `pickle` support: the `Module` of `Module.__reduce__`. Like `Module.deserialize`, this loads
/// native code: unpickle only data you trust (as with any pickle).
#[pyfunction]
pub fn _unpickle_module(py: Python<'_>, format: u32, version: &str, recipe: &Bound<'_, PyAny>, code: &[u8]) -> PyResult<PyModule> {
    let engine = engine::unpickle_engine(py, "Module", format, version, recipe)?;
    // SAFETY: the bytes come from `Module.__reduce__` (pickles are trusted data by Python's
    // contract); wasmtime checks that they were compiled for this engine's settings.
    let module = py
        .detach(|| unsafe { stage(code).load(&engine.engine) })
        .map_err(|e| wasmtime_error(format!("cannot unpickle Module: {}", e.root_cause())))?;
    Ok(PyModule::wrap(module, engine))
}

/// A serialized module ready to load without the GIL.
enum Staged<'a> {
    Bytes(&'a [u8]),
    Owned(Vec<u8>),
    #[cfg(target_os = "linux")]
    File(std::fs::File),
}

/// Large artifacts (on Linux) go into an anonymous memory file that wasmtime maps like a file
/// given to `deserialize_file`: one kernel copy and no page-by-page faults on fresh anonymous
/// memory (0.73 -> 0.45 ms for 1.8 MB). Small ones, other systems, or a failure there take
/// wasmtime's plain path.
fn stage(bytes: &[u8]) -> Staged<'_> {
    #[cfg(target_os = "linux")]
    if bytes.len() >= 256 * 1024
        && let Ok(file) = memory_file(bytes)
    {
        return Staged::File(file);
    }
    Staged::Bytes(bytes)
}

impl Staged<'_> {
    /// # Safety
    /// As `wasmtime::Module::deserialize`: the bytes come from `serialize` of a trusted source.
    unsafe fn load(self, engine: &wasmtime::Engine) -> wasmtime::Result<wasmtime::Module> {
        match self {
            // SAFETY: the caller's contract.
            Staged::Bytes(b) => unsafe { wasmtime::Module::deserialize(engine, b) },
            // SAFETY: the caller's contract.
            Staged::Owned(b) => unsafe { wasmtime::Module::deserialize(engine, &b) },
            // SAFETY: the caller's contract; the file is ours alone and never written again.
            #[cfg(target_os = "linux")]
            Staged::File(f) => unsafe { wasmtime::Module::deserialize_open_file(engine, f) },
        }
    }
}

#[cfg(target_os = "linux")]
fn memory_file(bytes: &[u8]) -> std::io::Result<std::fs::File> {
    use std::io::Write;
    let fd = rustix::fs::memfd_create("wasmbridge-module", rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    Ok(file)
}

impl PyModule {
    pub fn module(&self) -> PyResult<wasmtime::Module> {
        self.module.get()
    }

    pub fn wrap(module: wasmtime::Module, engine: Arc<EngineState>) -> Self {
        PyModule { module: Closable::new(module), engine }
    }

    /// The module behind `obj`, which must be a `Module` (`TypeError` otherwise).
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<wasmtime::Module> {
        obj.cast::<PyModule>().map_err(|_| errors::type_error("expected a `Module`"))?.get().module()
    }

    fn compile(py: Python<'_>, engine: &Bound<'_, PyAny>, bytes: Vec<u8>) -> PyResult<Self> {
        let engine = PyEngine::extract(engine)?;
        let module = py
            .detach(|| wasmtime::Module::from_binary(&engine.engine, &bytes))
            .map_err(errors::from_wasmtime)?;
        Ok(PyModule::wrap(module, engine))
    }
}

/// wasmtime 48's validator lets exact function imports (import kind 0x20, from the
/// custom-descriptors proposal) through even though the proposal is off, and compiling then
/// refuses them; refuse them here too, with compilation's words, so that `validate` agrees with
/// `Module()` (found by the fuzzer).
fn refuse_exact_imports(bytes: &[u8]) -> wasmtime::Result<()> {
    use wasmtime::wasmparser::{Parser, Payload, TypeRef};
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::ImportSection(imports) = payload? {
            for import in imports.into_imports() {
                if matches!(import?.ty, TypeRef::FuncExact(_)) {
                    wasmtime::bail!("custom-descriptors proposal not implemented yet");
                }
            }
        }
    }
    Ok(())
}

#[pymethods]
impl PyModule {
    #[new]
    fn new(py: Python<'_>, engine: &Bound<'_, PyAny>, wasm: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::compile(py, engine, source_bytes(wasm)?)
    }

    /// Compiles the file at `path` (binary or text).
    #[staticmethod]
    fn from_file(py: Python<'_>, engine: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::compile(py, engine, file_bytes(py, path)?)
    }

    /// Validates binary wasm; raises `WasmtimeError` if invalid.
    #[staticmethod]
    fn validate(py: Python<'_>, engine: &Bound<'_, PyAny>, wasm: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = binary(wasm).ok_or_else(|| type_error("expected wasm bytes"))?;
        // wasmtime-py reaches into the engine without a type check: an AttributeError.
        let engine = PyEngine::extract(engine)
            .map_err(|e| if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) { pyo3::exceptions::PyAttributeError::new_err("expected an Engine") } else { e })?;
        py.detach(|| wasmtime::Module::validate(&engine.engine, &bytes).and_then(|()| refuse_exact_imports(&bytes)))
            .map_err(errors::from_wasmtime)
    }

    /// Unsafe by contract: the bytes must come from `serialize` of a compatible engine; untrusted
    /// bytes can run arbitrary native code.
    #[staticmethod]
    fn deserialize(py: Python<'_>, engine: &Bound<'_, PyAny>, encoded: &Bound<'_, PyAny>) -> PyResult<Self> {
        let engine = PyEngine::extract(engine)?;
        // Unsafe by contract (documented): the caller vouches that the bytes are a trusted
        // artifact of `Module.serialize`. wasmtime still checks version and flags.
        // SAFETY: that contract.
        let load = |staged: Staged<'_>| py.detach(|| unsafe { staged.load(&engine.engine) });
        let module = if let Ok(b) = encoded.cast::<PyBytes>() {
            // Immutable, and kept alive by `encoded`: staged without the GIL.
            let bytes = b.as_bytes();
            // SAFETY: the contract above.
            py.detach(|| unsafe { stage(bytes).load(&engine.engine) })
        } else if let Ok(b) = encoded.cast::<PyByteArray>() {
            // Mutable by other threads once the GIL is released: staged (copied) with it held.
            // SAFETY: GIL held and no Python code runs while the slice is borrowed.
            let staged = match stage(unsafe { b.as_bytes() }) {
                Staged::Bytes(small) => Staged::Owned(small.to_vec()),
                other => other,
            };
            load(staged)
        } else {
            return Err(type_error("expected bytes"));
        }
        .map_err(errors::from_wasmtime)?;
        Ok(PyModule::wrap(module, engine))
    }

    /// Unsafe by contract, like `deserialize`.
    #[staticmethod]
    fn deserialize_file(py: Python<'_>, engine: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path: String = path.extract().map_err(|_| type_error("expected a str path"))?;
        let engine = PyEngine::extract(engine)?;
        // SAFETY: as in `deserialize`.
        let module = py
            .detach(|| unsafe { wasmtime::Module::deserialize_file(&engine.engine, &path) })
            .map_err(errors::from_wasmtime)?;
        Ok(PyModule::wrap(module, engine))
    }

    /// The imports, in module order.
    #[getter]
    fn imports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let module = self.module()?;
        let items = module.imports().map(|i| PyImportType::new(i.module(), i.name(), i.ty())).collect::<Vec<_>>();
        PyList::new(py, items)
    }

    /// The exports, in module order.
    #[getter]
    fn exports<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let module = self.module()?;
        let items = module.exports().map(|e| PyExportType::new(e.name(), e.ty())).collect::<Vec<_>>();
        PyList::new(py, items)
    }

    /// The compiled artifact, for `Module.deserialize` (a `bytearray`).
    fn serialize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        let module = self.module()?;
        let bytes = py.detach(|| module.serialize()).map_err(errors::from_wasmtime)?;
        Ok(PyByteArray::new(py, &bytes))
    }

    /// Extension: the engine this module was compiled for (after unpickling: an engine with
    /// the recorded settings), so `Store(module.engine)` can instantiate it.
    #[getter]
    fn engine(&self) -> PyResult<PyEngine> {
        self.module()?; // closed: ValueError, as for every other use
        Ok(PyEngine::from_state(self.engine.clone()))
    }

    /// Pickles as the serialized code plus the engine's settings (see the module docs).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
        let module = self.module()?;
        // With the GIL held: a fork must not copy a lock this holds (see `fork.rs`).
        let code = module.serialize().map_err(errors::from_wasmtime)?;
        engine::reduce(py, "_unpickle_module", &self.engine, Some(&code))
    }

    fn close(&self) {
        self.module.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
