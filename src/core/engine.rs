//! `Engine`, and the epoch ticker that lets running wasm be interrupted.
//!
//! Every engine is compiled with epoch checks, whatever the user's `Config` says, and a single
//! background thread ("the ticker") bumps the epoch of every live engine every [`TICK`]. Each
//! store installs a deadline callback (`store.rs`) that runs at most once per tick while wasm
//! runs: it checks for Ctrl-C and for cancellation, and enforces the *user's* epoch deadline.
//!
//! The user's own epochs are kept apart from ours: `Engine.increment_epoch()` bumps
//! `user_epoch` (and the real epoch, so the check happens right away), and `Store.set_epoch_deadline`
//! is counted in user epochs. With `Config.epoch_interruption` left off, user deadlines are
//! ignored, as in wasmtime. The cost is one compare per loop header and function entry, measured
//! by the `loop` row of the bench.
//!
//! Pickles: an engine pickles as its recipe (the settings made on its `Config`), and compiled
//! artifacts (`Module`, `Component`) pickle as their serialized code plus that recipe and the
//! wasmtime version. Unpickling rebuilds the engine from the recipe, once per process and recipe
//! (while it lives), so everything unpickled from one engine lands on one engine again and can
//! share stores. Wasmtime itself then checks that the code fits that engine (version, target,
//! compiler flags) before loading it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use pyo3::prelude::*;

use crate::core::config::{self, ConfigState, PyConfig, Step};
use crate::core::Closable;
use crate::errors::{self, type_error, wasmtime_error};
use pyo3::types::PyTuple;

/// How often the ticker bumps every engine's epoch: the latency of Ctrl-C and timeouts.
pub const TICK: Duration = Duration::from_millis(5);

/// An engine plus what the binding keeps about it; shared by every store made from it.
pub struct EngineState {
    pub engine: wasmtime::Engine,
    /// Whether the user enabled epoch interruption (their deadlines count only then).
    pub user_epochs: bool,
    /// The user's epoch counter, advanced only by `Engine.increment_epoch()`.
    pub user_epoch: AtomicU64,
    pub max_wasm_stack: usize,
    /// Memories growing past this many bytes may move (`None`: they never move).
    pub moves_past: Option<u64>,
    /// The settings this engine was made with (see the module docs).
    pub recipe: Vec<Step>,
}

impl EngineState {
    pub fn new(state: ConfigState) -> PyResult<Arc<Self>> {
        let ConfigState { mut config, user_epochs, max_wasm_stack, memory_reservation, memory_may_move, recipe } = state;
        let moves_past = memory_may_move.then_some(memory_reservation);
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).map_err(errors::from_wasmtime)?;
        let state = Arc::new(EngineState {
            engine,
            user_epochs,
            user_epoch: AtomicU64::new(0),
            max_wasm_stack,
            moves_past,
            recipe,
        });
        ticker_register(&state);
        Ok(state)
    }

    pub fn increment_user_epoch(&self) {
        self.user_epoch.fetch_add(1, Ordering::SeqCst);
        self.engine.increment_epoch();
    }
}

/// The format of our pickles; bumped whenever their layout changes.
const PICKLE_FORMAT: u32 = 1;

/// What `__reduce__` returns for something made with `engine`: the native function named
/// `unpickle` and its arguments `(format, wasmtime version, recipe[, code])`.
pub fn reduce<'py>(
    py: Python<'py>,
    unpickle: &str,
    engine: &EngineState,
    code: Option<&[u8]>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    let recipe = config::recipe_to_py(py, &engine.recipe)?;
    let args = match code {
        Some(code) => (PICKLE_FORMAT, crate::WASMTIME_VERSION, recipe, pyo3::types::PyBytes::new(py, code)).into_pyobject(py)?,
        None => (PICKLE_FORMAT, crate::WASMTIME_VERSION, recipe).into_pyobject(py)?,
    };
    Ok((py.import("wasmtime._native")?.getattr(unpickle)?, args))
}

/// The engine to load a pickled `kind` into, after checking that this process can load it.
pub fn unpickle_engine(
    py: Python<'_>,
    kind: &str,
    format: u32,
    version: &str,
    recipe: &Bound<'_, PyAny>,
) -> PyResult<Arc<EngineState>> {
    if format != PICKLE_FORMAT {
        return Err(wasmtime_error(format!("cannot unpickle {kind}: pickle format {format}, this wasmbridge reads {PICKLE_FORMAT}")));
    }
    if version != crate::WASMTIME_VERSION {
        return Err(wasmtime_error(format!(
            "cannot unpickle {kind}: compiled by wasmtime {version}, this is wasmtime {}; pickle the wasm source instead, or use the same wasmbridge release on both sides",
            crate::WASMTIME_VERSION
        )));
    }
    engine_for_recipe(py, recipe)
}

