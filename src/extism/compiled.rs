//! `ExtismCompiled` (behind `extism.CompiledPlugin`): a manifest parsed and its modules compiled,
//! with the linker every plugin made from it starts from.
//!
//! Compiling is the expensive part (a Rust-PDK plugin takes a few hundred milliseconds), so it
//! happens once here, with the GIL released; a `Plugin` is then only a store and the main
//! instance. A single-module plugin (the common case) also gets its `InstancePre` here.
//!
//! Engines are shared: one for plugins without fuel and one with fuel metering, both ticked by
//! the binding's epoch ticker. Upstream makes an engine per compiled plugin; sharing is safe here
//! because interruption is per store (see `state.rs`), and it lets recompiling the same bytes
//! hit a small in-process module cache.
//!
//! A compiled plugin pickles (`artifacts` / `restore`) as its manifest settings plus each
//! module's compiled code, so process-pool workers skip compilation; wasmtime checks on load
//! that the code fits the shared engine.
//!
//! User host functions are defined on the linker with closures that hold only an index: the
//! Python callables live in [`Compiled::functions`], which this object reports to the GC.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};
use sha2::{Digest, Sha256};
use wasmtime::{InstancePre, Linker, Module, ValType};

use crate::core::GilCell;
use crate::core::config::ConfigState;
use crate::core::engine::EngineState;
use crate::errors::{extism_error, type_error};
use crate::extism::imports::{self, USER};
use crate::extism::manifest::{self, MAIN};
use crate::extism::state::{self, PluginData, Settings};

/// Everything the plugins of one compiled manifest share.
pub struct Compiled {
    pub engine: Arc<EngineState>,
    pub settings: Arc<Settings>,
    /// The manifest without its modules, and every module in manifest order (for pickles).
    manifest: manifest::Manifest,
    modules: Vec<(String, Module)>,
    pub main: Module,
    /// The other manifest modules, in an order where every module comes after those it imports.
    pub deps: Vec<(String, Module)>,
    pub linker: Linker<PluginData>,
    /// The main module ready to instantiate, when it is the only module.
    pub pre: Option<InstancePre<PluginData>>,
    /// Why plugins cannot be made from this (bad imports, circular modules): raised by `Plugin`.
    pub link_error: Option<String>,
    /// A 0.x plugin (it imports `env::extism_*`) with WASI: as 0.x hosts did, every call gets a
    /// fresh instance (0.x PDKs such as the JS one rely on it); variables are kept.
    pub fresh_instances: bool,
    /// The `dispatch` callables of the user host functions, by index; `None` once cleared by GC.
    functions: GilCell<Vec<Option<Py<PyAny>>>>,
}

impl Compiled {
    /// The dispatch callable of user host function `index`.
    pub fn function(&self, py: Python<'_>, index: usize) -> Option<Py<PyAny>> {
        // SAFETY: GIL held; the borrow ends before any Python code runs.
        unsafe { self.functions.get(py) }.get(index).and_then(|f| f.as_ref().map(|f| f.clone_ref(py)))
    }
}

/// A user host function as given by the Python layer.
struct HostSpec {
    namespace: String,
    name: String,
    params: Vec<ValType>,
    results: Vec<ValType>,
}

fn val_type(code: i64) -> PyResult<ValType> {
    Ok(match code {
        0 => ValType::I32,
        1 => ValType::I64,
        2 => ValType::F32,
        3 => ValType::F64,
        _ => return Err(type_error(format!("unsupported host function value type: {code}"))),
    })
}

/// The shared engine, with or without fuel metering.
fn engine(fuel: bool) -> PyResult<Arc<EngineState>> {
    static ENGINES: [OnceLock<Arc<EngineState>>; 2] = [OnceLock::new(), OnceLock::new()];
    let cell = &ENGINES[usize::from(fuel)];
    if let Some(e) = cell.get() {
        return Ok(e.clone());
    }
    let mut state = ConfigState::default();
    state.config.consume_fuel(fuel);
    let e = EngineState::new(state)?;
    Ok(cell.get_or_init(|| e).clone())
}

/// Recently compiled modules, by fuel metering and the SHA-256 of their bytes.
type CacheKey = (bool, [u8; 32]);
static CACHE: Mutex<Vec<(CacheKey, Module)>> = Mutex::new(Vec::new());

/// The locks a fork must not catch held by another thread (see `fork.rs`).
pub fn fork_guards() -> Vec<Box<dyn std::any::Any>> {
    vec![Box::new(CACHE.lock().unwrap_or_else(|e| e.into_inner()))]
}

