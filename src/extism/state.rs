//! What a plugin's store holds ([`PluginData`]), and how a store is made and interrupted.
//!
//! A plugin is one `wasmtime::Store<PluginData>`: the kernel memory (a plain host-created
//! memory the kernel functions work on), the WASI context, the variables, the merged config and
//! the limits. The settings that every plugin of a `CompiledPlugin` shares sit behind an `Arc`.
//!
//! Interruption is per store, never per engine: every store's epoch deadline callback runs at
//! each tick of the shared ticker (see `core/engine.rs`) and looks at *its own* deadline and
//! cancel flag, so a timeout or a cancel stops one plugin and none of its siblings (upstream
//! interrupts every plugin of the engine). On the main thread it also runs Python's signal
//! handlers, so Ctrl-C stops a plugin call with `KeyboardInterrupt`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use pyo3::prelude::*;
use wasmtime::{ResourceLimiter, StoreContextMut, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::extism::compiled::Compiled;
use crate::extism::imports::KernelView;

/// Default `memory.max_var_bytes`.
pub const DEFAULT_MAX_VAR_BYTES: u64 = 1 << 20;
/// Default `memory.max_http_response_bytes`.
pub const DEFAULT_MAX_HTTP_RESPONSE_BYTES: u64 = 50 << 20;

/// The manifest settings every plugin of one `CompiledPlugin` shares.
pub struct Settings {
    pub config: BTreeMap<String, String>,
    pub max_pages: Option<u32>,
    pub max_var_bytes: u64,
    pub max_http_response_bytes: u64,
    pub allowed_hosts: Vec<glob::Pattern>,
    pub allowed_paths: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub wasi: bool,
    pub fuel_limit: Option<u64>,
    /// `http_headers` gives the last response's headers (off by default, as upstream).
    pub http_response_headers: bool,
}

impl Settings {
    /// Whether `allowed_hosts` lets a request reach `host` (none listed: nothing is allowed).
    pub fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|p| p.matches(host))
    }
}

/// Compiles an `allowed_hosts` entry; an invalid glob matches itself literally, as upstream.
pub fn host_pattern(entry: &str) -> glob::Pattern {
    glob::Pattern::new(entry).unwrap_or_else(|_| glob::Pattern::new(&glob::Pattern::escape(entry)).expect("escaped pattern"))
}

/// Cancellation shared between a plugin and its cancel handles.
#[derive(Default)]
pub struct Interrupt {
    /// A call is running (cancelling an idle plugin does nothing).
    pub running: AtomicBool,
    /// Stop the running call at the next epoch check.
    pub cancel: AtomicBool,
}

impl Interrupt {
    pub fn cancel(&self) {
        if self.running.load(Ordering::SeqCst) {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }
}

/// The `memory.max_pages` budget: every memory growth in the store counts once armed.
#[derive(Default)]
pub struct Limiter {
    /// Bytes allowed in all, if limited.
    pub budget: Option<usize>,
    /// Bytes left of the budget.
    pub left: usize,
    pub armed: bool,
    /// The budget refused a growth (the call then fails with "oom").
    pub oom: bool,
}

impl Limiter {
    /// Arms the limiter with its whole budget.
    pub fn refill(&mut self) {
        self.armed = true;
        self.left = self.budget.unwrap_or(usize::MAX);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        if !self.armed || self.budget.is_none() {
            return Ok(true);
        }
        let delta = desired.saturating_sub(current);
        if delta > self.left {
            self.oom = true;
            return Err(wasmtime::format_err!("oom"));
        }
        self.left -= delta;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|m| desired <= m))
    }
}

