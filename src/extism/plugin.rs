//! `ExtismPlugin` (behind `extism.Plugin`): one store running a compiled manifest, and the call
//! protocol of the reference runtime.
//!
//! # Calls
//! A call takes the plugin's gate (one call at a time; other threads wait with the GIL
//! released, and keep answering Ctrl-C), then, with the GIL released: rebuilds the store if the
//! previous call was `_start`; instantiates `main` on the first call (inside the timeout, so a
//! spinning start function or `_initialize` times out instead of hanging) and runs the language
//! runtime's initialiser; resets the kernel and copies the input in; calls the export; and reads
//! the return code, the guest's error and the output by upstream's rules. The output is copied
//! into a `bytes` *before* the gate opens, so concurrent callers never see each other's output
//! (the reference reads it after unlocking).
//!
//! A host function that calls back into its own plugin finds the gate held by its own thread
//! and gets an `Error` (the reference deadlocks).

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::exceptions::PyUnicodeDecodeError;
use pyo3::types::{PyBytes, PyString};
use pyo3::{PyTraverseError, PyVisit};
use wasmtime::{Func, Instance, Linker, Store, TypedFunc, Val, ValType};

use crate::core::thread_token;
use crate::errors::{HostError, extism_error, type_error};
use crate::extism::cancel_handle::PyExtismCancelHandle;
use crate::extism::compiled::{Compiled, PyExtismCompiled, merged_config};
use crate::extism::imports::with_kernel;
use crate::extism::state::{Interrupt, PluginData, new_store};

/// One call at a time per plugin, without ever blocking a thread that holds the GIL.
#[derive(Default)]
struct Gate {
    /// Token of the thread inside the plugin; 0 when free.
    owner: AtomicU64,
    waiters: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

struct Pass<'a>(&'a Gate);

impl<'a> Pass<'a> {
    fn new(gate: &'a Gate) -> Self {
        HELD.with(|h| h.set(h.get() + 1));
        Pass(gate)
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get() - 1));
        self.0.owner.store(0, Ordering::SeqCst);
        if self.0.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.0.lock.lock();
            self.0.freed.notify_all();
        }
    }
}

/// How long a waiting call sleeps between checks for Ctrl-C and cancellation.
const WAIT_SLICE: Duration = Duration::from_millis(5);