/// Compiles `bytes` (wasm or WAT), reusing a module compiled from the same bytes recently.
fn compile(engine: &Arc<EngineState>, fuel: bool, bytes: &[u8]) -> Result<Module, String> {
    const KEEP: usize = 16;
    let key: CacheKey = (fuel, <[u8; 32]>::from(Sha256::digest(bytes)));
    if let Ok(mut cache) = CACHE.lock()
        && let Some(at) = cache.iter().position(|(k, _)| *k == key)
    {
        let hit = cache.remove(at);
        let module = hit.1.clone();
        cache.push(hit);
        return Ok(module);
    }
    let module = Module::new(&engine.engine, bytes).map_err(|e| e.root_cause().to_string())?;
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= KEEP {
            cache.remove(0);
        }
        cache.push((key, module.clone()));
    }
    Ok(module)
}

/// Orders the non-main modules so that each comes after the modules it imports; circular
/// imports are an error (upstream recurses until the process crashes).
fn link_order(modules: &[(String, Module)]) -> Result<Vec<usize>, String> {
    let index: HashMap<&str, usize> = modules.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
    let deps: Vec<Vec<usize>> = modules
        .iter()
        .map(|(_, m)| {
            let mut d: Vec<usize> = m.imports().filter_map(|i| index.get(i.module()).copied()).collect();
            d.dedup();
            d
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        modules: &[(String, Module)],
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<(), String> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let cycle: Vec<&str> = path[start..].iter().chain([&i]).map(|&p| modules[p].0.as_str()).collect();
                return Err(format!("circular imports between the modules of the manifest: {}", cycle.join(" -> ")));
            }
            Mark::New => {}
        }
        marks[i] = Mark::Open;
        path.push(i);
        for &d in &deps[i] {
            visit(d, modules, deps, marks, path, order)?;
        }
        path.pop();
        marks[i] = Mark::Done;
        order.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; modules.len()];
    let mut order = Vec::new();
    for i in 0..modules.len() {
        visit(i, modules, &deps, &mut marks, &mut Vec::new(), &mut order)?;
    }
    order.retain(|&i| modules[i].0 != MAIN);
    Ok(order)
}

/// What `CompiledPlugin(...)` takes besides the manifest and the host functions.
struct Options {
    wasi: bool,
    fuel_limit: Option<u64>,
    http_response_headers: bool,
}

/// Parses, compiles and links; the error text follows `Unable to compile Extism plugin: `.
fn build(source: &[u8], options: Options, hosts: &[HostSpec]) -> Result<Compiled, String> {
    let mut manifest = manifest::load(source)?;
    let fuel = options.fuel_limit.is_some();
    let engine = engine(fuel).map_err(|e| e.to_string())?;
    let mut modules = Vec::with_capacity(manifest.modules.len());
    for (name, bytes) in std::mem::take(&mut manifest.modules) {
        modules.push((name, compile(&engine, fuel, &bytes)?));
    }
    link(engine, manifest, modules, options, hosts)
}

/// What `artifacts` returns and `restore` takes: `(format, wasmtime version, manifest settings
/// as JSON, [(module name, compiled code)])`.
type Artifacts = (u32, String, String, Vec<(String, Vec<u8>)>);
const ARTIFACTS_FORMAT: u32 = 1;

/// `build` from pickled artifacts: the modules are loaded, not compiled.
fn restore(artifacts: Artifacts, options: Options, hosts: &[HostSpec]) -> Result<Compiled, String> {
    let (format, version, settings, code) = artifacts;
    if format != ARTIFACTS_FORMAT {
        return Err(format!("pickle format {format}, this wasmbridge reads {ARTIFACTS_FORMAT}"));
    }
    if version != crate::WASMTIME_VERSION {
        return Err(format!("compiled by wasmtime {version}, this is wasmtime {}", crate::WASMTIME_VERSION));
    }
    let manifest: manifest::Manifest = serde_json::from_str(&settings).map_err(|e| format!("bad manifest settings: {e}"))?;
    let engine = engine(options.fuel_limit.is_some()).map_err(|e| e.to_string())?;
    let mut modules = Vec::with_capacity(code.len());
    for (name, bytes) in code {
        // SAFETY: the bytes come from `artifacts` via a pickle, which Python treats as trusted
        // data; wasmtime checks that they were compiled for this engine's settings.
        let module = unsafe { Module::deserialize(&engine.engine, &bytes) }.map_err(|e| format!("module {name}: {}", e.root_cause()))?;
        modules.push((name, module));
    }
    if modules.iter().filter(|(n, _)| n == MAIN).count() != 1 {
        return Err("the pickle has no main module".into());
    }
    link(engine, manifest, modules, options, hosts)
}

