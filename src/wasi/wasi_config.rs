//! `WasiConfig`: what a WASI preview 1 program sees (arguments, environment, stdio, preopened
//! directories), consumed by `Store.set_wasi`.
//!
//! Files and directories are opened when configured, so a bad path fails at the setter, as in
//! wasmtime-py. Arguments and environment are kept aside and applied when the store takes the
//! config, because setting them again replaces them (wasmtime's builder only appends).
//!
//! Preopen permissions: wasmtime 48 grants a preopen either read-only or read-write access,
//! where wasmtime-py 46 takes separate directory and file permissions. A preopen is read-write
//! only if *both* include write; any read-only half makes the whole preopen read-only (refusing
//! more than asked, never allowing more). Write-only cannot be expressed: it allows reads too.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::core::val::ExternCell;
use crate::errors::{self, wasmtime_error};
use crate::wasi::output::PyOutput;

enum Source {
    Inherit,
    Given(Vec<String>),
    Pairs(Vec<(String, String)>),
}

struct State {
    builder: WasiCtxBuilder,
    args: Option<Source>,
    env: Option<Source>,
    /// The output callables, reported to the GC until a store takes them.
    callbacks: Vec<Arc<ExternCell>>,
}

#[pyclass(frozen, module = "wasmtime", name = "WasiConfig")]
pub struct PyWasiConfig {
    state: Mutex<Option<State>>,
}

/// A path argument: `str`, `bytes` or `os.PathLike`.
fn path(obj: &Bound<'_, PyAny>) -> PyResult<std::path::PathBuf> {
    let fspath = obj.py().import("os")?.getattr("fsdecode")?.call1((obj,))?;
    Ok(std::path::PathBuf::from(fspath.extract::<String>()?))
}

/// The value of a `DirPerms`/`FilePerms` member, or a plain int.
fn perms(obj: &Bound<'_, PyAny>) -> PyResult<u8> {
    let value = if obj.hasattr("value")? { obj.getattr("value")? } else { obj.clone() };
    value.extract::<u8>().map_err(|_| PyTypeError::new_err("expected a DirPerms or FilePerms"))
}

impl PyWasiConfig {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> PyResult<R>) -> PyResult<R> {
        let mut guard = self.state.lock().map_err(|_| errors::closed())?;
        f(guard.as_mut().ok_or_else(errors::closed)?)
    }

    /// Builds the WASI context and closes this config (`Store.set_wasi`); also returns the
    /// output callables, for the store to report to the GC.
    pub fn build(&self) -> PyResult<(wasmtime_wasi::p1::WasiP1Ctx, Vec<Arc<ExternCell>>)> {
        let mut state = self.state.lock().map_err(|_| errors::closed())?.take().ok_or_else(errors::closed)?;
        let b = &mut state.builder;
        match state.args {
            Some(Source::Inherit) => {
                b.inherit_args();
            }
            Some(Source::Given(args)) => {
                b.args(&args);
            }
            _ => {}
        }
        match state.env {
            Some(Source::Inherit) => {
                b.inherit_env();
            }
            Some(Source::Pairs(env)) => {
                b.envs(&env);
            }
            _ => {}
        }
        Ok((state.builder.build_p1(), state.callbacks))
    }
}

#[pymethods]
impl PyWasiConfig {
    #[new]
    fn new() -> Self {
        PyWasiConfig { state: Mutex::new(Some(State { builder: WasiCtxBuilder::new(), args: None, env: None, callbacks: Vec::new() })) }
    }