impl Gate {
    fn try_enter(&self, me: u64) -> bool {
        self.owner.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    fn enter(&self, py: Python<'_>) -> PyResult<Pass<'_>> {
        let me = thread_token();
        if self.try_enter(me) {
            return Ok(Pass::new(self));
        }
        if self.owner.load(Ordering::SeqCst) == me {
            return Err(extism_error("cannot make reentrant calls into plugin"));
        }
        self.waiters.fetch_add(1, Ordering::SeqCst);
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _waiting = Waiting(&self.waiters);
        // Only a thread inside a plugin call can close a cycle of waits.
        let holds_a_gate = HELD.with(|h| h.get()) > 0;
        let _registered = holds_a_gate.then(|| WaitFor(me));
        loop {
            if holds_a_gate && WaitFor::would_deadlock(me, self) {
                return Err(extism_error(
                    "plugin call would deadlock: the call running in this plugin is waiting, through host functions, for a plugin call this thread is making",
                ));
            }
            let entered = py.detach(|| {
                let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
                if self.try_enter(me) {
                    return true;
                }
                let _ = self.freed.wait_timeout(guard, WAIT_SLICE);
                self.try_enter(me)
            });
            if entered {
                return Ok(Pass::new(self));
            }
            py.check_signals()?;
            // A `call_async` cancelled while it waits ends now, as a cancelled call does.
            if crate::core::cancel_scope::requested() {
                return Err(extism_error("timeout"));
            }
        }
    }
}

/// The gate each thread waits at, for threads that wait while inside a plugin call (holding
/// a gate), to refuse a wait that closes a cycle: thread 1 inside plugin A's host function
/// calling plugin B while thread 2, inside B's, calls A would otherwise wait forever.
static WAITING: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());

thread_local! {
    /// How many gates this thread holds (plugin calls it is inside).
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Registers the current thread as waiting at a gate; unregistered on drop.
struct WaitFor(u64);

impl WaitFor {
    /// Records that `me` waits at `gate`; true if the thread holding `gate` waits, directly or
    /// through others, for a gate `me` holds.
    fn would_deadlock(me: u64, gate: &Gate) -> bool {
        let mut waiting = WAITING.lock().unwrap_or_else(|e| e.into_inner());
        let at = gate as *const Gate as usize;
        match waiting.iter_mut().find(|(t, _)| *t == me) {
            Some(entry) => entry.1 = at,
            None => waiting.push((me, at)),
        }
        let mut owner = gate.owner.load(Ordering::SeqCst);
        for _ in 0..=waiting.len() {
            if owner == me {
                return true;
            }
            let Some(&(_, next)) = waiting.iter().find(|(t, _)| *t == owner) else { return false };
            // SAFETY: an entry is removed (under this lock) before its thread stops borrowing
            // the gate it waits at, so every gate listed here is alive while we hold the lock.
            owner = unsafe { &*(next as *const Gate) }.owner.load(Ordering::SeqCst);
        }
        false
    }
}

impl Drop for WaitFor {
    fn drop(&mut self) {
        let mut waiting = WAITING.lock().unwrap_or_else(|e| e.into_inner());
        waiting.retain(|(t, _)| *t != self.0);
    }
}

/// An export of `main`, resolved once per instance (never cloned: a typed function's clone
/// clones its registered type, which costs more than a whole call).
enum Export {
    /// `() -> ()`
    Unit(TypedFunc<(), ()>),
    /// `() -> i32`: the return code.
    Code(TypedFunc<(), i32>),
    /// Anything else with at most one result (called generically, as upstream does).
    Other(Func, usize),
}

/// Why a call failed, before it is turned into a Python exception.
enum Failure {
    Text(String),
    /// The guest's `error_set` message (decoded as UTF-8 in Python, as the reference does).
    Guest(Vec<u8>),
    /// A Python exception from a host function or a signal handler.
    Python(PyErr),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Text(s)
    }
}

/// The store and what was instantiated in it.
struct Core {
    store: Store<PluginData>,
    /// The plugin's own linker, when other manifest modules were linked into this store.
    linker: Option<Linker<PluginData>>,
    instance: Option<Instance>,
    /// Exports called so far (few: a linear search beats hashing).
    exports: Vec<(String, Export)>,
    /// The last call was `_start`: the next one starts from a new store.
    needs_reset: bool,
}

/// The message of a failure that ran wasm, by upstream's rules (`timeout`, `oom`, fuel, exits).
fn describe(store: &Store<PluginData>, e: wasmtime::Error) -> Failure {
    if let Some(host) = e.downcast_ref::<HostError>() {
        return Failure::Python(Python::attach(|py| host.0.clone_ref(py)));
    }
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => return Failure::Text("timeout".into()),
        Some(wasmtime::Trap::OutOfFuel) => return Failure::Text("plugin ran out of fuel".into()),
        _ => {}
    }
    if store.data().limiter.oom {
        return Failure::Text("oom".into());
    }
    Failure::Text(format!("{e:?}"))
}

impl Core {
    fn new(compiled: &Arc<Compiled>, config: Arc<BTreeMap<String, String>>, id: Arc<str>, interrupt: Arc<Interrupt>) -> Result<Core, Failure> {
        if let Some(e) = &compiled.link_error {
            return Err(Failure::Text(e.clone()));
        }
        let mut store = new_store(compiled, config, id, interrupt)?;
        let mut linker = None;
        if !compiled.deps.is_empty() {
            // Other modules are linked now, as upstream does (reactors are instantiated and
            // initialised here), under the plugin's timeout.
            let mut l = compiled.linker.clone();
            store.data_mut().deadline = deadline(compiled);
            for (name, module) in &compiled.deps {
                if let Err(e) = l.module(&mut store, name, module) {
                    return Err(describe(&store, e));
                }
            }
            store.data_mut().deadline = None;
            l.instantiate_pre(&compiled.main).map_err(|e| Failure::Text(e.to_string()))?;
            linker = Some(l);
        }
        Ok(Core { store, linker, instance: None, exports: Vec::new(), needs_reset: false })
    }