/// Links compiled modules into a `Compiled`.
fn link(
    engine: Arc<EngineState>,
    manifest: manifest::Manifest,
    modules: Vec<(String, Module)>,
    options: Options,
    hosts: &[HostSpec],
) -> Result<Compiled, String> {
    let Options { wasi, fuel_limit, http_response_headers } = options;
    let settings = Arc::new(Settings {
        config: manifest.config.clone(),
        max_pages: manifest.max_pages,
        max_var_bytes: manifest.max_var_bytes.unwrap_or(state::DEFAULT_MAX_VAR_BYTES),
        max_http_response_bytes: manifest.max_http_response_bytes.unwrap_or(state::DEFAULT_MAX_HTTP_RESPONSE_BYTES),
        allowed_hosts: manifest.allowed_hosts.iter().flatten().map(|h| state::host_pattern(h)).collect(),
        allowed_paths: manifest.allowed_paths.clone().unwrap_or_default(),
        timeout_ms: manifest.timeout_ms,
        wasi,
        fuel_limit,
        http_response_headers,
    });

    let mut linker = Linker::new(&engine.engine);
    linker.allow_shadowing(true);
    imports::define(&mut linker).map_err(|e| e.to_string())?;
    if wasi {
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, PluginData::wasi).map_err(|e| e.to_string())?;
    }
    for (index, h) in hosts.iter().enumerate() {
        let ty = wasmtime::FuncType::new(&engine.engine, h.params.iter().cloned(), h.results.iter().cloned());
        let results: Arc<[ValType]> = h.results.clone().into();
        linker
            .func_new(&h.namespace, &h.name, ty, move |mut caller, params, out| {
                crate::extism::caller::dispatch(&mut caller, index, params, out, &results)
            })
            .map_err(|e| e.to_string())?;
    }

    let main_at = modules.iter().position(|(n, _)| n == MAIN).expect("the manifest has a main module");
    let mut link_error = modules.iter().find_map(|(_, m)| imports::check_imports(m).err());
    let order = match link_order(&modules) {
        Ok(order) => order,
        Err(e) => {
            link_error.get_or_insert(e);
            Vec::new()
        }
    };
    let main = modules[main_at].1.clone();
    let fresh_instances = wasi && main.imports().any(|i| i.module() == imports::LEGACY_ENV && i.name().starts_with("extism_"));
    let deps: Vec<(String, Module)> = order.iter().map(|&i| modules[i].clone()).collect();
    let mut pre = None;
    if deps.is_empty() && link_error.is_none() {
        match linker.instantiate_pre(&main) {
            Ok(p) => pre = Some(p),
            Err(e) => link_error = Some(e.to_string()),
        }
    }
    Ok(Compiled {
        engine,
        settings,
        manifest,
        modules,
        main,
        deps,
        linker,
        pre,
        link_error,
        fresh_instances,
        functions: GilCell::new(Vec::new()),
    })
}

#[pyclass(frozen, module = "wasmtime._native", name = "ExtismCompiled")]
pub struct PyExtismCompiled {
    pub inner: Arc<Compiled>,
}

/// The runtime's view of the host functions given by the Python layer, and their callables.
type HostSpecs = (Vec<HostSpec>, Vec<Option<Py<PyAny>>>);

