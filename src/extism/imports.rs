//! What a plugin may import from the host: the kernel and the PDK host functions under
//! `extism:host/env`, the same under their 0.x names (`env::extism_*`), and the check that a
//! module imports nothing else from the kernel's namespace.
//!
//! Host functions fail the way upstream's do: an invalid handle, a full variable store or a
//! refused HTTP request become a trap in the guest. Following the 1.x ownership rule, the host
//! frees the handles it is given (keys, values, messages, requests); the 0.x aliases do not,
//! as 0.x hosts did not.

use std::collections::BTreeMap;

use wasmtime::{AsContextMut, Caller, ExternType, Linker, Module, StoreContextMut};

use crate::extism::http;
use crate::extism::kernel::{Kernel, KernelMemory};
use crate::extism::log;
use crate::extism::state::PluginData;

/// The namespace of the kernel and the PDK host functions.
pub const ENV: &str = "extism:host/env";
/// The namespace of the 0.x ABI, whose names carry an `extism_` prefix.
pub const LEGACY_ENV: &str = "env";
/// The default namespace of user host functions.
pub const USER: &str = "extism:host/user";

/// Every function a 1.x plugin may import from [`ENV`].
pub const NAMES: [&str; 32] = [
    "alloc",
    "free",
    "length",
    "length_unsafe",
    "load_u8",
    "load_u64",
    "store_u8",
    "store_u64",
    "input_offset",
    "input_length",
    "input_load_u8",
    "input_load_u64",
    "input_set",
    "output_set",
    "output_offset",
    "output_length",
    "error_set",
    "error_get",
    "reset",
    "memory_bytes",
    "config_get",
    "var_get",
    "var_set",
    "http_request",
    "http_status_code",
    "http_headers",
    "log_trace",
    "log_debug",
    "log_info",
    "log_warn",
    "log_error",
    "get_log_level",
];

/// Where a store's kernel memory is, looked up when it is made and after it grows (the kernel
/// is called dozens of times per plugin call; looking the memory up each time costs more than
/// most kernel functions).
#[derive(Clone, Copy)]
pub struct KernelView {
    memory: wasmtime::Memory,
    base: *mut u8,
    len: usize,
}

// SAFETY: the pointer is only dereferenced through `StoreMemory`, which holds the store's
// exclusive context, on whatever thread the store is on.
unsafe impl Send for KernelView {}

impl KernelView {
    /// Makes the kernel memory in `cx` and initialises the kernel in it.
    pub fn create(mut cx: impl AsContextMut<Data = PluginData>) -> wasmtime::Result<Self> {
        let mut cx = cx.as_context_mut();
        let ty = wasmtime::MemoryType::new(crate::extism::kernel::INITIAL_PAGES as u32, None);
        let memory = wasmtime::Memory::new(&mut cx, ty)?;
        let data = memory.data_mut(&mut cx);
        let view = KernelView { memory, base: data.as_mut_ptr(), len: data.len() };
        let mut mem = StoreMemory { cx, view };
        Kernel::new(&mut mem);
        Ok(view)
    }
}

/// The kernel memory of a store, as the kernel sees it.
pub struct StoreMemory<'a> {
    cx: StoreContextMut<'a, PluginData>,
    view: KernelView,
}

impl KernelMemory for StoreMemory<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: the view describes the memory as of its last growth: only `grow` below can
        // move or resize it (it is not shared, and guests cannot reach it), and it looks again.
        // `cx` is the store's only live context, borrowed mutably for our whole life.
        unsafe { std::slice::from_raw_parts(self.view.base, self.view.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; `&mut self` makes this the only reference into the memory.
        unsafe { std::slice::from_raw_parts_mut(self.view.base, self.view.len) }
    }

    fn grow(&mut self, pages: u64) -> bool {
        let grown = self.view.memory.grow(&mut self.cx, pages).is_ok();
        let data = self.view.memory.data_mut(&mut self.cx);
        (self.view.base, self.view.len) = (data.as_mut_ptr(), data.len());
        self.cx.data_mut().kernel = Some(self.view);
        grown
    }
}

