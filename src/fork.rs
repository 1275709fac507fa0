//! Surviving `os.fork()`: process pools on Linux fork by default before Python 3.14.
//!
//! After a fork only the forking thread exists in the child, and every lock another thread held
//! at that moment stays held forever. wasmbridge always has one other thread, the epoch ticker
//! (`core/engine.rs`), and it takes the engine registry's lock every tick. So, through
//! `os.register_at_fork` (set up when the module loads):
//! * before the fork, the forking thread takes our process-wide locks (the ticker's engine list,
//!   the registry of unpickled engines, the Extism module cache), so no other thread holds one
//!   when the process is copied; both sides release them afterwards;
//! * in the child, the ticker is started again (the parent's did not come along: without it,
//!   Ctrl-C, timeouts and cancellation would never fire), and the forking thread becomes the
//!   thread that runs signal handlers, as it does for Python.
//!
//! Locks inside Wasmtime are outside our reach; the code that could hold one on another thread
//! while Python forks is code that runs without the GIL. Serializing compiled code for a pickle
//! keeps the GIL for that reason (a pool's feeder thread pickles while the main thread forks).

use std::any::Any;
use std::cell::RefCell;

use pyo3::prelude::*;

thread_local! {
    /// The guards taken before a fork, released after it (on both sides).
    static HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

#[pyfunction]
pub fn _before_fork() {
    let mut guards = crate::core::engine::fork_guards();
    guards.extend(crate::extism::compiled::fork_guards());
    HELD.with(|held| held.borrow_mut().extend(guards));
}

fn release() {
    let guards = HELD.with(|held| std::mem::take(&mut *held.borrow_mut()));
    // Released in the reverse order of taking.
    for guard in guards.into_iter().rev() {
        drop(guard);
    }
}

#[pyfunction]
pub fn _after_fork_in_parent() {
    release();
}

#[pyfunction]
pub fn _after_fork_in_child() {
    release();
    crate::set_main_thread();
    crate::core::engine::restart_ticker();
}

/// Registers the hooks with `os.register_at_fork` (absent on platforms without fork).
pub fn register(m: &Bound<'_, pyo3::types::PyModule>) -> PyResult<()> {
    let py = m.py();
    let os = py.import("os")?;
    if !os.hasattr("register_at_fork")? {
        return Ok(());
    }
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("before", m.getattr("_before_fork")?)?;
    kwargs.set_item("after_in_parent", m.getattr("_after_fork_in_parent")?)?;
    kwargs.set_item("after_in_child", m.getattr("_after_fork_in_child")?)?;
    os.call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}