fn host_specs(functions: &[Bound<'_, PyAny>]) -> PyResult<HostSpecs> {
    let mut hosts = Vec::with_capacity(functions.len());
    let mut callables = Vec::with_capacity(functions.len());
    for f in functions {
        let (namespace, name, params, results, dispatch): (Option<String>, String, Vec<i64>, Vec<i64>, Bound<'_, PyAny>) =
            f.extract().map_err(|_| type_error("a host function is a tuple (namespace, name, params, results, dispatch)"))?;
        if !dispatch.is_callable() {
            return Err(type_error(format!("the dispatch of host function {name} is not callable")));
        }
        hosts.push(HostSpec {
            namespace: namespace.unwrap_or_else(|| USER.into()),
            name,
            params: params.into_iter().map(val_type).collect::<PyResult<_>>()?,
            results: results.into_iter().map(val_type).collect::<PyResult<_>>()?,
        });
        callables.push(Some(dispatch.unbind()));
    }
    Ok((hosts, callables))
}

impl PyExtismCompiled {
    /// Runs `make` (compiling, or loading a pickle) without the GIL for the host functions of
    /// `functions`; a failure raises `extism.Error("<why>: <reason>")`.
    fn make(
        py: Python<'_>,
        functions: &[Bound<'_, PyAny>],
        why: &str,
        make: impl FnOnce(&[HostSpec]) -> Result<Compiled, String> + Send,
    ) -> PyResult<Self> {
        let (hosts, callables) = host_specs(functions)?;
        let compiled = py.detach(|| make(&hosts)).map_err(|e| extism_error(format!("{why}: {e}")))?;
        // SAFETY: GIL held; the object is not shared yet.
        *unsafe { compiled.functions.get(py) } = callables;
        Ok(PyExtismCompiled { inner: Arc::new(compiled) })
    }
}

#[pymethods]
impl PyExtismCompiled {
    #[new]
    #[pyo3(signature = (source, wasi, functions, fuel_limit=None, http_response_headers=false))]
    fn new(
        py: Python<'_>,
        source: &[u8],
        wasi: bool,
        functions: Vec<Bound<'_, PyAny>>,
        fuel_limit: Option<u64>,
        http_response_headers: bool,
    ) -> PyResult<Self> {
        let options = Options { wasi, fuel_limit, http_response_headers };
        Self::make(py, &functions, "Unable to compile Extism plugin", |hosts| build(source, options, hosts))
    }

    /// The plugin made from `artifacts()` of another (possibly in another process): no
    /// compilation, only loading and linking.
    #[staticmethod]
    #[pyo3(signature = (artifacts, wasi, functions, fuel_limit=None, http_response_headers=false))]
    fn restore(
        py: Python<'_>,
        artifacts: Artifacts,
        wasi: bool,
        functions: Vec<Bound<'_, PyAny>>,
        fuel_limit: Option<u64>,
        http_response_headers: bool,
    ) -> PyResult<Self> {
        let options = Options { wasi, fuel_limit, http_response_headers };
        Self::make(py, &functions, "cannot unpickle CompiledPlugin", |hosts| restore(artifacts, options, hosts))
    }

    /// What a pickle carries: the manifest's settings and each module's compiled code.
    fn artifacts(&self) -> PyResult<Artifacts> {
        let inner = &self.inner;
        let settings = serde_json::to_string(&inner.manifest).map_err(|e| extism_error(e.to_string()))?;
        // With the GIL held: a fork must not copy a lock this holds (see `fork.rs`).
        let code = inner
            .modules
            .iter()
            .map(|(n, m)| m.serialize().map(|c| (n.clone(), c)))
            .collect::<wasmtime::Result<Vec<_>>>()
            .map_err(|e| extism_error(e.to_string()))?;
        Ok((ARTIFACTS_FORMAT, crate::WASMTIME_VERSION.to_owned(), settings, code))
    }

    #[getter]
    fn wasi(&self) -> bool {
        self.inner.settings.wasi
    }

    #[getter]
    fn timeout_ms(&self) -> Option<u64> {
        self.inner.settings.timeout_ms
    }

    #[getter]
    fn fuel_limit(&self) -> Option<u64> {
        self.inner.settings.fuel_limit
    }

    #[getter]
    fn http_response_headers(&self) -> bool {
        self.inner.settings.http_response_headers
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: tp_traverse runs with the GIL held; no borrow of the list spans Python code.
        for f in unsafe { &*self.inner.functions.as_ptr() }.iter().flatten() {
            visit.call(f)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        // SAFETY: tp_clear runs with the GIL held.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: GIL held; the list is taken out before the callables are dropped.
        let old = std::mem::take(unsafe { self.inner.functions.get(py) });
        drop(old);
    }
}

/// The manifest config merged with `Plugin(config=...)`: a dict of str to str or None (None
/// removes a key). Anything else is ignored, as the reference SDK ignores it.
pub fn merged_config(base: &BTreeMap<String, String>, extra: Option<&Bound<'_, PyAny>>) -> BTreeMap<String, String> {
    let mut config = base.clone();
    let Some(extra) = extra else { return config };
    let Ok(extra) = extra.extract::<HashMap<String, Option<String>>>() else { return config };
    for (k, v) in extra {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    config
}
