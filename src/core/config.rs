//! `Config`: write-only compilation and runtime settings, consumed by `Engine(config)`.
//!
//! Besides the `wasmtime::Config` we record what the rest of the binding must know about the
//! engine it makes: whether the *user* asked for epoch interruption (we always compile epoch
//! checks in, so that Ctrl-C and cancellation can stop running wasm; see `engine.rs`) and the
//! wasm stack limit (checked against the thread's stack before entering wasm; see `store.rs`).
//!
//! Every setting that succeeds is also written down as a [`Step`]. The steps are the engine's
//! *recipe*: pickling a `Module`, `Component` or `Engine` carries it, and unpickling replays it
//! on a new `Config` in the receiving process (`engine.rs`), so compiled code travels with the
//! exact settings it was compiled for.

use std::sync::Mutex;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple};

use crate::errors::{self, wasmtime_error};

/// What `Engine(config)` takes out of a `Config`.
#[derive(Clone)]
pub struct ConfigState {
    pub config: wasmtime::Config,
    pub user_epochs: bool,
    pub max_wasm_stack: usize,
    /// `memory_reservation` and `memory_may_move`: whether (and past what size) growing a
    /// memory may move it, which zero-copy views must prevent (see `StoreData`'s limiter).
    pub memory_reservation: u64,
    pub memory_may_move: bool,
    /// The settings made, in order; see the module docs.
    pub recipe: Vec<Step>,
}

/// The value given to one setting, in a form that outlives the Python objects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    Bool(bool),
    Int(u64),
    Str(String),
    /// `pooling_allocator`'s dict of limits.
    Limits(Vec<(String, u64)>),
}

/// One successful setting: a property assignment, or a method call (`call`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub name: &'static str,
    pub call: bool,
    pub args: Vec<Arg>,
}

impl<'py> IntoPyObject<'py> for &Arg {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Arg::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
            Arg::Int(i) => i.into_pyobject(py)?.into_any(),
            Arg::Str(s) => PyString::new(py, s).into_any(),
            Arg::Limits(limits) => {
                let dict = PyDict::new(py);
                for (k, v) in limits {
                    dict.set_item(k, v)?;
                }
                dict.into_any()
            }
        })
    }
}

/// The recipe as plain Python data: `((name, is_call, (args...)), ...)`, for pickles.
pub fn recipe_to_py<'py>(py: Python<'py>, recipe: &[Step]) -> PyResult<Bound<'py, PyTuple>> {
    let steps = recipe
        .iter()
        .map(|s| Ok((s.name, s.call, PyTuple::new(py, &s.args)?)))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, steps)
}

