//! The Extism host runtime, ours (the `extism` crate needs wasmtime 49): the kernel now; the
//! host functions, manifest and plugin calls build on it.

pub mod kernel;
