//! Extism manifests: what a plugin is made of, parsed from the bytes the Python layer hands over.
//!
//! Accepted forms (the reference's, spec 3.1): a wasm binary; WAT text; a TOML manifest; a JSON
//! manifest. A raw module becomes the single module `main`. Every manifest struct refuses unknown
//! keys, as upstream's serde types do, and the reference's error texts are kept ("Unknown
//! manifest format", "Hash mismatch, ..."), with the parser's reason appended where upstream
//! gives none. Deliberate differences: `data` is only ever a base64 string (upstream also takes
//! `{ptr, len}` and reads raw process memory there), and WAT may start with whitespace.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The name of the module whose exports are callable.
pub const MAIN: &str = "main";

/// A parsed manifest with its modules' bytes loaded (not compiled yet).
///
/// Serializable without its modules: a pickled `CompiledPlugin` carries the settings as JSON
/// and the modules as compiled code.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// `(name, wasm or WAT bytes)`, in manifest order; exactly one is named [`MAIN`].
    #[serde(skip)]
    pub modules: Vec<(String, Vec<u8>)>,
    pub max_pages: Option<u32>,
    pub max_http_response_bytes: Option<u64>,
    pub max_var_bytes: Option<u64>,
    pub config: BTreeMap<String, String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub allowed_paths: Option<BTreeMap<String, String>>,
    pub timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    wasm: Vec<RawWasm>,
    #[serde(default)]
    memory: Option<RawMemory>,
    #[serde(default)]
    config: Option<BTreeMap<String, String>>,
    #[serde(default)]
    allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    allowed_paths: Option<BTreeMap<String, String>>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    #[serde(default)]
    max_pages: Option<u32>,
    #[serde(default)]
    max_http_response_bytes: Option<u64>,
    #[serde(default)]
    max_var_bytes: Option<u64>,
}

/// One `wasm` entry; tried in upstream's order: file, data, URL.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawWasm {
    File(FileWasm),
    Data(DataWasm),
    Url(UrlWasm),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWasm {
    path: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    hash: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataWasm {
    data: Data,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    hash: Option<String>,
}

/// Upstream also accepts `{ptr, len}` here and reads process memory at `ptr`: we recognise the
/// form only to refuse it clearly.
#[derive(Deserialize)]
#[serde(untagged)]
enum Data {
    Base64(String),
    #[allow(dead_code)]
    Pointer { ptr: u64, len: u64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrlWasm {
    url: String,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    hash: Option<String>,
}

/// Whether `bytes` look like WAT: `(module`, a `;;` or `(;` comment, after optional whitespace.
fn is_wat(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii_start();
    if text.starts_with(b";;") || text.starts_with(b"(;") {
        return true;
    }
    text.strip_prefix(b"(").is_some_and(|rest| rest.trim_ascii_start().starts_with(b"module"))
}

/// Parses what `Plugin(...)` was given (already turned into bytes by the Python layer).
pub fn load(source: &[u8]) -> Result<Manifest, String> {
    if source.starts_with(b"\0asm") || is_wat(source) {
        return Ok(Manifest { modules: vec![(MAIN.into(), source.to_vec())], ..Default::default() });
    }
    let Ok(text) = std::str::from_utf8(source) else {
        // Neither text nor a module: let the compiler say what is wrong with it.
        return Ok(Manifest { modules: vec![(MAIN.into(), source.to_vec())], ..Default::default() });
    };
    let raw: Raw = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(toml_err) => match serde_json::from_str(text) {
            Ok(raw) => raw,
            Err(json_err) => {
                let why = if text.trim_start().starts_with('{') { json_err.to_string() } else { toml_err.message().to_string() };
                return Err(format!("Unknown manifest format: {why}"));
            }
        },
    };
    build(raw)
}

fn build(raw: Raw) -> Result<Manifest, String> {
    if raw.wasm.is_empty() {
        return Err("No wasm files specified in Extism manifest".into());
    }
    let count = raw.wasm.len();
    let mut names = HashSet::new();
    let mut modules = Vec::with_capacity(count);
    for (i, entry) in raw.wasm.into_iter().enumerate() {
        let (bytes, name, hash) = fetch(entry)?;
        if let Some(expected) = hash {
            let found = hex(&Sha256::digest(&bytes));
            if found != expected {
                return Err(format!("Hash mismatch, found {found} but expected {expected}"));
            }
        }
        // One module is always `main`; with several, the last becomes `main` unless one did.
        let mut name = name.unwrap_or_else(|| MAIN.into());
        if count == 1 || (i == count - 1 && !names.contains(MAIN)) {
            name = MAIN.into();
        }
        if !names.insert(name.clone()) {
            return Err(format!("Duplicate module name found in Extism manifest: {name}"));
        }
        modules.push((name, bytes));
    }
    let memory = raw.memory;
    Ok(Manifest {
        modules,
        max_pages: memory.as_ref().and_then(|m| m.max_pages),
        max_http_response_bytes: memory.as_ref().and_then(|m| m.max_http_response_bytes),
        max_var_bytes: memory.as_ref().and_then(|m| m.max_var_bytes),
        config: raw.config.unwrap_or_default(),
        allowed_hosts: raw.allowed_hosts,
        allowed_paths: raw.allowed_paths,
        timeout_ms: raw.timeout_ms,
    })
}

type Loaded = (Vec<u8>, Option<String>, Option<String>);

/// The bytes of one `wasm` entry, with its name and expected hash.
fn fetch(entry: RawWasm) -> Result<Loaded, String> {
    match entry {
        RawWasm::File(f) => {
            let bytes = std::fs::read(&f.path).map_err(|e| format!("Unable to load Wasm file \"{}\": {}", f.path, e.kind()))?;
            Ok((bytes, f.name, f.hash))
        }
        RawWasm::Data(d) => match d.data {
            Data::Base64(text) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text.as_bytes())
                    .map_err(|e| format!("Invalid base64 in Extism manifest wasm data: {e}"))?;
                Ok((bytes, d.name, d.hash))
            }
            Data::Pointer { .. } => {
                Err("Extism manifest wasm data must be a base64 string: {ptr, len} (raw process memory) is refused".into())
            }
        },
        RawWasm::Url(u) => {
            let bytes = download(&u)?;
            Ok((bytes, u.name, u.hash))
        }
    }
}

