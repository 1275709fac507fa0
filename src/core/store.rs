//! `Store`: owns every wasm object; everything else in Python is a handle onto it.
//!
//! # Rules
//! * **Stores own, objects are handles.** `Func`, `Memory`, `Global`, `Table` and `Instance`
//!   are a wasmtime handle plus the id of the store that made them ([`Shared::id`]). They do not
//!   keep the store alive. Every operation takes a storelike (`Store`, `Caller`, `StoreContext`);
//!   [`resolve`] turns it into the store and [`PyStore::check`] rejects a handle of another store
//!   with a `WasmtimeError` (wasmtime itself would panic).
//! * **No borrow is held across Python code.** The `wasmtime::Store` sits in an `UnsafeCell`; the
//!   GIL serializes access. While wasm runs, the GIL is released and the store is marked busy
//!   with the running thread's token. Host functions re-attach and push their `wasmtime::Caller`
//!   on [`Shared::callers`]; any use of the store made from Python during that callback (through
//!   the `Caller` *or* the outer `Store` object) goes through the innermost caller, the one
//!   mutable borrow wasmtime has lent out. Another thread finds the store busy and gets a
//!   `WasmtimeError`; nothing ever blocks, so nothing can deadlock.
//! * **Python objects live where the GC sees them.** Host callables and `Store.data` sit in
//!   [`Objects`], reported by `__traverse__` and dropped by `__clear__`; the closures that
//!   wasmtime owns hold only indices into it (or, for `Linker.define_func` functions, a key into
//!   [`Objects::linked`], filled from the linker whenever it hands its functions to this store).
//!   Externref payloads are registered in [`Objects::externs`]. Later issues add here, in
//!   [`StoreData`]: the WASI p1 context, the wasi-http context and resource table, the Extism
//!   plugin state.
//! * **Interruption.** Each store has an epoch deadline callback (see `engine.rs`): it enforces
//!   the user's epoch deadline, runs Python signal handlers on the main thread (so Ctrl-C raises
//!   `KeyboardInterrupt` out of running wasm) and stops wasm whose `call_async` task was
//!   cancelled (`cancel_scope.rs`).
//! * **Stack.** Before the outermost entry into wasm the remaining native stack is checked; if it
//!   cannot hold `max_wasm_stack` plus room for host frames, the call runs on a fresh stack
//!   segment (`stacker`), so deep recursion traps instead of overflowing a small thread stack.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};
use wasmtime::{AsContextMut, StoreContextMut};

use crate::core::caller::PyCaller;
use crate::core::engine::{EngineState, PyEngine};
use crate::core::val::ExternCell;
use crate::core::{GilCell, thread_token};
use crate::errors::{self, HostError, wasmtime_error};

/// What the store keeps inside wasmtime (`wasmtime::Store<StoreData>`).
pub struct StoreData {
    pub shared: Arc<Shared>,
    pub limits: wasmtime::StoreLimits,
    /// The user's epoch deadline, in user epochs (see `engine.rs`).
    pub user_deadline: u64,
    /// WASI preview 1 (`Store.set_wasi`; see `wasi::context`).
    pub wasi: Option<wasmtime_wasi::p1::WasiP1Ctx>,
    /// wasi-http (`Store.set_wasi_http`), used by components.
    pub wasi_http: Option<wasmtime_wasi_http::WasiHttpCtx>,
}

impl StoreData {
    /// Whether growing a memory to `bytes` could move it while a zero-copy view points into it.
    pub fn growth_would_move_a_view(&self, bytes: u64) -> bool {
        self.shared.views.load(Ordering::Relaxed) > 0 && self.shared.engine.moves_past.is_some_and(|limit| bytes > limit)
    }
}