    /// The main instance, made and initialised on first use.
    fn instance(&mut self, compiled: &Compiled) -> Result<Instance, Failure> {
        if let Some(i) = self.instance {
            return Ok(i);
        }
        self.store.data_mut().limiter.refill();
        let made = match (&self.linker, &compiled.pre) {
            (Some(l), _) => l.instantiate(&mut self.store, &compiled.main),
            (None, Some(pre)) => pre.instantiate(&mut self.store),
            (None, None) => return Err(Failure::Text("the plugin has no main module".into())),
        };
        let instance = made.map_err(|e| describe(&self.store, e))?;
        // Budget counts growth after creation: the main module's initial pages only had to fit.
        self.store.data_mut().limiter.refill();
        self.initialize(instance).map_err(|e| describe(&self.store, e))?;
        self.instance = Some(instance);
        Ok(instance)
    }

    /// Runs the language runtime's initialiser, as upstream detects it (`_start` never runs).
    fn initialize(&mut self, instance: Instance) -> wasmtime::Result<()> {
        let s = &mut self.store;
        let unit = |s: &mut Store<PluginData>, name: &str| instance.get_typed_func::<(), ()>(s, name).ok();
        if instance.get_func(&mut *s, "hs_init").is_some() {
            if let Some(init) = unit(s, "_initialize") {
                init.call(&mut *s, ())?;
            }
            let hs_init = instance.get_typed_func::<(i32, i32), ()>(&mut *s, "hs_init")?;
            hs_init.call(&mut *s, (0, 0))
        } else if let Some(ctors) = unit(s, "__wasm_call_ctors") {
            ctors.call(&mut *s, ())
        } else if let Some(init) = unit(s, "_initialize") {
            init.call(&mut *s, ())
        } else {
            Ok(())
        }
    }

    /// The index of export `name` in `exports`, resolving it on first use.
    fn export(&mut self, instance: Instance, name: &str) -> Result<usize, Failure> {
        if let Some(at) = self.exports.iter().position(|(n, _)| n == name) {
            return Ok(at);
        }
        let shown = name.split('\0').next().unwrap_or_default();
        let func = instance.get_func(&mut self.store, name).ok_or_else(|| Failure::Text(format!("Function not found: {shown}")))?;
        let ty = func.ty(&self.store);
        let results: Vec<ValType> = ty.results().collect();
        if results.len() > 1 {
            return Err(Failure::Text(format!("Function {shown} has {} results, expected 0 or 1", results.len())));
        }
        let export = match (ty.params().len(), results.first()) {
            (0, None) => Export::Unit(func.typed(&self.store).map_err(|e| Failure::Text(e.to_string()))?),
            (0, Some(ValType::I32)) => Export::Code(func.typed(&self.store).map_err(|e| Failure::Text(e.to_string()))?),
            _ => Export::Other(func, results.len()),
        };
        self.exports.push((name.to_owned(), export));
        Ok(self.exports.len() - 1)
    }

    /// Runs `name` with `input` (GIL released). Ok means: read the output.
    fn call(&mut self, compiled: &Compiled, name: &str, input: &[u8]) -> Result<(), Failure> {
        let instance = self.instance(compiled)?;
        with_kernel(&mut self.store, |k| {
            k.reset();
            k.set_input(input)
        })
        .ok_or_else(|| Failure::Text("failed to allocate extism memory".into()))?;
        let at = self.export(instance, name)?;
        let s = &mut self.store;
        let result: wasmtime::Result<i32> = match &self.exports[at].1 {
            Export::Unit(f) => f.call(&mut *s, ()).map(|()| 0),
            Export::Code(f) => f.call(&mut *s, ()),
            Export::Other(f, n) => {
                let mut out = vec![Val::I32(0); *n];
                f.call(&mut *s, &[], &mut out).map(|()| match out.first() {
                    None => 0,
                    Some(Val::I32(rc)) => *rc,
                    Some(_) => -1,
                })
            }
        };
        self.needs_reset = name == "_start";
        if compiled.settings.fuel_limit.is_some() && self.store.get_fuel().is_ok_and(|f| f == 0) {
            return Err(Failure::Text("plugin ran out of fuel".into()));
        }
        if let Err(e) = &result
            && e.downcast_ref::<HostError>().is_some()
        {
            return Err(describe(&self.store, result.unwrap_err()));
        }
        let (handle, message) = with_kernel(&mut self.store, |k| (k.error_get(), k.error().map(<[u8]>::to_vec)));
        if let Some(message) = message {
            return Err(Failure::Guest(message));
        }
        if handle != 0 {
            // Upstream's quirk: an error offset inside a block is ignored by the call but still
            // reported, as an empty message.
            return Err(Failure::Guest(Vec::new()));
        }
        match result {
            Ok(0) => Ok(()),
            Ok(rc) => Err(Failure::Text(format!("Error code: {rc}"))),
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) if exit.0 == 0 => Ok(()),
                _ => Err(describe(&self.store, e)),
            },
        }
    }
}