/// Runs `f` on the kernel of the store `cx` belongs to.
pub fn with_kernel<R>(mut cx: impl AsContextMut<Data = PluginData>, f: impl FnOnce(&mut Kernel<'_, StoreMemory<'_>>) -> R) -> R {
    let cx = cx.as_context_mut();
    let view = cx.data().kernel.expect("the kernel memory is made with the store");
    let mut mem = StoreMemory { cx, view };
    f(&mut Kernel::attach(&mut mem))
}

type Result<T> = wasmtime::Result<T>;

fn trap(e: crate::extism::kernel::OutOfBounds) -> wasmtime::Error {
    wasmtime::Error::msg(e.to_string())
}

/// Defines the kernel and the PDK host functions in `linker`, under their 1.x and 0.x names.
pub fn define(linker: &mut Linker<PluginData>) -> Result<()> {
    define_kernel(linker, ENV, "")?;
    define_kernel(linker, LEGACY_ENV, "extism_")?;
    define_host(linker, ENV, "", false)?;
    define_host(linker, LEGACY_ENV, "extism_", true)
}

fn define_kernel(l: &mut Linker<PluginData>, ns: &str, p: &str) -> Result<()> {
    type C<'a> = Caller<'a, PluginData>;
    let n = |name: &str| format!("{p}{name}");
    l.func_wrap(ns, &n("alloc"), |mut c: C<'_>, size: u64| -> Result<u64> {
        let h = with_kernel(&mut c, |k| k.alloc(size));
        // Upstream's kernel is wasm: a growth the memory budget refuses traps there.
        if h == 0 && c.data().limiter.oom {
            return Err(wasmtime::format_err!("oom"));
        }
        Ok(h)
    })?;
    l.func_wrap(ns, &n("free"), |c: C<'_>, h: u64| with_kernel(c, |k| k.free(h)))?;
    l.func_wrap(ns, &n("length"), |c: C<'_>, h: u64| with_kernel(c, |k| k.length(h)))?;
    l.func_wrap(ns, &n("length_unsafe"), |c: C<'_>, h: u64| with_kernel(c, |k| k.length_unsafe(h)))?;
    l.func_wrap(ns, &n("load_u8"), |c: C<'_>, p: u64| with_kernel(c, |k| k.load_u8(p).map(u32::from).map_err(trap)))?;
    l.func_wrap(ns, &n("load_u64"), |c: C<'_>, p: u64| with_kernel(c, |k| k.load_u64(p).map_err(trap)))?;
    l.func_wrap(ns, &n("store_u8"), |c: C<'_>, p: u64, v: u32| with_kernel(c, |k| k.store_u8(p, v as u8).map_err(trap)))?;
    l.func_wrap(ns, &n("store_u64"), |c: C<'_>, p: u64, v: u64| with_kernel(c, |k| k.store_u64(p, v).map_err(trap)))?;
    l.func_wrap(ns, &n("input_offset"), |c: C<'_>| with_kernel(c, |k| k.input_offset()))?;
    l.func_wrap(ns, &n("input_length"), |c: C<'_>| with_kernel(c, |k| k.input_length()))?;
    l.func_wrap(ns, &n("input_load_u8"), |c: C<'_>, i: u64| with_kernel(c, |k| u32::from(k.input_load_u8(i))))?;
    l.func_wrap(ns, &n("input_load_u64"), |c: C<'_>, i: u64| with_kernel(c, |k| k.input_load_u64(i)))?;
    l.func_wrap(ns, &n("input_set"), |c: C<'_>, h: u64, len: u64| with_kernel(c, |k| k.input_set(h, len)))?;
    l.func_wrap(ns, &n("output_set"), |c: C<'_>, h: u64, len: u64| with_kernel(c, |k| k.output_set(h, len)))?;
    l.func_wrap(ns, &n("output_offset"), |c: C<'_>| with_kernel(c, |k| k.output_offset()))?;
    l.func_wrap(ns, &n("output_length"), |c: C<'_>| with_kernel(c, |k| k.output_length()))?;
    l.func_wrap(ns, &n("error_set"), |c: C<'_>, h: u64| with_kernel(c, |k| k.error_set(h)))?;
    l.func_wrap(ns, &n("error_get"), |c: C<'_>| with_kernel(c, |k| k.error_get()))?;
    l.func_wrap(ns, &n("reset"), |c: C<'_>| with_kernel(c, |k| k.reset()))?;
    l.func_wrap(ns, &n("memory_bytes"), |c: C<'_>| with_kernel(c, |k| k.memory_bytes()))?;
    Ok(())
}

/// The bytes of the block at `handle`, or the host error upstream gives for an invalid handle.
fn block(k: &Kernel<'_, StoreMemory<'_>>, handle: u64, what: &str) -> Result<Vec<u8>> {
    k.block(handle).map(<[u8]>::to_vec).ok_or_else(|| wasmtime::format_err!("invalid handle offset for {what}: {handle}"))
}

fn text(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| wasmtime::format_err!("invalid UTF-8 in {what}"))
}

/// Takes the block at `handle` (freeing it under the 1.x rule).
fn take(c: &mut Caller<'_, PluginData>, handle: u64, what: &str, legacy: bool) -> Result<Vec<u8>> {
    with_kernel(c, |k| {
        let bytes = block(k, handle, what)?;
        if !legacy {
            k.free(handle);
        }
        Ok(bytes)
    })
}

/// The value of the UTF-8 key at `handle` in `table`, as a new block (0 when missing or empty,
/// as upstream); the key's handle is freed under the 1.x rule. No copies on the way.
fn lookup<V: AsRef<[u8]>>(
    c: &mut Caller<'_, PluginData>,
    handle: u64,
    what: &str,
    legacy: bool,
    table: &BTreeMap<String, V>,
) -> Result<u64> {
    let made = with_kernel(&mut *c, |k| -> Result<Option<u64>> {
        let key = k.block(handle).ok_or_else(|| wasmtime::format_err!("invalid handle offset for {what}: {handle}"))?;
        let key = std::str::from_utf8(key).map_err(|_| wasmtime::format_err!("invalid UTF-8 in {what}"))?;
        let value = table.get(key).map(AsRef::as_ref);
        if !legacy {
            k.free(handle);
        }
        Ok(match value {
            None | Some([]) => Some(0),
            Some(v) => k.new_block(v),
        })
    })?;
    made.ok_or_else(|| wasmtime::format_err!("{} out of memory", c.data().id))
}

/// Bytes the variable store counts for an entry (upstream counts two 24-byte headers).
fn var_cost(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len() + 48) as u64
}

fn define_host(l: &mut Linker<PluginData>, ns: &str, p: &str, legacy: bool) -> Result<()> {
    type C<'a> = Caller<'a, PluginData>;
    let n = |name: &str| format!("{p}{name}");
    l.func_wrap(ns, &n("config_get"), move |mut c: C<'_>, key: u64| -> Result<u64> {
        let config = c.data().config.clone();
        lookup(&mut c, key, "config key", legacy, &config)
    })?;
    l.func_wrap(ns, &n("var_get"), move |mut c: C<'_>, key: u64| -> Result<u64> {
        // The map is moved out while the kernel borrows the store, then put back.
        let vars = std::mem::take(&mut c.data_mut().vars);
        let found = lookup(&mut c, key, "var key", legacy, &vars);
        c.data_mut().vars = vars;
        found
    })?;
    l.func_wrap(ns, &n("var_set"), move |mut c: C<'_>, key: u64, value: u64| -> Result<()> {
        let limit = c.data().compiled.settings.max_var_bytes;
        if limit == 0 {
            return Err(wasmtime::format_err!("Vars are disabled by this host"));
        }
        let key_handle = key;
        let key = text(with_kernel(&mut c, |k| block(k, key_handle, "var key"))?, "var key")?;
        if value == 0 {
            let data = c.data_mut();
            if let Some(old) = data.vars.remove(&key) {
                data.vars_size -= var_cost(&key, &old);
            }
            if !legacy {
                with_kernel(&mut c, |k| k.free(key_handle));
            }
            return Ok(());
        }
        let bytes = with_kernel(&mut c, |k| block(k, value, "var value"))?;
        // Upstream counts every stored entry, the one being replaced included.
        if c.data().vars_size + var_cost(&key, &bytes) > limit {
            return Err(wasmtime::format_err!("Variable store is full"));
        }
        if !legacy {
            with_kernel(&mut c, |k| {
                k.free(key_handle);
                k.free(value);
            });
        }
        let data = c.data_mut();
        data.vars_size += var_cost(&key, &bytes);
        if let Some(old) = data.vars.insert(key.clone(), bytes) {
            data.vars_size -= var_cost(&key, &old);
        }
        Ok(())
    })?;
    l.func_wrap(ns, &n("http_request"), move |mut c: C<'_>, req: u64, body: u64| -> Result<u64> {
        c.data_mut().http_status = 0;
        c.data_mut().http_headers.clear();
        let request = take(&mut c, req, "http request", legacy)?;
        let request: http::Request =
            serde_json::from_slice(&request).map_err(|e| wasmtime::format_err!("invalid http request: {e}"))?;
        let body = if body == 0 { None } else { Some(take(&mut c, body, "http body", legacy)?) };
        let data = c.data();
        let response = match http::send(data.compiled.settings.clone(), request, body, data.deadline, &data.interrupt) {
            Ok(response) => response,
            Err(http::Failure::Message(message)) => return Err(wasmtime::Error::msg(message)),
            Err(http::Failure::Interrupted) => return Err(wasmtime::Trap::Interrupt.into()),
            Err(http::Failure::Signal(e)) => return Err(e),
        };
        let data = c.data_mut();
        data.http_status = i32::from(response.status);
        if data.compiled.settings.http_response_headers {
            data.http_headers = response.headers;
        }
        if response.body.is_empty() {
            return Ok(0);
        }
        let made = with_kernel(&mut c, |k| k.new_block(&response.body));
        made.ok_or_else(|| wasmtime::format_err!("{} out of memory", c.data().id))
    })?;
    l.func_wrap(ns, &n("http_status_code"), |c: C<'_>| c.data().http_status)?;
    if !legacy {
        l.func_wrap(ns, "http_headers", |mut c: C<'_>| -> Result<u64> {
            if !c.data().compiled.settings.http_response_headers {
                return Ok(0);
            }
            let json = serde_json::to_vec(&c.data().http_headers)?;
            let made = with_kernel(&mut c, |k| k.new_block(&json));
            made.ok_or_else(|| wasmtime::format_err!("{} out of memory", c.data().id))
        })?;
        l.func_wrap(ns, "get_log_level", |_: C<'_>| log::level())?;
    }
    for (level, name) in ["trace", "debug", "info", "warn", "error"].into_iter().enumerate() {
        if legacy && name == "trace" {
            continue;
        }
        let level = level as i32;
        l.func_wrap(ns, &n(&format!("log_{name}")), move |mut c: C<'_>, msg: u64| -> Result<()> {
            if !log::enabled(level) {
                if !legacy {
                    with_kernel(&mut c, |k| k.free(msg));
                }
                return Ok(());
            }
            let message = take(&mut c, msg, "log message", legacy)?;
            match std::str::from_utf8(&message) {
                Ok(text) => log::emit(level, text, &c.data().id),
                Err(_) => log::emit(4, "unable to log message: invalid UTF-8", &c.data().id),
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Checks what `module` imports from the kernel's namespace (upstream's link-time check).
pub fn check_imports(module: &Module) -> std::result::Result<(), String> {
    for import in module.imports() {
        if import.module() != ENV {
            continue;
        }
        match import.ty() {
            ExternType::Func(ty) => {
                if !NAMES.contains(&import.name()) {
                    return Err(format!(
                        "Invalid function import from {ENV}: {} (type {ty})\n\nNote: this plugin may need a newer \
                         Extism host, or was built with an incompatible PDK",
                        import.name()
                    ));
                }
            }
            _ => return Err("linked modules cannot access non-function exports of extism kernel".into()),
        }
    }
    Ok(())
}