/// Largest module a manifest URL may deliver.
const MAX_DOWNLOAD: u64 = 1 << 30;

fn download(u: &UrlWasm) -> Result<Vec<u8>, String> {
    let method = u.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let mut request = ureq::http::Request::builder().method(method.as_str()).uri(u.url.as_str());
    for (k, v) in u.headers.iter().flatten() {
        request = request.header(k.as_str(), v.as_str());
    }
    let request = request.body(()).map_err(|e| e.to_string())?;
    let mut response = ureq::run(request).map_err(|e| e.to_string())?;
    response.body_mut().with_config().limit(MAX_DOWNLOAD).read_to_vec().map_err(|e| e.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn raw_sources_are_one_main_module() {
        for src in [WASM, b"(module)", b"  (module)", b";; hi\n(module)", b"( module )"] {
            let m = load(src).unwrap();
            assert_eq!(m.modules.len(), 1);
            assert_eq!(m.modules[0].0, MAIN);
            assert_eq!(m.modules[0].1, src);
        }
    }

    #[test]
    fn json_and_toml_manifests() {
        let json = format!(r#"{{"wasm": [{{"data": "{}", "name": "x"}}], "memory": {{"max_pages": 3}}, "config": {{"a": "b"}}, "timeout_ms": 5}}"#, b64(WASM));
        let m = load(json.as_bytes()).unwrap();
        assert_eq!(m.modules, vec![(MAIN.to_string(), WASM.to_vec())]);
        assert_eq!(m.max_pages, Some(3));
        assert_eq!(m.config.get("a").map(String::as_str), Some("b"));
        assert_eq!(m.timeout_ms, Some(5));
        let toml = format!("timeout_ms = 7\n[[wasm]]\ndata = \"{}\"\n", b64(WASM));
        let m = load(toml.as_bytes()).unwrap();
        assert_eq!(m.timeout_ms, Some(7));
        assert_eq!(m.modules.len(), 1);
    }

    #[test]
    fn format_errors() {
        assert!(load(br#"{"wasm": [], "bogus": 1}"#).unwrap_err().starts_with("Unknown manifest format"));
        assert!(load(b"hello there").unwrap_err().starts_with("Unknown manifest format"));
        assert_eq!(load(br#"{"wasm": []}"#).unwrap_err(), "No wasm files specified in Extism manifest");
        assert!(load(br#"{"wasm": [{"data": {"ptr": 1, "len": 2}}]}"#).unwrap_err().contains("{ptr, len}"));
        assert!(load(br#"{"wasm": [{"path": "/nonexistent/x.wasm"}]}"#)
            .unwrap_err()
            .starts_with("Unable to load Wasm file \"/nonexistent/x.wasm\": "));
    }

    #[test]
    fn hashes_are_checked() {
        let good = hex(&Sha256::digest(WASM));
        let ok = format!(r#"{{"wasm": [{{"data": "{}", "hash": "{good}"}}]}}"#, b64(WASM));
        assert!(load(ok.as_bytes()).is_ok());
        let bad = format!(r#"{{"wasm": [{{"data": "{}", "hash": "00"}}]}}"#, b64(WASM));
        assert_eq!(load(bad.as_bytes()).unwrap_err(), format!("Hash mismatch, found {good} but expected 00"));
    }

    #[test]
    fn the_main_rule() {
        let d = b64(WASM);
        let names = |json: String| load(json.as_bytes()).map(|m| m.modules.into_iter().map(|(n, _)| n).collect::<Vec<_>>());
        assert_eq!(names(format!(r#"{{"wasm": [{{"data": "{d}", "name": "lib"}}, {{"data": "{d}"}}]}}"#)).unwrap(), ["lib", "main"]);
        assert_eq!(names(format!(r#"{{"wasm": [{{"data": "{d}", "name": "x"}}, {{"data": "{d}", "name": "lib"}}]}}"#)).unwrap(), ["x", "main"]);
        assert_eq!(
            names(format!(r#"{{"wasm": [{{"data": "{d}"}}, {{"data": "{d}", "name": "lib"}}]}}"#)).unwrap(),
            ["main", "lib"]
        );
        assert_eq!(
            names(format!(r#"{{"wasm": [{{"data": "{d}"}}, {{"data": "{d}"}}]}}"#)).unwrap_err(),
            "Duplicate module name found in Extism manifest: main"
        );
    }
}