/// The store's limits (`Store.set_limits`), plus one rule of ours: a memory with live zero-copy
/// views (`Memory.buffer`) does not grow past the size wasmtime reserved for it, since growing
/// further moves it and would leave the views pointing at freed memory. Wasm's `memory.grow`
/// then returns -1, as for any refused growth. With wasmtime's defaults (4 GiB reserved, the
/// whole range of a 32-bit memory) this never triggers.
impl wasmtime::ResourceLimiter for StoreData {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if self.growth_would_move_a_view(desired as u64) {
            return Ok(false);
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The state both the `Store` object and the wasmtime closures reach.
pub struct Shared {
    /// Unique per store; handles record it.
    pub id: u64,
    pub engine: Arc<EngineState>,
    /// Token of the thread running wasm in this store with the GIL released; 0 when idle.
    busy: AtomicU64,
    /// Live `MemoryBuffer`s of this store's memories: while there is one, no memory may grow
    /// in a way that moves it (see the `ResourceLimiter` of [`StoreData`]).
    pub views: std::sync::atomic::AtomicUsize,
    /// The `Caller`s of the host functions now running, innermost last.
    callers: GilCell<Vec<CallerPtr>>,
    /// Ids of the component instances running now: the component model forbids re-entering
    /// one, and wasmtime only checks it when its concurrency support is on (it is off).
    components: GilCell<Vec<u64>>,
    objects: GilCell<Objects>,
}

/// The Python objects a store holds.
#[derive(Default)]
pub struct Objects {
    pub data: Option<Py<PyAny>>,
    /// Host callables of `Func(store, ty, callable)`, by index; `None` once cleared by the GC.
    pub host_fns: Vec<Option<Py<PyAny>>>,
    /// Callables of `Linker.define_func` functions this store may call, by linker function key.
    pub linked: HashMap<u64, Py<PyAny>>,
    /// Payloads of the externrefs made in this store (and its WASI output callables); dead
    /// entries are swept as it grows.
    externs: Vec<Weak<ExternCell>>,
    /// Length of `externs` after the last sweep.
    swept: usize,
}

impl Objects {
    pub fn add_extern(&mut self, cell: &Arc<ExternCell>) {
        if self.externs.len() >= 2 * self.swept.max(32) {
            self.externs.retain(|w| w.strong_count() > 0);
            self.swept = self.externs.len();
        }
        self.externs.push(Arc::downgrade(cell));
    }