    /// Write-only: the program's arguments (`argv[0]` included), replacing earlier ones.
    #[setter]
    fn set_argv(&self, argv: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut args = Vec::new();
        for a in argv.try_iter()? {
            let a = a?;
            if !a.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("argv must be a list of str"));
            }
            // A str that is not valid Unicode (lone surrogates) raises UnicodeEncodeError.
            args.push(a.extract::<String>()?);
        }
        self.with(|s| {
            s.args = Some(Source::Given(args));
            Ok(())
        })
    }

    fn inherit_argv(&self) -> PyResult<()> {
        self.with(|s| {
            s.args = Some(Source::Inherit);
            Ok(())
        })
    }

    /// Write-only: the environment, as `(name, value)` pairs, replacing earlier settings.
    #[setter]
    fn set_env(&self, env: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut pairs = Vec::new();
        for item in env.try_iter()? {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let text = |o: &Bound<'_, PyAny>| {
                if !o.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err("env names and values must be str"));
                }
                o.extract::<String>().map_err(|_| wasmtime_error("failed to configure environment"))
            };
            pairs.push((text(&k)?, text(&v)?));
        }
        self.with(|s| {
            s.env = Some(Source::Pairs(pairs));
            Ok(())
        })
    }

    fn inherit_env(&self) -> PyResult<()> {
        self.with(|s| {
            s.env = Some(Source::Inherit);
            Ok(())
        })
    }

    /// Write-only: a file the program reads as its stdin (it must exist).
    #[setter]
    fn set_stdin_file(&self, file: &Bound<'_, PyAny>) -> PyResult<()> {
        let path = path(file)?;
        let f = std::fs::File::open(&path).map_err(|_| wasmtime_error("failed to set stdin file"))?;
        self.with(|s| {
            s.builder.stdin(wasmtime_wasi::cli::InputFile::new(f));
            Ok(())
        })
    }

    fn inherit_stdin(&self) -> PyResult<()> {
        self.with(|s| {
            s.builder.inherit_stdin();
            Ok(())
        })
    }

    /// Write-only: a file that receives the program's stdout (created or truncated now).
    #[setter]
    fn set_stdout_file(&self, file: &Bound<'_, PyAny>) -> PyResult<()> {
        let f = std::fs::File::create(path(file)?).map_err(|_| wasmtime_error("failed to set stdout file"))?;
        self.with(|s| {
            s.builder.stdout(wasmtime_wasi::cli::OutputFile::new(f));
            Ok(())
        })
    }

    /// Write-only: a file that receives the program's stderr (created or truncated now).
    #[setter]
    fn set_stderr_file(&self, file: &Bound<'_, PyAny>) -> PyResult<()> {
        let f = std::fs::File::create(path(file)?).map_err(|_| wasmtime_error("failed to set stderr file"))?;
        self.with(|s| {
            s.builder.stderr(wasmtime_wasi::cli::OutputFile::new(f));
            Ok(())
        })
    }

    /// Write-only: `callback(data: bytes)` receives each write to stdout.
    #[setter]
    fn set_stdout_custom(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        if !callback.is_callable() {
            return Err(PyTypeError::new_err("expected a callable"));
        }
        let cell = ExternCell::unregistered(callback.clone().unbind());
        self.with(|s| {
            s.builder.stdout(PyOutput::new(cell.clone()));
            s.callbacks.push(cell);
            Ok(())
        })
    }

    /// Write-only: `callback(data: bytes)` receives each write to stderr.
    #[setter]
    fn set_stderr_custom(&self, callback: &Bound<'_, PyAny>) -> PyResult<()> {
        if !callback.is_callable() {
            return Err(PyTypeError::new_err("expected a callable"));
        }
        let cell = ExternCell::unregistered(callback.clone().unbind());
        self.with(|s| {
            s.builder.stderr(PyOutput::new(cell.clone()));
            s.callbacks.push(cell);
            Ok(())
        })
    }

    fn inherit_stdout(&self) -> PyResult<()> {
        self.with(|s| {
            s.builder.inherit_stdout();
            Ok(())
        })
    }

    fn inherit_stderr(&self) -> PyResult<()> {
        self.with(|s| {
            s.builder.inherit_stderr();
            Ok(())
        })
    }

    /// Gives the program the host directory `path` as `guest_path` (opened now). See the
    /// module docs for how the two permission sets map onto wasmtime's.
    #[pyo3(signature = (path, guest_path, dir_perms=None, file_perms=None))]
    fn preopen_dir(
        &self,
        path: &Bound<'_, PyAny>,
        guest_path: &str,
        dir_perms: Option<&Bound<'_, PyAny>>,
        file_perms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        const WRITE: u8 = 2;
        let dir = dir_perms.map(perms).transpose()?.unwrap_or(3);
        let file = file_perms.map(perms).transpose()?.unwrap_or(3);
        let writable = dir & WRITE != 0 && file & WRITE != 0;
        let perms = if writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        let host = self::path(path)?;
        self.with(|s| {
            s.builder.preopened_dir(&host, guest_path, perms).map_err(|_| wasmtime_error("failed to add preopen dir"))?;
            Ok(())
        })
    }

    fn close(&self) {
        let old = self.state.lock().ok().and_then(|mut s| s.take());
        drop(old);
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // The lock is held only briefly by code that runs no Python; if held now, report nothing.
        if let Ok(guard) = self.state.try_lock()
            && let Some(s) = guard.as_ref()
        {
            for cell in &s.callbacks {
                // SAFETY: GIL held (tp_traverse); the cells are only changed under the GIL.
                if let Some(obj) = unsafe { cell.peek() } {
                    visit.call(obj)?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        // SAFETY: tp_clear runs with the GIL held.
        let py = unsafe { Python::assume_attached() };
        let cells = self.state.lock().ok().and_then(|mut s| s.as_mut().map(|s| std::mem::take(&mut s.callbacks)));
        let objs: Vec<_> = cells.iter().flatten().filter_map(|c| c.clear(py)).collect();
        drop(objs);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
