//! A WASI output stream that hands each write to a Python callable (`WasiConfig.stdout_custom`
//! and `stderr_custom`).
//!
//! Writes arrive on the thread running wasm, which has released the GIL, so the callable runs
//! there after re-attaching: no deadlock, even while other Python threads run. The callable
//! returns `None` (everything written) or the number of bytes it took; an exception is printed
//! (as Python prints exceptions it cannot raise) and the guest sees an I/O error.
//!
//! The callable sits in an [`ExternCell`] that the `WasiConfig`, then the store that takes it,
//! reports to the garbage collector, so a callable that refers back to its store is collected.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

use crate::core::val::ExternCell;

#[derive(Clone)]
pub struct PyOutput {
    callback: Arc<ExternCell>,
}

impl PyOutput {
    pub fn new(callback: Arc<ExternCell>) -> Self {
        PyOutput { callback }
    }

    /// Calls the callable with `buf`; returns how many bytes it took.
    fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
        Python::attach(|py| {
            let Some(callback) = self.callback.get(py) else {
                return Err(std::io::Error::other("the output callback was cleared by the garbage collector"));
            };
            let result = callback.bind(py).call1((PyBytes::new(py, buf),)).and_then(|r| {
                if r.is_none() { Ok(buf.len()) } else { r.extract::<usize>().map(|n| n.min(buf.len())) }
            });
            result.map_err(|e| {
                e.print(py);
                std::io::Error::other("the output callback raised an exception")
            })
        })
    }
}

impl IsTerminal for PyOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PyOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for PyOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for PyOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            match self.send(rest) {
                // A callable that takes nothing would loop forever: treat it as a failure.
                Ok(0) => return Err(StreamError::LastOperationFailed(wasmtime::format_err!("the output callback took no bytes"))),
                Ok(n) => rest = &rest[n..],
                Err(e) => return Err(StreamError::LastOperationFailed(wasmtime::format_err!(e))),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl tokio::io::AsyncWrite for PyOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.send(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