/// The runtime's event for a finished call (upstream's texts).
fn log_outcome(id: &str, name: &str, outcome: &Result<(), Failure>) {
    match outcome {
        Ok(()) => tracing::debug!(target: "extism::plugin", plugin = id, "function {name} returned successfully"),
        Err(Failure::Guest(message)) => tracing::error!(
            target: "extism::plugin",
            plugin = id,
            "call to {name} returned with error message: {}",
            String::from_utf8_lossy(message)
        ),
        Err(Failure::Text(text)) => tracing::error!(target: "extism::plugin", plugin = id, "call to {name} failed: {text}"),
        Err(Failure::Python(_)) => tracing::debug!(target: "extism::plugin", plugin = id, "call to {name} raised a Python exception"),
    }
}

fn deadline(compiled: &Compiled) -> Option<Instant> {
    compiled.settings.timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms))
}

#[pyclass(frozen, module = "wasmtime._native", name = "ExtismPlugin")]
pub struct PyExtismPlugin {
    compiled: Py<PyExtismCompiled>,
    inner: Arc<Compiled>,
    #[pyo3(get)]
    id: String,
    config: Arc<BTreeMap<String, String>>,
    interrupt: Arc<Interrupt>,
    gate: Gate,
    /// `None` once closed. Only touched by the thread holding the gate.
    core: UnsafeCell<Option<Core>>,
    /// Set by `close`, for the methods that do not take the gate.
    closed: AtomicBool,
}

// SAFETY: `core` is only reached by the thread that holds `gate` (see `PyExtismPlugin::core`).
unsafe impl Sync for PyExtismPlugin {}

fn closed() -> PyErr {
    type_error("plugin is closed")
}

impl PyExtismPlugin {
    /// The core, for the holder of the gate.
    #[allow(clippy::mut_from_ref)]
    fn core(&self, _pass: &Pass<'_>) -> PyResult<&mut Core> {
        // SAFETY: the caller holds the gate (`_pass`), so no other reference to `core` exists.
        unsafe { (*self.core.get()).as_mut() }.ok_or_else(closed)
    }

    /// Runs a call: the gate, a fresh store if due, the detached call, the output copy.
    fn run<'py>(&self, py: Python<'py>, name: &str, data: &[u8], host_context: Option<Py<PyAny>>) -> PyResult<Bound<'py, PyBytes>> {
        let pass = self.gate.enter(py)?;
        let core = self.core(&pass)?;
        let inner = &self.inner;

        let legacy_fresh = inner.fresh_instances && core.instance.is_some();
        if core.needs_reset || legacy_fresh {
            let id = core.store.data().id.clone();
            let fresh = py.detach(|| Core::new(inner, self.config.clone(), id, self.interrupt.clone()));
            match fresh {
                Ok(mut fresh) => {
                    // After `_start` everything is new; a 0.x plugin keeps its variables.
                    if !core.needs_reset {
                        let (old, new) = (core.store.data_mut(), fresh.store.data_mut());
                        new.vars = std::mem::take(&mut old.vars);
                        new.vars_size = old.vars_size;
                    }
                    *core = fresh;
                }
                Err(f) => return Err(to_python(py, f)),
            }
        }
        core.store.data_mut().host_context = host_context;
        self.interrupt.cancel.store(false, Ordering::SeqCst);
        self.interrupt.running.store(true, Ordering::SeqCst);
        {
            let data = core.store.data_mut();
            data.deadline = deadline(inner);
            data.limiter.oom = false;
        }
        if let Some(fuel) = inner.settings.fuel_limit {
            let _ = core.store.set_fuel(fuel);
        }
        tracing::debug!(target: "extism::plugin", plugin = &*self.id, "calling function {name} with {} bytes of input", data.len());
        let outcome = py.detach(|| crate::core::store::with_stack(inner.engine.max_wasm_stack, || core.call(inner, name, data)));
        self.interrupt.running.store(false, Ordering::SeqCst);
        log_outcome(&self.id, name, &outcome);
        let data = core.store.data_mut();
        data.deadline = None;
        let context = data.host_context.take();
        drop(context);
        match outcome {
            Ok(()) => Ok(with_kernel(&mut core.store, |k| PyBytes::new(py, k.output().unwrap_or_default()))),
            Err(f) => Err(to_python(py, f)),
        }
    }
}