/// What a plugin's `wasmtime::Store` holds.
pub struct PluginData {
    /// What the plugin was made from (its settings, its host functions).
    pub compiled: Arc<Compiled>,
    /// The kernel's memory: made right after the store, before any module.
    pub kernel: Option<KernelView>,
    /// Manifest config merged with `Plugin(config=...)`.
    pub config: Arc<BTreeMap<String, String>>,
    pub vars: BTreeMap<String, Vec<u8>>,
    /// What `vars` counts against `max_var_bytes` (48 bytes per entry plus key and value).
    pub vars_size: u64,
    pub wasi: Option<WasiP1Ctx>,
    pub limiter: Limiter,
    /// The plugin's id (uuid v4), in messages.
    pub id: Arc<str>,
    pub interrupt: Arc<Interrupt>,
    /// When the running call (or the plugin's creation) times out.
    pub deadline: Option<Instant>,
    /// The `host_context` of the running call.
    pub host_context: Option<Py<PyAny>>,
    /// Status of the last `http_request`.
    pub http_status: i32,
    /// Headers of the last `http_request`'s response, if `http_response_headers` is on.
    pub http_headers: BTreeMap<String, String>,
}

impl PluginData {
    /// The WASI context; an empty one if the plugin has none (only linked with `wasi=True`).
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        self.wasi.get_or_insert_with(|| WasiCtxBuilder::new().build_p1())
    }
}

/// The WASI context of a plugin: no args or env, output discarded unless
/// `EXTISM_ENABLE_WASI_OUTPUT` is set, `allowed_paths` preopened (`ro:` = read-only).
pub fn wasi_context(settings: &Settings) -> Result<WasiP1Ctx, String> {
    let mut b = WasiCtxBuilder::new();
    if std::env::var_os("EXTISM_ENABLE_WASI_OUTPUT").is_some() {
        b.inherit_stdout().inherit_stderr();
    }
    for (host, guest) in &settings.allowed_paths {
        let (dir, perms) = match host.strip_prefix("ro:") {
            Some(dir) => (dir, FsPerms::ReadOnly),
            None => (host.as_str(), FsPerms::ReadWrite),
        };
        b.preopened_dir(dir, guest, perms).map_err(|e| e.root_cause().to_string())?;
    }
    Ok(b.build_p1())
}

/// A new store for a plugin, with its kernel memory, limiter and deadline callback.
pub fn new_store(
    compiled: &Arc<Compiled>,
    config: Arc<BTreeMap<String, String>>,
    id: Arc<str>,
    interrupt: Arc<Interrupt>,
) -> Result<wasmtime::Store<PluginData>, String> {
    let settings = compiled.settings.clone();
    let engine = &compiled.engine.engine;
    let mut store = wasmtime::Store::new(
        engine,
        PluginData {
            compiled: compiled.clone(),
            kernel: None,
            config,
            vars: BTreeMap::new(),
            vars_size: 0,
            wasi: None,
            limiter: Limiter { budget: settings.max_pages.map(|p| p as usize * 65536), ..Default::default() },
            id,
            interrupt,
            deadline: None,
            host_context: None,
            http_status: 0,
            http_headers: BTreeMap::new(),
        },
    );
    store.limiter(|d| &mut d.limiter);
    store.epoch_deadline_callback(on_deadline);
    store.set_epoch_deadline(1);
    if let Some(fuel) = settings.fuel_limit {
        store.set_fuel(fuel).map_err(|e| e.to_string())?;
    }
    store.data_mut().kernel = Some(KernelView::create(&mut store).map_err(|e| e.to_string())?);
    if settings.wasi {
        store.data_mut().wasi = Some(wasi_context(&settings)?);
    }
    Ok(store)
}

fn on_deadline(cx: StoreContextMut<'_, PluginData>) -> wasmtime::Result<UpdateDeadline> {
    let data = cx.data();
    if data.interrupt.cancel.swap(false, Ordering::SeqCst) || crate::core::cancel_scope::requested() {
        return Ok(UpdateDeadline::Interrupt);
    }
    if data.deadline.is_some_and(|d| Instant::now() >= d) {
        return Ok(UpdateDeadline::Interrupt);
    }
    crate::core::store::run_signal_handlers()?;
    Ok(UpdateDeadline::Continue(1))
}