/// A `Config` with the steps of a pickled recipe replayed through the usual setters, so each
/// value is checked as if the user had set it; `recipe_to_py` of the result equals `recipe`.
pub fn config_from_recipe<'py>(py: Python<'py>, recipe: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyConfig>> {
    let config = Bound::new(py, PyConfig::new())?;
    let bad = || wasmtime_error("cannot unpickle: malformed engine settings");
    for step in recipe.try_iter().map_err(|_| bad())? {
        let (name, call, args): (String, bool, Bound<'py, PyTuple>) = step?.extract().map_err(|_| bad())?;
        // Setters are write-only properties, found on the class like the methods.
        if !config.get_type().hasattr(name.as_str())? {
            return Err(wasmtime_error(format!("cannot unpickle: unknown engine setting '{name}'")));
        }
        if call {
            config.call_method1(name.as_str(), args)?;
        } else {
            config.setattr(name.as_str(), args.get_item(0).map_err(|_| bad())?)?;
        }
    }
    Ok(config)
}

impl Default for ConfigState {
    fn default() -> Self {
        let mut config = wasmtime::Config::new();
        // The component API is synchronous (no futures, streams or async lifts, as in
        // wasmtime-py): without the concurrency machinery a component call does not set up a
        // task per call (~5x faster), and async component features are refused at compile time.
        config.concurrency_support(false);
        // wasmtime's defaults on 64-bit hosts: 4 GiB reserved per memory, moving allowed.
        ConfigState {
            config,
            user_epochs: false,
            max_wasm_stack: 512 * 1024,
            memory_reservation: 1 << 32,
            memory_may_move: true,
            recipe: Vec::new(),
        }
    }
}

#[pyclass(frozen, module = "wasmtime", name = "Config")]
pub struct PyConfig {
    state: Mutex<Option<ConfigState>>,
}

impl PyConfig {
    fn with<R>(&self, f: impl FnOnce(&mut ConfigState) -> PyResult<R>) -> PyResult<R> {
        let mut guard = self.state.lock().map_err(|_| errors::closed())?;
        match guard.as_mut() {
            Some(state) => f(state),
            None => Err(errors::closed()),
        }
    }

    /// Applies one setting and, once it succeeded, records it in the recipe.
    fn set(&self, name: &'static str, arg: Arg, f: impl FnOnce(&mut ConfigState) -> PyResult<()>) -> PyResult<()> {
        self.step(Step { name, call: false, args: vec![arg] }, f)
    }

    fn step(&self, step: Step, f: impl FnOnce(&mut ConfigState) -> PyResult<()>) -> PyResult<()> {
        self.with(|s| {
            f(s)?;
            s.recipe.push(step);
            Ok(())
        })
    }

    /// Consumes the config (`Engine(config)`); a second use raises `ValueError`.
    pub fn take(&self) -> PyResult<ConfigState> {
        let mut guard = self.state.lock().map_err(|_| errors::closed())?;
        guard.take().ok_or_else(errors::closed)
    }
}

fn expect_bool(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    v.cast::<PyBool>().map(|b| b.is_true()).map_err(|_| PyTypeError::new_err("expected a bool"))
}

fn expect_str(v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.cast::<PyString>().map(|s| s.to_string()).map_err(|_| PyTypeError::new_err("expected a string"))
}

fn expect_int<T: for<'a> FromPyObject<'a, 'a>>(v: &Bound<'_, PyAny>) -> PyResult<T> {
    if v.is_instance_of::<pyo3::types::PyInt>() {
        v.extract::<T>().map_err(|_| pyo3::exceptions::PyOverflowError::new_err("integer out of range"))
    } else {
        Err(PyTypeError::new_err("expected an int"))
    }
}

/// Generates the `#[pymethods]` block: one write-only bool property per listed wasmtime setter,
/// plus the hand-written methods given in `extra`.
macro_rules! config_methods {
    ($($prop:ident => $method:ident),* $(,)?; $($extra:tt)*) => {
        #[pymethods]
        impl PyConfig {
            $(
                #[setter($prop)]
                fn $prop(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
                    let enable = expect_bool(value)?;
                    self.set(stringify!($prop), Arg::Bool(enable), |s| { s.config.$method(enable); Ok(()) })
                }
            )*
            $($extra)*
        }
    };
}