    /// Makes the callables of linker functions available to this store's functions.
    pub fn link(&mut self, py: Python<'_>, funcs: &[(u64, Py<PyAny>)]) {
        for (key, f) in funcs {
            self.linked.entry(*key).or_insert_with(|| f.clone_ref(py));
        }
    }
}

/// A running host callback's access to the store: a core function's `Caller`, or the
/// `StoreContextMut` a component function gets.
#[derive(Clone, Copy)]
enum CallerPtr {
    Caller(*mut wasmtime::Caller<'static, StoreData>),
    Context(*mut StoreContextMut<'static, StoreData>),
}

// SAFETY: the pointer is only dereferenced on the thread that pushed it (the store's busy
// token is checked first) while the callback that owns the `Caller` is still running.
unsafe impl Send for CallerPtr {}

impl Shared {
    /// Runs `f` with the store's Python objects. `f` must not run Python code.
    pub fn objects<R>(&self, py: Python<'_>, f: impl FnOnce(&mut Objects) -> R) -> R {
        // SAFETY: GIL held; `f` cannot re-enter (contract above), so the borrow is unique.
        f(unsafe { self.objects.get(py) })
    }

    /// The callable of a store-owned host function.
    pub fn host_fn(&self, py: Python<'_>, index: usize) -> Option<Py<PyAny>> {
        self.objects(py, |o| o.host_fns.get(index).and_then(|f| f.as_ref().map(|f| f.clone_ref(py))))
    }

    /// The callable of a linker function, as handed to this store.
    pub fn linked_fn(&self, py: Python<'_>, key: u64) -> Option<Py<PyAny>> {
        self.objects(py, |o| o.linked.get(&key).map(|f| f.clone_ref(py)))
    }

    /// True if another thread runs wasm in this store now (it may drop externrefs meanwhile).
    fn running_elsewhere(&self) -> bool {
        let busy = self.busy.load(Ordering::Relaxed);
        busy != 0 && busy != thread_token()
    }

    /// Whether this thread is inside a host function that a component called (a component
    /// call scope is open).
    pub fn in_component_callback(&self, py: Python<'_>) -> bool {
        // SAFETY: GIL held, no Python code runs while borrowed.
        let innermost = unsafe { self.callers.get(py) }.last().copied();
        matches!(innermost, Some(CallerPtr::Context(_))) && self.busy.load(Ordering::Relaxed) == thread_token()
    }

    /// Marks the component instance `id` as running until the guard is dropped; one already
    /// running cannot be entered again (wasmtime's trap message).
    pub fn enter_component(&self, py: Python<'_>, id: u64) -> PyResult<ComponentScope<'_>> {
        // SAFETY: GIL held, no Python code runs while borrowed.
        let running = unsafe { self.components.get(py) };
        if running.contains(&id) {
            return Err(wasmtime_error("cannot enter component instance"));
        }
        running.push(id);
        Ok(ComponentScope { shared: self, id })
    }

    pub fn depth(&self, py: Python<'_>) -> usize {
        // SAFETY: GIL held, no Python code runs while borrowed.
        unsafe { self.callers.get(py) }.len()
    }
}

/// Marks a host callback as running: pushes its `Caller` and pops it on drop.
pub struct CallerScope<'a> {
    shared: &'a Shared,
    depth: usize,
}

impl<'a> CallerScope<'a> {
    /// # Safety
    /// `caller` must stay valid (not moved, not dropped) until the scope is dropped.
    pub unsafe fn enter(py: Python<'_>, shared: &'a Shared, caller: &mut wasmtime::Caller<'_, StoreData>) -> Self {
        let ptr = (caller as *mut wasmtime::Caller<'_, StoreData>).cast::<wasmtime::Caller<'static, StoreData>>();
        Self::push(py, shared, CallerPtr::Caller(ptr))
    }

    /// As [`CallerScope::enter`], for a component host function's store context.
    ///
    /// # Safety
    /// `cx` must stay valid (not moved, not dropped) until the scope is dropped.
    pub unsafe fn enter_context(py: Python<'_>, shared: &'a Shared, cx: &mut StoreContextMut<'_, StoreData>) -> Self {
        let ptr = (cx as *mut StoreContextMut<'_, StoreData>).cast::<StoreContextMut<'static, StoreData>>();
        Self::push(py, shared, CallerPtr::Context(ptr))
    }

    fn push(py: Python<'_>, shared: &'a Shared, frame: CallerPtr) -> Self {
        // SAFETY: GIL held; the vector is not borrowed elsewhere.
        let callers = unsafe { shared.callers.get(py) };
        callers.push(frame);
        CallerScope { shared, depth: callers.len() }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }
}

impl Drop for CallerScope<'_> {
    fn drop(&mut self) {
        // The GIL is held: scopes live inside `Python::attach` in the host trampoline.
        // SAFETY: we are attached (see above), so `assume_attached` is sound.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: GIL held; no other borrow of the vector is live.
        let callers = unsafe { self.shared.callers.get(py) };
        callers.truncate(self.depth - 1);
    }
}

/// A component instance marked running (see [`Shared::enter_component`]).
pub struct ComponentScope<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for ComponentScope<'_> {
    fn drop(&mut self) {
        // Dropped by the caller that entered, with the GIL held (after `run` re-attached).
        // SAFETY: we are attached (see above), so `assume_attached` is sound.
        let py = unsafe { Python::assume_attached() };
        // SAFETY: GIL held; no other borrow of the vector is live.
        let running = unsafe { self.shared.components.get(py) };
        if let Some(i) = running.iter().rposition(|id| *id == self.id) {
            running.remove(i);
        }
    }
}

#[pyclass(frozen, weakref, module = "wasmtime", name = "Store")]
pub struct PyStore {
    pub shared: Arc<Shared>,
    store: UnsafeCell<Option<wasmtime::Store<StoreData>>>,
    /// A closed store whose memory is still exported through a `MemoryBuffer`: kept until this
    /// object dies (buffers keep it alive), so a view never reads freed memory.
    retired: UnsafeCell<Option<wasmtime::Store<StoreData>>>,
    /// Buffer-protocol views now exported from this store's memories.
    exports: std::sync::atomic::AtomicUsize,
    /// The `Engine` object passed in (the public `store.engine`).
    #[pyo3(get)]
    engine: Py<PyEngine>,
}

// SAFETY: the wasmtime store is reached only through `context`/`run`, which require the GIL and
// check the busy token, so no two threads ever touch it at once.
unsafe impl Sync for PyStore {}
// SAFETY: as above; `StoreData` itself is `Send`.
unsafe impl Send for PyStore {}

/// Where wasm runs from: the store itself (outermost) or the innermost host `Caller`.
#[derive(Clone, Copy)]
enum Ctx {
    Store(*mut wasmtime::Store<StoreData>),
    Caller(*mut wasmtime::Caller<'static, StoreData>),
    Context(*mut StoreContextMut<'static, StoreData>),
}

// SAFETY: moved into `detach` only to be used by the same thread on the other side.
unsafe impl Send for Ctx {}

impl Ctx {
    /// # Safety
    /// The pointee is live and not otherwise borrowed for `'a`.
    unsafe fn context<'a>(self) -> StoreContextMut<'a, StoreData> {
        // SAFETY: see the method contract.
        unsafe {
            match self {
                Ctx::Store(s) => (*s).as_context_mut(),
                Ctx::Caller(c) => (*c).as_context_mut(),
                Ctx::Context(c) => (*c).as_context_mut(),
            }
        }
    }
}

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl PyStore {
    pub fn new_store(engine: Py<PyEngine>, data: Option<Py<PyAny>>) -> PyResult<Self> {
        let state = engine.get().state()?;
        let shared = Arc::new(Shared {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            engine: state.clone(),
            busy: AtomicU64::new(0),
            views: Default::default(),
            callers: GilCell::new(Vec::new()),
            components: GilCell::new(Vec::new()),
            objects: GilCell::new(Objects { data, ..Default::default() }),
        });
        let data = StoreData {
            shared: shared.clone(),
            limits: wasmtime::StoreLimits::default(),
            user_deadline: 0,
            wasi: None,
            wasi_http: None,
        };
        let mut store = wasmtime::Store::new(&state.engine, data);
        store.limiter(|d| d);
        store.epoch_deadline_callback(on_epoch_deadline);
        // With user epochs on and no deadline set, wasmtime traps at the first check: look now.
        store.set_epoch_deadline(if state.user_epochs { 0 } else { 1 });
        Ok(PyStore {
            shared,
            store: UnsafeCell::new(Some(store)),
            retired: UnsafeCell::new(None),
            exports: Default::default(),
            engine,
        })
    }

    /// Counts a buffer-protocol view of one of this store's memories.
    pub fn export_buffer(&self) -> PyResult<()> {
        // SAFETY: GIL held (buffer slots run attached); only reads whether the store is open.
        if unsafe { (*self.store.get()).is_none() } {
            return Err(errors::closed());
        }
        self.exports.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Uncounts a view; the last one of a closed store frees its retired memory (no view can
    /// be made of a closed store, so nothing points there any more).
    pub fn release_buffer(&self) {
        if self.exports.fetch_sub(1, Ordering::Relaxed) == 1 {
            // SAFETY: called with the GIL held (buffer release slots run attached), which
            // serializes every access to `retired` (here, `close` and `Drop`).
            let retired = unsafe { (*self.retired.get()).take() };
            drop(retired);
        }
    }

    /// The store context for work that runs no wasm. `f` must not run Python code.
    pub fn with<R>(&self, py: Python<'_>, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R) -> PyResult<R> {
        let ctx = self.current(py)?;
        Ok(self.shared.with_ctx(ctx, f))
    }

    fn current(&self, py: Python<'_>) -> PyResult<Ctx> {
        match self.shared.busy.load(Ordering::Relaxed) {
            // SAFETY: GIL held and the store is idle: nobody else holds a reference to it.
            0 => match unsafe { (*self.store.get()).as_mut() } {
                Some(s) => Ok(Ctx::Store(s)),
                None => Err(errors::closed()),
            },
            _ => self.shared.innermost(py),
        }
    }
}

/// Marks a store idle again when dropped (if [`Shared::occupy`] marked it busy).
struct Idle<'a>(&'a AtomicU64, bool);

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.store(0, Ordering::Relaxed);
        }
    }
}

impl Shared {
    /// Runs `f` (which runs no wasm) on the store context `ctx` checked for this thread. An idle
    /// store is marked busy meanwhile: `f` runs no Python code itself, but dropping a value may
    /// (an externref payload's `__del__` when wasmtime collects garbage), and such code must
    /// find the store in use rather than close or re-enter it under wasmtime's feet.
    fn with_ctx<R>(&self, ctx: Ctx, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R) -> R {
        let _idle = self.occupy(&ctx);
        // SAFETY: `ctx` was checked to be usable by this thread now (idle, or the innermost
        // callback of this thread); the context does not outlive `f`, and any Python code that
        // runs meanwhile finds the store busy, so no other reference is made.
        f(unsafe { ctx.context() })
    }

    /// Marks an idle store (`ctx` is the store itself, not a callback's) busy for this thread
    /// until the guard is dropped.
    fn occupy(&self, ctx: &Ctx) -> Idle<'_> {
        let outermost = matches!(ctx, Ctx::Store(_));
        if outermost {
            self.busy.store(thread_token(), Ordering::Relaxed);
        }
        Idle(&self.busy, outermost)
    }

    /// The innermost running host callback's `Caller`, if this thread is the one running wasm.
    fn innermost(&self, py: Python<'_>) -> PyResult<Ctx> {
        let busy = self.busy.load(Ordering::Relaxed);
        if busy != 0 && busy != thread_token() {
            return Err(wasmtime_error("store is in use by another thread (it is running wasm)"));
        }
        // SAFETY: GIL held, no other borrow of the vector.
        match unsafe { self.callers.get(py) }.last() {
            Some(CallerPtr::Caller(c)) if busy != 0 => Ok(Ctx::Caller(*c)),
            Some(CallerPtr::Context(c)) if busy != 0 => Ok(Ctx::Context(*c)),
            _ => Err(wasmtime_error("store is in use: wasm is running in it on this thread")),
        }
    }

    /// The `wasmtime::Caller` of the callback at `depth`, if it is the innermost one.
    pub fn caller_at(&self, py: Python<'_>, depth: usize) -> Option<*mut wasmtime::Caller<'static, StoreData>> {
        // SAFETY: GIL held, no other borrow of the vector.
        let callers = unsafe { self.callers.get(py) };
        if depth == 0 || callers.len() != depth || self.busy.load(Ordering::Relaxed) != thread_token() {
            return None;
        }
        match callers[depth - 1] {
            CallerPtr::Caller(c) => Some(c),
            CallerPtr::Context(_) => None,
        }
    }
}

/// A resolved storelike: the `Store` object, or the store of a running callback
/// (`Caller`, `StoreContext`), reached through its innermost `wasmtime::Caller`.
pub enum StoreRef<'py> {
    Store(Bound<'py, PyStore>),
    Callback(Arc<Shared>),
}

impl StoreRef<'_> {
    pub fn shared(&self) -> &Arc<Shared> {
        match self {
            StoreRef::Store(s) => &s.get().shared,
            StoreRef::Callback(shared) => shared,
        }
    }

    pub fn id(&self) -> u64 {
        self.shared().id
    }

    /// Rejects a handle made by another store.
    pub fn check(&self, handle_store: u64) -> PyResult<()> {
        if handle_store == self.id() {
            Ok(())
        } else {
            Err(wasmtime_error("object used with the wrong store"))
        }
    }

    pub fn engine(&self) -> &Arc<EngineState> {
        &self.shared().engine
    }

    fn ctx(&self, py: Python<'_>) -> PyResult<Ctx> {
        match self {
            StoreRef::Store(s) => s.get().current(py),
            StoreRef::Callback(shared) => shared.innermost(py),
        }
    }

    /// The store context for work that runs no wasm. `f` must not run Python code.
    pub fn with<R>(&self, py: Python<'_>, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R) -> PyResult<R> {
        let ctx = self.ctx(py)?;
        Ok(self.shared().with_ctx(ctx, f))
    }

    /// Runs wasm (as [`StoreRef::run`]) and maps a failure to its Python exception; an uncaught
    /// wasm exception is taken out of the store while the store is still at hand.
    pub fn call<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(StoreContextMut<'_, StoreData>) -> wasmtime::Result<R> + Send,
    ) -> PyResult<R> {
        let id = self.id();
        self.run(py, move |mut cx| f(cx.as_context_mut()).map_err(|e| crate::core::exception::take(cx, e, id)))?
            .map_err(errors::from_call)
    }

    /// Runs wasm: releases the GIL, marks the store busy for the outermost entry, and makes
    /// sure the thread's stack can hold the wasm stack limit.
    pub fn run<R: Send>(&self, py: Python<'_>, f: impl FnOnce(StoreContextMut<'_, StoreData>) -> R + Send) -> PyResult<R> {
        let ctx = self.ctx(py)?;
        let shared = self.shared();
        let outermost = matches!(ctx, Ctx::Store(_));
        let _idle = shared.occupy(&ctx);
        let stack = shared.engine.max_wasm_stack;
        Ok(py.detach(move || {
            // SAFETY: the store is marked busy for this thread (or we run inside a host callback
            // of this thread), so this is the only live reference until `f` returns.
            let run = move || f(unsafe { ctx.context() });
            if outermost { with_stack(stack, run) } else { run() }
        }))
    }
}

/// Runs `f` on a stack with room for `wasm_stack` bytes of wasm plus host frames.
pub fn with_stack<R>(wasm_stack: usize, f: impl FnOnce() -> R) -> R {
    const HOST_ROOM: usize = 256 * 1024;
    const MAX_GROWN: usize = 64 << 20;
    if wasm_stack > MAX_GROWN {
        // An oversized `max_wasm_stack` is unsafe by contract (documented).
        return f();
    }
    stacker::maybe_grow(wasm_stack + HOST_ROOM, wasm_stack + 4 * HOST_ROOM, f)
}

fn on_epoch_deadline(mut cx: StoreContextMut<'_, StoreData>) -> wasmtime::Result<wasmtime::UpdateDeadline> {
    let data = cx.data_mut();
    let engine = &data.shared.engine;
    if engine.user_epochs && engine.user_epoch.load(Ordering::SeqCst) >= data.user_deadline {
        return Ok(wasmtime::UpdateDeadline::Interrupt);
    }
    if crate::core::cancel_scope::requested() {
        return Ok(wasmtime::UpdateDeadline::Interrupt);
    }
    run_signal_handlers()?;
    Ok(wasmtime::UpdateDeadline::Continue(1))
}

/// On the main thread, runs Python's signal handlers from an epoch deadline callback, so that
/// Ctrl-C raises `KeyboardInterrupt` out of running wasm (as a [`HostError`]).
pub fn run_signal_handlers() -> wasmtime::Result<()> {
    if crate::is_main_thread()
        && let Err(e) = Python::attach(|py| py.check_signals())
    {
        return Err(HostError(e).into());
    }
    Ok(())
}

/// The store a storelike names: a `Store`, or a `Caller`/`StoreContext` still valid.
pub fn resolve<'py>(obj: &Bound<'py, PyAny>) -> PyResult<StoreRef<'py>> {
    if let Ok(store) = obj.cast::<PyStore>() {
        return Ok(StoreRef::Store(store.clone()));
    }
    if let Ok(caller) = obj.cast::<PyCaller>() {
        return caller.get().shared().map(StoreRef::Callback);
    }
    if let Ok(cx) = obj.cast::<crate::core::caller::PyStoreContext>() {
        return cx.get().shared().map(StoreRef::Callback);
    }
    Err(PyAttributeError::new_err(format!(
        "expected a Store, Caller or StoreContext, got {}",
        obj.get_type().name()?
    )))
}

