//! HTTP requests from plugins (`http_request`), with ureq.
//!
//! The rules are upstream's: the URL's bare host must match one of `allowed_hosts`, non-2xx
//! statuses are not errors, the body is capped at `max_http_response_bytes`, and the request
//! gets the call's remaining time. Two things are stricter, because plugins are often untrusted:
//!
//! * Redirects are followed here, hop by hop, and every hop's host is checked *before* it is
//!   contacted: upstream lets the client follow a redirect from an allowed host to any host.
//! * The request runs on its own thread while the calling thread waits on it and keeps watching
//!   the call's cancel flag, its deadline and Ctrl-C, which a blocking client cannot do. A
//!   cancelled request's thread is left to finish on its own (bounded by the request timeout);
//!   nothing it returns is used.
//!
//! Errors name their cause ("HTTP request to <url> failed: <why>"); upstream reports the client's
//! message alone, or nothing.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ureq::http::{self, Method, StatusCode, header};
use url::Url;

use crate::extism::state::{Interrupt, Settings};

/// Redirects followed before giving up (browsers and curl use 20 to 50; ureq's default is 10).
const MAX_REDIRECTS: usize = 10;
/// How often the waiting thread looks at the cancel flag, the deadline and signals.
const POLL: Duration = Duration::from_millis(5);

/// The JSON a guest passes to `http_request` (unknown keys refused, as upstream).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub url: String,
    /// `header` is the 0.x PDKs' name.
    #[serde(default, alias = "header")]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub method: Option<String>,
}

pub struct Response {
    pub status: u16,
    /// Lower-case names; the last value of a repeated header wins (as upstream).
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Why a request failed.
pub enum Failure {
    /// The message the guest's call fails with.
    Message(String),
    /// The call was cancelled or ran out of time (the call reports it as a timeout).
    Interrupted,
    /// Ctrl-C (or another Python signal handler raised).
    Signal(wasmtime::Error),
}

/// The bare host of an absolute URL (no port, no brackets around IPv6), lower-cased, or the
/// parser's complaint.
pub fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Parses `url` and checks its host against `allowed_hosts`.
pub fn check(settings: &Settings, url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("Invalid URL: {url}: {e}"))?;
    match host_of(&parsed) {
        Some(host) if settings.allows_host(&host) => Ok(parsed),
        Some(_) => Err(format!("HTTP request to {url} is not allowed")),
        None => Err(format!("Invalid URL: {url}: no host")),
    }
}

/// Sends `request` and waits for the whole response, or for the call to be interrupted.
pub fn send(
    settings: Arc<Settings>,
    request: Request,
    body: Option<Vec<u8>>,
    deadline: Option<Instant>,
    interrupt: &Interrupt,
) -> Result<Response, Failure> {
    let url = check(&settings, &request.url).map_err(Failure::Message)?;
    let (done, outcome) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("extism-http".into())
        .spawn(move || {
            // The receiver is gone if the call was interrupted: the result is not wanted.
            let _ = done.send(fetch(&settings, url, request, body, deadline));
        })
        .map_err(|e| Failure::Message(format!("cannot start an HTTP request: {e}")))?;
    loop {
        match outcome.recv_timeout(POLL) {
            Ok(Ok(response)) => return Ok(response),
            Ok(Err(_)) if deadline.is_some_and(|d| Instant::now() >= d) => return Err(Failure::Interrupted),
            Ok(Err(message)) => return Err(Failure::Message(message)),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Failure::Message("the HTTP request failed".into())),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if interrupt.cancel.swap(false, std::sync::atomic::Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Failure::Interrupted);
        }
        crate::core::store::run_signal_handlers().map_err(Failure::Signal)?;
    }
}

/// One client for all plugins (connections are pooled). Statuses are never errors and
/// redirects are never followed by the client: [`fetch`] checks each hop first.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .build()
            .new_agent()
    })
}

/// The request, hop by hop; runs on the request's own thread.
fn fetch(settings: &Settings, mut url: Url, request: Request, mut body: Option<Vec<u8>>, deadline: Option<Instant>) -> Result<Response, String> {
    let method = request.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let mut method = Method::from_bytes(method.as_bytes()).map_err(|_| format!("invalid HTTP method: {method}"))?;
    let mut headers = request.headers;
    let failed = |url: &Url, why: &dyn std::fmt::Display| format!("HTTP request to {url} failed: {why}");
    for _ in 0..=MAX_REDIRECTS {
        let mut builder = http::Request::builder().method(method.clone()).uri(url.as_str());
        for (name, value) in &headers {
            builder = builder.header(name, value);
        }
        let timeout = match deadline {
            None => None,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err("timeout".into()),
            },
        };
        let agent = agent();
        let sent = match &body {
            Some(bytes) => {
                let request = builder.body(bytes.as_slice()).map_err(|e| failed(&url, &e))?;
                agent.run(agent.configure_request(request).timeout_global(timeout).build())
            }
            None => {
                let request = builder.body(()).map_err(|e| failed(&url, &e))?;
                agent.run(agent.configure_request(request).timeout_global(timeout).build())
            }
        };
        let mut response = sent.map_err(|e| failed(&url, &e))?;
        let status = response.status();
        if let Some(location) = status.is_redirection().then(|| response.headers().get(header::LOCATION)).flatten() {
            let location = location.to_str().map_err(|_| failed(&url, &"the redirect's Location is not text"))?;
            let next = url.join(location).map_err(|e| failed(&url, &format!("bad redirect to {location}: {e}")))?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(failed(&url, &format!("redirect to a {} URL", next.scheme())));
            }
            if !host_of(&next).is_some_and(|h| settings.allows_host(&h)) {
                return Err(format!("HTTP request to {next} is not allowed (redirected from {url})"));
            }
            // As browsers do: 303 always becomes a GET, 301/302 turn a POST into a GET, 307/308
            // repeat the request as it was.
            if status == StatusCode::SEE_OTHER && method != Method::HEAD
                || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND) && method == Method::POST
            {
                method = Method::GET;
                body = None;
                headers.retain(|name, _| !name.eq_ignore_ascii_case("content-type") && !name.eq_ignore_ascii_case("content-length"));
            }
            // Credentials go to the host they were meant for only.
            if next.host_str() != url.host_str() || next.port_or_known_default() != url.port_or_known_default() {
                headers.retain(|name, _| !name.eq_ignore_ascii_case("authorization") && !name.eq_ignore_ascii_case("cookie"));
            }
            url = next;
            continue;
        }
        let mut captured = BTreeMap::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                captured.insert(name.as_str().to_owned(), value.to_owned());
            }
        }
        // ureq's limit fails on reaching it, ours only on going past it.
        let limit = settings.max_http_response_bytes;
        let body = response.body_mut().with_config().limit(limit.saturating_add(1)).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => format!("HTTP response exceeds the configured maximum number of bytes: {limit}"),
            e => failed(&url, &e),
        })?;
        return Ok(Response { status: status.as_u16(), headers: captured, body });
    }
    Err(failed(&url, &format!("too many redirects ({MAX_REDIRECTS})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(url: &str) -> Option<String> {
        host_of(&Url::parse(url).ok()?)
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host("https://example.com/x").as_deref(), Some("example.com"));
        assert_eq!(host("http://u:p@Example.com:8080/").as_deref(), Some("example.com"));
        assert_eq!(host("http://127.0.0.1:9/a?b").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("http://[::1]:80/").as_deref(), Some("::1"));
        assert_eq!(host("not a url"), None);
        assert_eq!(host("file:///etc/passwd"), None);
    }
}