#[pymethods]
impl PyExtismPlugin {
    #[new]
    #[pyo3(signature = (compiled, config=None))]
    fn new(py: Python<'_>, compiled: Bound<'_, PyExtismCompiled>, config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let inner = compiled.get().inner.clone();
        let config = Arc::new(merged_config(&inner.settings.config, config));
        let id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        let interrupt = Arc::new(Interrupt::default());
        let core = py.detach(|| Core::new(&inner, config.clone(), id.clone(), interrupt.clone()));
        let core = core.map_err(|f| match f {
            Failure::Python(e) => e,
            Failure::Text(t) => extism_error(format!("Unable to create Extism plugin: {t}")),
            Failure::Guest(m) => extism_error(format!("Unable to create Extism plugin: {}", String::from_utf8_lossy(&m))),
        })?;
        Ok(PyExtismPlugin {
            compiled: compiled.unbind(),
            inner,
            id: id.to_string(),
            config,
            interrupt,
            gate: Gate::default(),
            core: UnsafeCell::new(Some(core)),
            closed: AtomicBool::new(false),
        })
    }

    /// Calls export `name` (str, or UTF-8 bytes) with `data` (str, sent as UTF-8, or
    /// bytes-like) as input; returns the output as bytes, or `parse(output)`.
    #[pyo3(signature = (name, data, parse=None, host_context=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
        parse: Option<&Bound<'py, PyAny>>,
        host_context: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name: &str = match name.cast::<PyString>() {
            Ok(s) => s.to_str()?,
            Err(_) => match name.cast::<PyBytes>() {
                Ok(b) => std::str::from_utf8(b.as_bytes()).map_err(|e| PyUnicodeDecodeError::new_err(e.to_string()))?,
                Err(_) => return Err(type_error(format!("function name must be str, not {}", name.get_type().name()?))),
            },
        };
        let copied: Vec<u8>;
        let data: &[u8] = if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes()
        } else if let Ok(s) = data.cast::<PyString>() {
            s.to_str()?.as_bytes()
        } else if let Ok(buf) = pyo3::buffer::PyBuffer::<u8>::get(data) {
            copied = buf.to_vec(py)?;
            &copied
        } else {
            return Err(type_error(format!("plugin input must be str or bytes-like, not {}", data.get_type().name()?)));
        };
        let output = self.run(py, name, data, host_context)?;
        match parse {
            Some(parse) if !parse.is_none() => parse.call1((output,)),
            _ => Ok(output.into_any()),
        }
    }
    /// Whether `main` exports `name` as `() -> ()` or `() -> i32` (upstream's rule).
    fn function_exists(&self, name: &str) -> PyResult<bool> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        Ok(match self.inner.main.get_export(name) {
            Some(wasmtime::ExternType::Func(ty)) => {
                let mut results = ty.results();
                ty.params().len() == 0 && results.len() <= 1 && results.next().is_none_or(|r| matches!(r, ValType::I32))
            }
            _ => false,
        })
    }

    fn cancel_handle(&self) -> PyResult<PyExtismCancelHandle> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        Ok(PyExtismCancelHandle::new(self.interrupt.clone()))
    }

    /// Drops the store; later calls raise `TypeError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let pass = self.gate.enter(py)?;
        self.closed.store(true, Ordering::SeqCst);
        // SAFETY: the gate is held.
        let old = unsafe { (*self.core.get()).take() };
        drop(pass);
        drop(old);
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.compiled)
    }
}

fn to_python(py: Python<'_>, f: Failure) -> PyErr {
    match f {
        Failure::Python(e) => e,
        Failure::Text(t) => extism_error(t),
        Failure::Guest(m) => match PyBytes::new(py, &m).call_method1("decode", ("utf-8",)) {
            Ok(text) => match text.extract::<String>() {
                Ok(t) => extism_error(t),
                Err(e) => e,
            },
            Err(e) => e,
        },
    }
}