/// The engines made by unpickling, by recipe.
static UNPICKLED: Mutex<Vec<Weak<EngineState>>> = Mutex::new(Vec::new());

/// The live unpickled engine with this recipe, or a new one.
fn engine_for_recipe(py: Python<'_>, recipe: &Bound<'_, PyAny>) -> PyResult<Arc<EngineState>> {
    let config = config::config_from_recipe(py, recipe)?;
    let state = config.get().take()?;
    let live = UNPICKLED.lock().ok().and_then(|engines| engines.iter().filter_map(Weak::upgrade).find(|e| e.recipe == state.recipe));
    if let Some(engine) = live {
        return Ok(engine);
    }
    let engine = py.detach(|| EngineState::new(state))?;
    let mut engines = UNPICKLED.lock().map_err(|_| wasmtime_error("engine registry poisoned"))?;
    // Another thread may have made the same engine meanwhile: keep the first.
    if let Some(existing) = engines.iter().filter_map(Weak::upgrade).find(|e| e.recipe == engine.recipe) {
        return Ok(existing);
    }
    engines.retain(|w| w.strong_count() > 0);
    engines.push(Arc::downgrade(&engine));
    Ok(engine)
}

/// `pickle` support: the engine made from a pickled recipe.
#[pyfunction]
pub fn _unpickle_engine(py: Python<'_>, format: u32, version: &str, recipe: &Bound<'_, PyAny>) -> PyResult<PyEngine> {
    unpickle_engine(py, "Engine", format, version, recipe).map(PyEngine::from_state)
}

static TICKED: Mutex<Vec<Weak<EngineState>>> = Mutex::new(Vec::new());
/// The process whose ticker runs (0: none yet); a forked child has its parent's id here.
static TICKER_PID: AtomicU32 = AtomicU32::new(0);

fn ticker_register(state: &Arc<EngineState>) {
    if let Ok(mut engines) = TICKED.lock() {
        engines.retain(|w| w.strong_count() > 0);
        engines.push(Arc::downgrade(state));
    }
    restart_ticker();
}

/// Starts the ticker unless this process has one (a forked child does not: see `fork.rs`).
pub fn restart_ticker() {
    let pid = std::process::id();
    if TICKER_PID.swap(pid, Ordering::SeqCst) == pid {
        return;
    }
    // If the thread cannot be spawned, wasm still runs; only interruption is lost.
    let _ = std::thread::Builder::new().name("wasmbridge-ticker".into()).spawn(|| loop {
        std::thread::sleep(TICK);
        let live: Vec<Arc<EngineState>> = match TICKED.lock() {
            Ok(engines) => engines.iter().filter_map(Weak::upgrade).collect(),
            Err(_) => return,
        };
        for e in &live {
            e.engine.increment_epoch();
        }
    });
}

/// The locks a fork must not catch held by another thread (see `fork.rs`).
pub fn fork_guards() -> Vec<Box<dyn std::any::Any>> {
    vec![
        Box::new(TICKED.lock().unwrap_or_else(|e| e.into_inner())),
        Box::new(UNPICKLED.lock().unwrap_or_else(|e| e.into_inner())),
    ]
}

#[pyclass(frozen, weakref, module = "wasmtime", name = "Engine")]
pub struct PyEngine {
    state: Closable<Arc<EngineState>>,
}

impl PyEngine {
    pub fn state(&self) -> PyResult<Arc<EngineState>> {
        self.state.get()
    }

    pub fn from_state(state: Arc<EngineState>) -> Self {
        PyEngine { state: Closable::new(state) }
    }

    /// The engine behind an `Engine` argument, or `TypeError('expected an Engine')`.
    pub fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Arc<EngineState>> {
        obj.cast::<PyEngine>().map_err(|_| type_error("expected an Engine"))?.get().state()
    }
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (config=None))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let state = match config {
            None => ConfigState::default(),
            Some(c) => c.cast::<PyConfig>().map_err(|_| type_error("expected Config"))?.get().take()?,
        };
        let state = py.detach(|| EngineState::new(state))?;
        Ok(PyEngine::from_state(state))
    }

    /// Advances the epoch counted by `Store.set_epoch_deadline`. Callable from any thread,
    /// including while wasm runs in a store of this engine.
    fn increment_epoch(&self) -> PyResult<()> {
        self.state()?.increment_user_epoch();
        Ok(())
    }

    /// Pickles as the engine's settings; see the module docs.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce(py, "_unpickle_engine", &*self.state()?, None)
    }

    fn is_pulley(&self) -> PyResult<bool> {
        Ok(self.state()?.engine.is_pulley())
    }

    fn close(&self) {
        self.state.close();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }
}
