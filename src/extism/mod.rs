//! The Extism host runtime, ours (the `extism` crate needs wasmtime 49), behind `import extism`.
//!
//! * `kernel`: the memory host and guest exchange data through, and its allocator (plain Rust).
//! * `imports`: what plugins import: the kernel and PDK host functions, 1.x and 0.x names.
//! * `http`: plugins' HTTP requests (each redirect hop checked against `allowed_hosts`).
//! * `manifest`: parsing what `Plugin(...)` is given.
//! * `log`: where plugins' log messages go.
//! * `state`: what a plugin's store holds; limits, timeouts and cancellation.
//! * one file per Python class: `compiled` (`CompiledPlugin`), `plugin` (`Plugin`), `caller`
//!   (`CurrentPlugin`), `cancel_handle` (`CancelHandle`). The public Python API is written in
//!   Python on top of them (`python/extism/extism.py`).

pub mod caller;
pub mod cancel_handle;
pub mod compiled;
pub mod http;
pub mod imports;
pub mod kernel;
pub mod log;
pub mod manifest;
pub mod plugin;
pub mod state;
