//! Where plugins' log messages and the runtime's events go: a process-wide `tracing` subscriber
//! that `extism.set_log_file` or `extism.set_log_custom` installs, once per process, as the
//! reference SDK does.
//!
//! Plugins' `log_*` calls are events of target `extism::pdk`, the runtime's are under
//! `extism::plugin`; both carry the plugin's id. The `fmt` subscriber writes lines such as
//! `2026-11-21T14:38:18.021804Z  INFO extism::pdk: message plugin="<uuid>"`, and the `log`
//! records of wasmtime and cranelift come through too (`cranelift=debug`). A custom logger's
//! lines are buffered here and handed to Python by `extism_log_drain`: no Python code runs while
//! wasm logs.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::prelude::*;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// `get_log_level`'s answer while logging is off.
pub const OFF: i32 = i32::MAX;

/// The most verbose level any directive enables (0 trace .. 4 error), or [`OFF`].
static LEVEL: AtomicI32 = AtomicI32::new(OFF);
/// A custom logger's lines, waiting for `drain`.
static BUFFER: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The level of `get_log_level`.
pub fn level() -> i32 {
    LEVEL.load(Ordering::Relaxed)
}

fn level_number(filter: Option<LevelFilter>) -> i32 {
    match filter {
        Some(LevelFilter::OFF) => OFF,
        Some(LevelFilter::ERROR) => 4,
        Some(LevelFilter::WARN) => 3,
        Some(LevelFilter::INFO) => 2,
        Some(LevelFilter::DEBUG) => 1,
        _ => 0,
    }
}

/// The filter of a `level` argument: a bare level applies to the `extism` targets, anything
/// else is a list of `tracing` directives; other targets log errors only.
fn filter(level: Option<&str>) -> Option<EnvFilter> {
    let spec = level.map_or("error", str::trim);
    let bare = ["trace", "debug", "info", "warn", "error", "off"].iter().any(|l| l.eq_ignore_ascii_case(spec));
    let spec = if bare { format!("extism={spec}") } else { spec.to_owned() };
    EnvFilter::builder().with_default_directive(LevelFilter::ERROR.into()).parse(spec).ok()
}

/// The writer of a custom logger: one formatted event per writer, pushed to [`BUFFER`].
struct Lines;

struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.0.is_empty()
            && let Ok(mut lines) = BUFFER.lock()
        {
            lines.push(String::from_utf8_lossy(&self.0).into_owned());
        }
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

/// Installs the process's subscriber: `target` is a path (appended to), `stdout`, `stderr`/`-`,
/// or None for an in-memory buffer (a custom logger). False if logging was already set up, the
/// filter is invalid or the file cannot be opened.
#[pyfunction]
#[pyo3(signature = (target, filter=None))]
pub fn extism_log_setup(target: Option<&str>, filter: Option<&str>) -> bool {
    let Some(filter) = self::filter(filter) else { return false };
    let (writer, ansi) = match target {
        None => (BoxMakeWriter::new(Lines), false),
        Some("stdout") => (BoxMakeWriter::new(std::io::stdout), false),
        Some("stderr" | "-") => (BoxMakeWriter::new(std::io::stderr), std::io::stderr().is_terminal()),
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => (BoxMakeWriter::new(Mutex::new(f)), false),
            Err(_) => return false,
        },
    };
    let level = level_number(filter.max_level_hint());
    let installed = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi).try_init();
    if installed.is_ok() {
        LEVEL.store(level, Ordering::Relaxed);
    }
    installed.is_ok()
}

/// Takes the lines a custom logger has buffered.
#[pyfunction]
pub fn extism_log_drain() -> Vec<String> {
    BUFFER.lock().map(|mut lines| std::mem::take(&mut *lines)).unwrap_or_default()
}

/// Whether a plugin's messages of `level` (0 trace .. 4 error) are logged.
pub fn enabled(level: i32) -> bool {
    use tracing::{Level, enabled};
    match level {
        0 => enabled!(target: "extism::pdk", Level::TRACE),
        1 => enabled!(target: "extism::pdk", Level::DEBUG),
        2 => enabled!(target: "extism::pdk", Level::INFO),
        3 => enabled!(target: "extism::pdk", Level::WARN),
        _ => enabled!(target: "extism::pdk", Level::ERROR),
    }
}

/// Logs a plugin's `message` of `level` (0..4); `id` is the plugin's.
pub fn emit(level: i32, message: &str, id: &str) {
    match level {
        0 => tracing::trace!(target: "extism::pdk", plugin = id, "{message}"),
        1 => tracing::debug!(target: "extism::pdk", plugin = id, "{message}"),
        2 => tracing::info!(target: "extism::pdk", plugin = id, "{message}"),
        3 => tracing::warn!(target: "extism::pdk", plugin = id, "{message}"),
        _ => tracing::error!(target: "extism::pdk", plugin = id, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(level: Option<&str>) -> Option<i32> {
        filter(level).map(|f| level_number(f.max_level_hint()))
    }

    #[test]
    fn filters() {
        assert_eq!(hint(None), Some(4));
        assert_eq!(hint(Some("debug")), Some(1));
        assert_eq!(hint(Some("INFO")), Some(2));
        assert_eq!(hint(Some("extism=trace,cranelift=debug")), Some(0));
        assert_eq!(hint(Some("extism=warn")), Some(3));
        assert_eq!(hint(Some("extism=warn,cranelift=debug")), Some(1));
        assert_eq!(hint(Some("extism=loud")), None);
    }
}