config_methods! {
    debug_info => debug_info,
    wasm_threads => wasm_threads,
    wasm_tail_call => wasm_tail_call,
    wasm_reference_types => wasm_reference_types,
    wasm_simd => wasm_simd,
    wasm_bulk_memory => wasm_bulk_memory,
    wasm_multi_value => wasm_multi_value,
    wasm_multi_memory => wasm_multi_memory,
    wasm_memory64 => wasm_memory64,
    wasm_relaxed_simd => wasm_relaxed_simd,
    wasm_relaxed_simd_deterministic => relaxed_simd_deterministic,
    wasm_exceptions => wasm_exceptions,
    wasm_function_references => wasm_function_references,
    wasm_gc => wasm_gc,
    wasm_wide_arithmetic => wasm_wide_arithmetic,
    wasm_custom_page_sizes => wasm_custom_page_sizes,
    wasm_stack_switching => wasm_stack_switching,
    wasm_component_model => wasm_component_model,
    wasm_component_model_map => wasm_component_model_map,
    cranelift_debug_verifier => cranelift_debug_verifier,
    cranelift_nan_canonicalization => cranelift_nan_canonicalization,
    consume_fuel => consume_fuel,
    parallel_compilation => parallel_compilation,
    shared_memory => shared_memory,
    gc_support => gc_support,
    native_unwind_info => native_unwind_info,
    macos_use_mach_ports => macos_use_mach_ports,
    signals_based_traps => signals_based_traps,
    memory_init_cow => memory_init_cow;

    #[new]
    fn new() -> Self {
        PyConfig { state: Mutex::new(Some(ConfigState::default())) }
    }

    /// Any value; its truthiness decides (as in wasmtime-py).
    #[setter]
    fn set_epoch_interruption(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let enable = value.is_truthy()?;
        self.set("epoch_interruption", Arg::Bool(enable), |s| {
            s.user_epochs = enable;
            Ok(())
        })
    }

    /// Extension: wasmtime's support for concurrent component execution. Off by default here
    /// (wasmtime-py has no async component API, and it makes each component call ~2x slower);
    /// turn it on to compile components that use async features (`future`, `stream`...).
    #[setter]
    fn set_concurrency_support(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let enable = expect_bool(value)?;
        self.set("concurrency_support", Arg::Bool(enable), |s| { s.config.concurrency_support(enable); Ok(()) })
    }

    /// Extension: the component model's async features; turning them on turns on
    /// `concurrency_support`, which they need.
    #[setter]
    fn set_wasm_component_model_async(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let enable = expect_bool(value)?;
        self.set("wasm_component_model_async", Arg::Bool(enable), |s| {
            if enable {
                s.config.concurrency_support(true);
            }
            s.config.wasm_component_model_async(enable);
            Ok(())
        })
    }

    #[setter]
    fn set_memory_may_move(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let enable = expect_bool(value)?;
        self.set("memory_may_move", Arg::Bool(enable), |s| {
            s.config.memory_may_move(enable);
            s.memory_may_move = enable;
            Ok(())
        })
    }

    #[setter]
    fn set_max_wasm_stack(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let size: usize = expect_int(value)?;
        self.set("max_wasm_stack", Arg::Int(size as u64), |s| {
            s.config.max_wasm_stack(size);
            s.max_wasm_stack = size;
            Ok(())
        })
    }

    #[setter]
    fn set_memory_reservation(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes: u64 = expect_int(value)?;
        self.set("memory_reservation", Arg::Int(bytes), |s| {
            s.config.memory_reservation(bytes);
            s.memory_reservation = bytes;
            Ok(())
        })
    }

    #[setter]
    fn set_memory_guard_size(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes: u64 = expect_int(value)?;
        self.set("memory_guard_size", Arg::Int(bytes), |s| { s.config.memory_guard_size(bytes); Ok(()) })
    }

    #[setter]
    fn set_memory_reservation_for_growth(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes: u64 = expect_int(value)?;
        self.set("memory_reservation_for_growth", Arg::Int(bytes), |s| { s.config.memory_reservation_for_growth(bytes); Ok(()) })
    }

    #[setter]
    fn set_strategy(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let name = expect_str(value)?;
        let strategy = match name.as_str() {
            "auto" => wasmtime::Strategy::Auto,
            "cranelift" => wasmtime::Strategy::Cranelift,
            _ => return Err(wasmtime_error(format!("unknown strategy: {name}"))),
        };
        self.set("strategy", Arg::Str(name), |s| { s.config.strategy(strategy); Ok(()) })
    }

    #[setter]
    fn set_cranelift_opt_level(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let name = expect_str(value)?;
        let level = match name.as_str() {
            "none" => wasmtime::OptLevel::None,
            "speed" => wasmtime::OptLevel::Speed,
            "speed_and_size" => wasmtime::OptLevel::SpeedAndSize,
            _ => return Err(wasmtime_error(format!("unknown opt level: {name}"))),
        };
        self.set("cranelift_opt_level", Arg::Str(name), |s| { s.config.cranelift_opt_level(level); Ok(()) })
    }

    #[setter]
    fn set_profiler(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let name = expect_str(value)?;
        let strategy = match name.as_str() {
            "none" => wasmtime::ProfilingStrategy::None,
            "jitdump" => wasmtime::ProfilingStrategy::JitDump,
            "vtune" => wasmtime::ProfilingStrategy::VTune,
            "perfmap" => wasmtime::ProfilingStrategy::PerfMap,
            _ => return Err(wasmtime_error(format!("unknown profiler: {name}"))),
        };
        self.set("profiler", Arg::Str(name), |s| { s.config.profiler(strategy); Ok(()) })
    }

    /// Extension: `True` switches to wasmtime's pooling instance allocator with its default
    /// limits (instances, memories and tables come from slots reserved up front, which makes
    /// instantiation much cheaper), `False` back to on-demand allocation. A dict sets limits of
    /// the pool: `total_core_instances`, `total_memories`, `total_tables`, `total_stacks`,
    /// `total_gc_heaps`, `total_component_instances`, `max_memory_size` (bytes),
    /// `max_core_instance_size` (bytes), `table_elements`, `max_memories_per_module`,
    /// `max_tables_per_module`, `max_unused_warm_slots`.
    #[setter]
    fn set_pooling_allocator(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        use wasmtime::{InstanceAllocationStrategy, PoolingAllocationConfig};
        let mut recorded = Vec::new();
        let strategy = if let Ok(b) = value.cast::<PyBool>() {
            match b.is_true() {
                true => InstanceAllocationStrategy::Pooling(PoolingAllocationConfig::default()),
                false => InstanceAllocationStrategy::OnDemand,
            }
        } else if let Ok(settings) = value.cast::<PyDict>() {
            let mut p = PoolingAllocationConfig::default();
            for (key, v) in settings {
                let key: String = key.extract().map_err(|_| PyTypeError::new_err("pooling allocator settings are named by str"))?;
                recorded.push((key.clone(), expect_int::<u64>(&v)?));
                match key.as_str() {
                    "total_core_instances" => p.total_core_instances(expect_int(&v)?),
                    "total_memories" => p.total_memories(expect_int(&v)?),
                    "total_tables" => p.total_tables(expect_int(&v)?),
                    "total_stacks" => p.total_stacks(expect_int(&v)?),
                    "total_gc_heaps" => p.total_gc_heaps(expect_int(&v)?),
                    "total_component_instances" => p.total_component_instances(expect_int(&v)?),
                    "max_memory_size" => p.max_memory_size(expect_int(&v)?),
                    "max_core_instance_size" => p.max_core_instance_size(expect_int(&v)?),
                    "table_elements" => p.table_elements(expect_int(&v)?),
                    "max_memories_per_module" => p.max_memories_per_module(expect_int(&v)?),
                    "max_tables_per_module" => p.max_tables_per_module(expect_int(&v)?),
                    "max_unused_warm_slots" => p.max_unused_warm_slots(expect_int(&v)?),
                    _ => return Err(PyValueError::new_err(format!("unknown pooling allocator setting {key:?}"))),
                };
            }
            InstanceAllocationStrategy::Pooling(p)
        } else {
            return Err(PyTypeError::new_err("expected a bool or a dict of pooling allocator settings"));
        };
        let arg = match value.cast::<PyBool>() {
            Ok(b) => Arg::Bool(b.is_true()),
            Err(_) => Arg::Limits(recorded),
        };
        self.set("pooling_allocator", arg, |s| {
            s.config.allocation_strategy(strategy);
            Ok(())
        })
    }

    /// `True` for the default cache settings, or the path of a cache TOML file.
    #[setter]
    fn set_cache(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (path, arg) = if let Ok(b) = value.cast::<PyBool>() {
            if !b.is_true() {
                return Err(wasmtime_error("caching cannot be explicitly disabled"));
            }
            (None, Arg::Bool(true))
        } else if let Ok(s) = value.cast::<PyString>() {
            let text = s.to_str()?;
            (Some(std::path::PathBuf::from(text)), Arg::Str(text.to_owned()))
        } else {
            return Err(PyTypeError::new_err("expected string or bool"));
        };
        let cache = wasmtime::Cache::from_file(path.as_deref()).map_err(errors::from_wasmtime)?;
        self.set("cache", arg, |s| { s.config.cache(Some(cache)); Ok(()) })
    }

    #[setter]
    fn set_target(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let triple = expect_str(value)?;
        let arg = Arg::Str(triple.clone());
        self.set("target", arg, |s| s.config.target(&triple).map(|_| ()).map_err(errors::from_wasmtime))
    }

    /// Unsafe by contract: Cranelift flags are not validated and can produce broken code.
    fn cranelift_flag_enable(&self, flag: &Bound<'_, PyAny>) -> PyResult<()> {
        let flag = expect_str(flag)?;
        let step = Step { name: "cranelift_flag_enable", call: true, args: vec![Arg::Str(flag.clone())] };
        // SAFETY: documented as unsafe by contract in the stubs and README: the user vouches
        // for the flag, exactly as with wasmtime-py.
        self.step(step, |s| { unsafe { s.config.cranelift_flag_enable(&flag) }; Ok(()) })
    }

    /// Unsafe by contract, like `cranelift_flag_enable`.
    fn cranelift_flag_set(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (key, value) = (expect_str(key)?, expect_str(value)?);
        let step = Step { name: "cranelift_flag_set", call: true, args: vec![Arg::Str(key.clone()), Arg::Str(value.clone())] };
        // SAFETY: as in `cranelift_flag_enable`.
        self.step(step, |s| { unsafe { s.config.cranelift_flag_set(&key, &value) }; Ok(()) })
    }

    fn close(&self) {
        let old = self.state.lock().ok().and_then(|mut g| g.take());
        drop(old);
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
