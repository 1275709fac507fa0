//! Where plugins' `log_*` messages go: the process-wide sink that `extism.set_log_file` and
//! `extism.set_log_custom` choose (once per process, as in the reference).
//!
//! Lines look like the reference's `tracing` output without colours:
//! `2026-11-21T14:38:18.021804Z  INFO extism::pdk: message plugin="<uuid>"`. A custom logger's
//! lines are buffered here and handed to Python by `extism_log_drain` (no Python code runs
//! while wasm logs).

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

/// `get_log_level`'s answer while logging is off.
pub const OFF: i32 = i32::MAX;
const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// The most verbose level logged (0 trace .. 4 error), or [`OFF`].
static LEVEL: AtomicI32 = AtomicI32::new(OFF);
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

enum Sink {
    Stdout,
    Stderr,
    File(std::fs::File),
    Buffer(Vec<String>),
}

/// The level of `get_log_level`.
pub fn level() -> i32 {
    LEVEL.load(Ordering::Relaxed)
}

/// Whether messages of `level` (0..4) are logged.
pub fn enabled(level: i32) -> bool {
    level >= self::level()
}

/// The level a filter gives the `extism` target: a bare level, or `tracing`-style directives
/// (`extism=debug,cranelift=info`) of which the most specific one for `extism::pdk` counts.
fn parse_filter(filter: Option<&str>) -> Option<i32> {
    let of = |name: &str| -> Option<i32> {
        let name = name.trim().to_ascii_lowercase();
        if name == "off" {
            return Some(OFF);
        }
        LEVELS.iter().position(|l| *l == name).map(|i| i as i32)
    };
    let Some(filter) = filter else { return Some(4) };
    let mut best: Option<(usize, i32)> = None;
    for directive in filter.split(',').filter(|d| !d.trim().is_empty()) {
        let (target, level) = match directive.split_once('=') {
            Some((t, l)) => (t.trim(), of(l)?),
            None => match of(directive) {
                Some(l) => ("extism", l),
                // A bare target enables everything for it.
                None => (directive.trim(), 0),
            },
        };
        if "extism::pdk".starts_with(target) && best.is_none_or(|(len, _)| target.len() >= len) {
            best = Some((target.len(), level));
        }
    }
    Some(best.map_or(4, |(_, l)| l))
}

/// Sets the process's log sink: `target` is a path (appended to), `stdout`, `stderr`/`-`, or
/// None for an in-memory buffer (a custom logger). False if logging was already set up or the
/// file cannot be opened.
#[pyfunction]
#[pyo3(signature = (target, filter=None))]
pub fn extism_log_setup(target: Option<&str>, filter: Option<&str>) -> bool {
    let Some(level) = parse_filter(filter) else { return false };
    let Ok(mut sink) = SINK.lock() else { return false };
    if sink.is_some() {
        return false;
    }
    let new = match target {
        None => Sink::Buffer(Vec::new()),
        Some("stdout") => Sink::Stdout,
        Some("stderr" | "-") => Sink::Stderr,
        Some(path) => match std::fs::OpenOptions::new().create(true).append(true).open(path) {
            Ok(f) => Sink::File(f),
            Err(_) => return false,
        },
    };
    *sink = Some(new);
    LEVEL.store(level, Ordering::Relaxed);
    true
}

/// Takes the lines a custom logger has buffered.
#[pyfunction]
pub fn extism_log_drain() -> Vec<String> {
    match SINK.lock().as_deref_mut() {
        Ok(Some(Sink::Buffer(lines))) => std::mem::take(lines),
        _ => Vec::new(),
    }
}

/// Logs `message` of `level` (0..4) from plugin `id`, if that level is enabled.
pub fn emit(level: i32, message: &str, id: &str) {
    if !enabled(level) {
        return;
    }
    let name = LEVELS[level.clamp(0, 4) as usize].to_ascii_uppercase();
    let line = format!("{} {name:>5} extism::pdk: {message} plugin=\"{id}\"\n", timestamp(SystemTime::now()));
    let Ok(mut sink) = SINK.lock() else { return };
    // Write errors are dropped, as a log line must never fail a plugin call.
    let _ = match sink.as_mut() {
        None => Ok(()),
        Some(Sink::Stdout) => std::io::stdout().write_all(line.as_bytes()),
        Some(Sink::Stderr) => std::io::stderr().write_all(line.as_bytes()),
        Some(Sink::File(f)) => f.write_all(line.as_bytes()),
        Some(Sink::Buffer(lines)) => {
            lines.push(line);
            Ok(())
        }
    };
}

/// RFC 3339 UTC with microseconds, e.g. `2026-11-21T14:38:18.021804Z`.
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::from_micros(1_795_271_898_021_804);
        assert_eq!(timestamp(t), "2026-11-21T14:38:18.021804Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(timestamp(leap), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter(None), Some(4));
        assert_eq!(parse_filter(Some("debug")), Some(1));
        assert_eq!(parse_filter(Some("INFO")), Some(2));
        assert_eq!(parse_filter(Some("extism=trace,cranelift=debug")), Some(0));
        assert_eq!(parse_filter(Some("cranelift=debug")), Some(4));
        assert_eq!(parse_filter(Some("extism=warn,extism::pdk=debug")), Some(1));
        assert_eq!(parse_filter(Some("off")), Some(OFF));
        assert_eq!(parse_filter(Some("extism=loud")), None);
    }
}