#[pymethods]
impl PyStore {
    #[new]
    #[pyo3(signature = (engine=None, data=None))]
    fn new(py: Python<'_>, engine: Option<&Bound<'_, PyAny>>, data: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let engine = match engine {
            Some(e) => e.cast::<PyEngine>().map_err(|_| errors::type_error("expected an Engine"))?.clone().unbind(),
            None => Py::new(py, PyEngine::from_state(py.detach(|| EngineState::new(Default::default()))?))?,
        };
        // wasmtime-py keeps `data` only when it is truthy.
        let data = match data {
            Some(d) if d.is_truthy()? => Some(d.clone().unbind()),
            _ => None,
        };
        PyStore::new_store(engine, data)
    }

    /// The `data` object given to the constructor (the same object), or `None`.
    fn data(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.with(py, |_| ())?;
        Ok(self.shared.objects(py, |o| o.data.as_ref().map(|d| d.clone_ref(py))))
    }

    /// Collects unreachable `externref`s.
    fn gc(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |mut cx| cx.gc(None))?.map_err(errors::from_wasmtime)
    }

    fn set_fuel(&self, py: Python<'_>, fuel: u64) -> PyResult<()> {
        self.with(py, |mut cx| cx.set_fuel(fuel))?.map_err(errors::from_wasmtime)
    }

    fn get_fuel(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |cx| cx.get_fuel())?.map_err(errors::from_wasmtime)
    }

    /// Traps wasm once `Engine.increment_epoch()` has been called `ticks_after_current` more
    /// times (with `Config.epoch_interruption` on).
    fn set_epoch_deadline(&self, py: Python<'_>, ticks_after_current: u64) -> PyResult<()> {
        self.with(py, |mut cx| {
            let data = cx.data_mut();
            data.user_deadline = data.shared.engine.user_epoch.load(Ordering::SeqCst).saturating_add(ticks_after_current);
            // Have the deadline callback look at the new deadline at the next check.
            cx.set_epoch_deadline(0);
        })
    }

    /// Limits what this store may allocate; a negative value (the default) means unlimited.
    /// Each call replaces all limits, as in wasmtime-py.
    #[pyo3(
        signature = (memory_size=-1, table_elements=-1, instances=-1, tables=-1, memories=-1),
        text_signature = "(self, memory_size=-1, table_elements=-1, instances=-1, tables=-1, memories=-1)"
    )]
    fn set_limits(
        &self,
        py: Python<'_>,
        memory_size: i64,
        table_elements: i64,
        instances: i64,
        tables: i64,
        memories: i64,
    ) -> PyResult<()> {
        let mut b = wasmtime::StoreLimitsBuilder::new();
        if memory_size >= 0 {
            b = b.memory_size(memory_size as usize);
        }
        if table_elements >= 0 {
            b = b.table_elements(table_elements as usize);
        }
        if instances >= 0 {
            b = b.instances(instances as usize);
        }
        if tables >= 0 {
            b = b.tables(tables as usize);
        }
        if memories >= 0 {
            b = b.memories(memories as usize);
        }
        let limits = b.build();
        if self.shared.busy.load(Ordering::Relaxed) != 0 {
            return Err(wasmtime_error("cannot change limits while wasm runs in this store"));
        }
        self.current(py)?;
        // SAFETY: GIL held and the store is idle (checked above), so no reference to it exists.
        let store = unsafe { (*self.store.get()).as_mut() }.ok_or_else(errors::closed)?;
        store.data_mut().limits = limits;
        // wasmtime reads the instance/table/memory counts when the limiter is installed.
        store.limiter(|d| d);
        Ok(())
    }

    /// Gives the store's WASI programs `config` (consumed: it cannot be used again).
    fn set_wasi(&self, py: Python<'_>, wasi: &Bound<'_, PyAny>) -> PyResult<()> {
        let config = wasi
            .cast::<crate::wasi::wasi_config::PyWasiConfig>()
            .map_err(|_| errors::type_error("expected a WasiConfig"))?;
        self.with(py, |_| ())?;
        let (ctx, callbacks) = config.get().build()?;
        self.shared.objects(py, |o| callbacks.iter().for_each(|c| o.add_extern(c)));
        self.with(py, |mut cx| cx.data_mut().wasi = Some(ctx))
    }

    /// Enables wasi-http for components in this store; needs `set_wasi` first.
    fn set_wasi_http(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |mut cx| {
            let data = cx.data_mut();
            if data.wasi.is_none() {
                return Err(wasmtime_error("wasi-http needs WASI: call Store.set_wasi first"));
            }
            data.wasi_http = Some(wasmtime_wasi_http::WasiHttpCtx::new());
            Ok(())
        })?
    }

    /// Drops the store and everything in it; handles into it raise `ValueError` afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if self.shared.busy.load(Ordering::Relaxed) != 0 {
            return Err(wasmtime_error("cannot close a store while wasm is running in it"));
        }
        // SAFETY: GIL held and the store is idle, so no reference to it exists.
        let old = unsafe { (*self.store.get()).take() };
        if self.exports.load(Ordering::Relaxed) > 0 {
            // SAFETY: as above; `retired` is only touched here and in `Drop`.
            unsafe { *self.retired.get() = old };
        } else {
            drop(old);
        }
        let data = self.shared.objects(py, std::mem::take);
        drop(data);
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.close(py)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.engine)?;
        // SAFETY: tp_traverse runs with the GIL held and nothing else borrows `objects` while a
        // GC can run (borrows never span allocations).
        let objects = unsafe { &*self.shared.objects.0.get() };
        if let Some(d) = &objects.data {
            visit.call(d)?;
        }
        for f in objects.host_fns.iter().flatten().chain(objects.linked.values()) {
            visit.call(f)?;
        }
        // While another thread runs wasm here its GC may drop payloads: report none then
        // (reporting fewer references only makes the collector keep more alive).
        if !self.shared.running_elsewhere() {
            for cell in &objects.externs {
                if cell.strong_count() == 0 {
                    continue;
                }
                // SAFETY: the cell is alive (checked above) and cannot die meanwhile: only this
                // store's wasm (not running, checked above) or the store's own drop release it.
                if let Some(obj) = unsafe { (*cell.as_ptr()).peek() } {
                    visit.call(obj)?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        // SAFETY: tp_clear runs with the GIL held.
        let py = unsafe { Python::assume_attached() };
        let (data, fns, linked, externs) = self.shared.objects(py, |o| {
            (o.data.take(), std::mem::take(&mut o.host_fns), std::mem::take(&mut o.linked), std::mem::take(&mut o.externs))
        });
        let payloads: Vec<_> = externs.iter().filter_map(Weak::upgrade).filter_map(|c| c.clear(py)).collect();
        drop((data, fns, linked, payloads));
    }
}

impl Drop for PyStore {
    fn drop(&mut self) {
        // Drop the wasmtime store (and the Python objects it holds) before the shared state.
        let _ = self.store.get_mut().take();
        let _ = self.retired.get_mut().take();
    }
}
