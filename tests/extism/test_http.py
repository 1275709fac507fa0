"""HTTP from plugins: the ``http_request``, ``http_status_code`` and ``http_headers`` host
functions, against a real HTTP server on 127.0.0.1 that the tests start.

The guest is a hand-written WAT module (`http_guest`). Its input is the request JSON, optionally
followed by a newline and the request body (``<json>\\n<body>``); `call` builds that input. Its
exports send the request and output:

* ``body``: the response body (nothing when the host returns handle 0);
* ``status``: the status code (``http_status_code``) as decimal text;
* ``headers``: the JSON of ``http_headers``, or ``0`` when it returns handle 0;
* ``status_only``: ``http_status_code`` without sending anything.

The legacy variant imports the same host functions from ``env`` as ``extism_<name>`` (0.x ABI,
which has no ``http_headers``).

Each `Server` counts the connections it accepted and records every request, so that a test can
assert that a denied host was never contacted. Hangs fail a test instead of stalling the run
(``within_deadline``); time bounds are generous.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import extism
from extism.extism import CompiledPlugin

# `within_deadline(fn, timeout=60.0)`, from conftest: fn(), or a test failure if it hangs.
Deadline = Callable[..., Any]

SLOW_SECONDS = 5.0  # how long /slow keeps the client waiting
HELLO = b"hello world"

# --------------------------------------------------------------------------------------------
# The guest
# --------------------------------------------------------------------------------------------

# The kernel imports and the helpers ($block, $out, $out_block, $input_range, $input_block)
# shared by the Extism guests of the tests; see the file.
KERNEL_LIB = (Path(__file__).parent / "kernel_lib.wat").read_text()

# The guest's own imports (`http_headers` is left out of the legacy variant).
HTTP_IMPORTS = """
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/env" "http_status_code" (func $http_status_code (result i32)))
"""
HEADERS_IMPORT = """
  (import "extism:host/env" "http_headers" (func $http_headers (result i64)))
"""

GUEST_BODY = """
  (memory 1)

  ;; Index of the first newline of the input, or the input length when there is none.
  (func $newline (result i64) (local $i i64) (local $n i64)
    (local.set $n (call $input_length))
    (block $done (loop $scan
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (br_if $done (i32.eq (call $input_load_u8 (local.get $i)) (i32.const 10)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $scan)))
    (local.get $i))

  ;; Sends the request of the input "<json>[\\n<body>]"; returns the response body's handle.
  ;; Without a newline (or with nothing after it) the body handle is 0: no body (alloc(0) is 0).
  (func $request (result i64) (local $nl i64) (local $n i64) (local $json i64) (local $body i64)
    (local.set $n (call $input_length))
    (local.set $nl (call $newline))
    (local.set $json (call $input_range (i64.const 0) (local.get $nl)))
    (if (i64.lt_u (local.get $nl) (local.get $n))
      (then
        (local.set $body
          (call $input_range (i64.add (local.get $nl) (i64.const 1))
                             (i64.sub (local.get $n) (i64.add (local.get $nl) (i64.const 1)))))))
    ;; The host frees both handles.
    (call $http_request (local.get $json) (local.get $body)))

  ;; Output: $v as decimal text. The digits are written backwards into guest memory [p, 32).
  (func $output_decimal (param $v i32) (local $p i32)
    (local.set $p (i32.const 32))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (i32.ne (local.get $v) (i32.const 0))))
    (call $out (local.get $p) (i32.sub (i32.const 32) (local.get $p))))

  (func (export "body") (result i32)
    (call $out_block (call $request))
    (i32.const 0))

  (func (export "status") (result i32)
    (drop (call $request))
    (call $output_decimal (call $http_status_code))
    (i32.const 0))

  (func (export "status_only") (result i32)
    (call $output_decimal (call $http_status_code))
    (i32.const 0))
"""

# Only in the 1.x variant: the legacy ABI has no `http_headers`.
HEADERS_EXPORT = """
  ;; Output: the response headers' JSON, or "0" when http_headers returns handle 0.
  (func (export "headers") (result i32) (local $h i64)
    (drop (call $request))
    (local.set $h (call $http_headers))
    (if (i64.eqz (local.get $h))
      (then (call $output_decimal (i32.const 0)))
      (else (call $out_block (local.get $h))))
    (i32.const 0))
"""


def http_guest(legacy: bool = False) -> str:
    """The guest's WAT, importing the 1.x ABI or (``legacy``) the 0.x one."""
    if legacy:
        # The same functions, imported from "env" as "extism_<name>"; no `http_headers`.
        wat = "(module" + HTTP_IMPORTS + KERNEL_LIB + GUEST_BODY + ")"
        return wat.replace('(import "extism:host/env" "', '(import "env" "extism_')
    imports = HTTP_IMPORTS + HEADERS_IMPORT
    return "(module" + imports + KERNEL_LIB + GUEST_BODY + HEADERS_EXPORT + ")"


GUEST = http_guest()
LEGACY_GUEST = http_guest(legacy=True)

DEFAULT_HOSTS = ["127.0.0.1"]


def manifest(
    allowed_hosts: list[str] | None = DEFAULT_HOSTS, *, legacy: bool = False, **fields: Any
) -> dict[str, Any]:
    """A manifest of the guest; ``allowed_hosts=None`` leaves the field out."""
    source: dict[str, Any] = {"wasm": [{"data": (LEGACY_GUEST if legacy else GUEST).encode()}]}
    if allowed_hosts is not None:
        source["allowed_hosts"] = allowed_hosts
    return {**source, **fields}


def new_plugin(
    allowed_hosts: list[str] | None = DEFAULT_HOSTS,
    *,
    legacy: bool = False,
    headers: bool | None = None,
    **fields: Any,
) -> extism.Plugin:
    """A plugin of the guest; ``headers`` is passed as ``http_response_headers`` unless None."""
    kwargs: dict[str, Any] = {"functions": []}
    if headers is not None:
        kwargs["http_response_headers"] = headers
    return extism.Plugin(manifest(allowed_hosts, legacy=legacy, **fields), **kwargs)


def request(
    url: str,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> bytes:
    """The guest input for one request: its JSON, then ``\\n`` and the body if there is one."""
    req: dict[str, Any] = {"url": url}
    if method is not None:
        req["method"] = method
    if headers is not None:
        req["headers"] = headers
    data = json.dumps(req).encode()
    return data if body is None else data + b"\n" + body


def error_of(fn: Callable[[], Any]) -> str:
    """The message of the `extism.Error` that ``fn()`` raises."""
    with pytest.raises(extism.Error) as exc:
        fn()
    return str(exc.value)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


# A `LoopbackServer` of tests/conftest.py (the `http_server` fixture) answering with `respond`:
# it records every request (`requests`: method, path, lower-case headers, body) and counts the
# connections that it accepted (`connections`).
Server = Any


def respond(request: Any, closing: threading.Event) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer of the test servers to ``request`` (any method).

    * ``/hello``: 200 "hello world", ``Content-Type: text/plain``, ``X-Custom: yes`` and two
      ``X-Dup`` headers (``1`` then ``2``);
    * ``/echo``: 200, a JSON object of the request: method, path, headers (lower-case names),
      body (decoded as Latin-1);
    * ``/raw``: 200, the request body as is;
    * ``/status/<code>``: that status with the body ``status <code>`` (none for 204 and 304);
    * ``/bytes/<n>``: 200, ``n`` bytes ``0123456789012...``;
    * ``/slow``: 200 "slow" after `SLOW_SECONDS` (or as soon as ``closing`` is set);
    * anything else: 404.

    A path given to `redirect` gets its status and ``Location`` instead, with an empty body.
    """
    path = request.path
    if path == "/hello":
        headers = [
            ("Content-Type", "text/plain"),
            ("X-Custom", "yes"),
            ("X-Dup", "1"),
            ("X-Dup", "2"),
        ]
        return 200, headers, HELLO
    if path == "/echo":
        echo = {
            "method": request.method,
            "path": path,
            "headers": request.headers,
            "body": request.body.decode("latin-1"),
        }
        return 200, [("Content-Type", "application/json")], json.dumps(echo).encode()
    if path == "/raw":
        return 200, [("Content-Type", "application/octet-stream")], request.body
    if path.startswith("/status/"):
        status = int(path.removeprefix("/status/"))
        return status, [], b"" if status in (204, 304) else f"status {status}".encode()
    if path.startswith("/bytes/"):
        n = int(path.removeprefix("/bytes/"))
        return 200, [], (b"0123456789" * (n // 10 + 1))[:n]
    if path == "/slow":
        closing.wait(SLOW_SECONDS)
        return 200, [], b"slow"
    return 404, [], b"no such route"


def redirect(server: Server, path: str, status: int, location: str) -> str:
    """Make ``path`` answer ``status`` with ``Location: location``; returns its URL."""
    server.routes[path] = (status, [("Location", location)], b"")
    return str(server.url(path))


@pytest.fixture
def servers(http_server: Callable[..., Server]) -> Iterator[Callable[[], Server]]:
    """``servers()``: a new running `Server`; all are closed after the test."""
    closing = threading.Event()
    yield lambda: http_server(functools.partial(respond, closing=closing))
    closing.set()  # before the servers close (`http_server` ends after this): /slow answers now


@pytest.fixture
def server(servers: Callable[[], Server]) -> Server:
    return servers()


def closed_port() -> int:
    """A local port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo(plugin: extism.Plugin, data: bytes) -> dict[str, Any]:
    """The guest's output for a request to /echo, decoded."""
    result: dict[str, Any] = json.loads(plugin.call("body", data))
    return result


# --------------------------------------------------------------------------------------------
# Requests and bodies
# --------------------------------------------------------------------------------------------


def test_get_returns_the_body(server: Server) -> None:
    plugin = new_plugin()
    assert plugin.call("body", request(server.url("/hello"))) == HELLO
    assert [(r.method, r.path, r.body) for r in server.requests] == [("GET", "/hello", b"")]
    assert server.connections == 1


def test_request_headers_reach_the_server(server: Server) -> None:
    headers = {"X-Test": "yes", "Authorization": "Bearer token", "Accept": "text/plain"}
    got = echo(new_plugin(), request(server.url("/echo"), headers=headers))
    assert got["method"] == "GET"
    assert got["headers"]["x-test"] == "yes"
    assert got["headers"]["authorization"] == "Bearer token"
    assert got["headers"]["accept"] == "text/plain"
    assert got["body"] == ""


def test_client_identifies_as_ureq_3(server: Server) -> None:
    got = echo(new_plugin(), request(server.url("/echo")))
    assert got["headers"]["user-agent"].startswith("ureq/3.")


def test_method_is_upper_cased_and_body_sent(server: Server) -> None:
    got = echo(new_plugin(), request(server.url("/echo"), method="post", body=b"some data"))
    assert got["method"] == "POST"
    assert got["body"] == "some data"
    assert server.requests[0].body == b"some data"


def test_binary_body_round_trips(server: Server) -> None:
    body = bytes(range(256)) * 4 + b"\n\r\n\x00"
    plugin = new_plugin()
    assert plugin.call("body", request(server.url("/raw"), method="POST", body=body)) == body
    assert server.requests[0].body == body
    assert server.requests[0].method == "POST"


def test_large_body_round_trips(server: Server) -> None:
    body = bytes(i % 251 for i in range(300_000))
    plugin = new_plugin()
    assert plugin.call("body", request(server.url("/raw"), method="PUT", body=body)) == body


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", b"put body"), ("PATCH", b"patch body"), ("DELETE", None)]
)
def test_other_methods(server: Server, method: str, body: bytes | None) -> None:
    got = echo(new_plugin(), request(server.url("/echo"), method=method, body=body))
    assert got["method"] == method
    assert got["body"] == (body or b"").decode()


def test_several_requests_on_one_plugin(server: Server) -> None:
    plugin = new_plugin()
    for _ in range(3):
        assert plugin.call("body", request(server.url("/hello"))) == HELLO
    assert plugin.call("status", request(server.url("/status/404"))) == b"404"
    assert plugin.call("status", request(server.url("/hello"))) == b"200"
    assert len(server.requests) == 5


def test_concurrent_requests_from_several_plugins(server: Server) -> None:
    plugins = [new_plugin() for _ in range(4)]
    outputs: list[bytes] = []

    def run(plugin: extism.Plugin) -> None:
        for _ in range(5):
            outputs.append(plugin.call("body", request(server.url("/hello"))))

    threads = [threading.Thread(target=run, args=(p,), daemon=True) for p in plugins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outputs == [HELLO] * 20
    assert len(server.requests) == 20


# --------------------------------------------------------------------------------------------
# Status codes
# --------------------------------------------------------------------------------------------


def test_status_code_is_zero_before_any_request() -> None:
    assert new_plugin().call("status_only", b"") == b"0"


@pytest.mark.parametrize("status", [200, 201, 400, 404, 418, 500, 503])
def test_status_codes_are_not_errors(server: Server, status: int) -> None:
    plugin = new_plugin()
    url = server.url(f"/status/{status}")
    assert plugin.call("status", request(url)) == str(status).encode()
    assert plugin.call("body", request(url)) == f"status {status}".encode()


def test_no_content_gives_empty_output(server: Server) -> None:
    plugin = new_plugin()
    url = server.url("/status/204")
    assert plugin.call("body", request(url)) == b""
    assert plugin.call("status", request(url)) == b"204"


def test_empty_200_body_gives_empty_output(server: Server) -> None:
    assert new_plugin().call("body", request(server.url("/bytes/0"))) == b""


# --------------------------------------------------------------------------------------------
# Response headers
# --------------------------------------------------------------------------------------------


def check_hello_headers(output: bytes) -> None:
    headers = json.loads(output)
    assert isinstance(headers, dict)
    assert all(name == name.lower() for name in headers)
    assert headers["x-custom"] == "yes"
    assert headers["content-type"] == "text/plain"
    assert headers["content-length"] == str(len(HELLO))
    assert headers["x-dup"] == "2"  # the last value wins


def test_response_headers_with_the_extension(server: Server) -> None:
    plugin = new_plugin(headers=True)
    check_hello_headers(plugin.call("headers", request(server.url("/hello"))))


def test_response_headers_with_the_extension_on_a_compiled_plugin(server: Server) -> None:
    compiled = CompiledPlugin(manifest(), functions=[], http_response_headers=True)
    plugin = extism.Plugin(compiled)
    check_hello_headers(plugin.call("headers", request(server.url("/hello"))))


@pytest.mark.parametrize("headers", [None, False])
def test_response_headers_are_off_by_default(server: Server, headers: bool | None) -> None:
    plugin = new_plugin(headers=headers)
    assert plugin.call("headers", request(server.url("/hello"))) == b"0"
    assert len(server.requests) == 1


def test_response_headers_follow_the_last_request(server: Server) -> None:
    plugin = new_plugin(headers=True)
    check_hello_headers(plugin.call("headers", request(server.url("/hello"))))
    headers = json.loads(plugin.call("headers", request(server.url("/status/404"))))
    assert "x-custom" not in headers
    assert headers["content-length"] == str(len(b"status 404"))


# --------------------------------------------------------------------------------------------
# Allowed hosts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "allowed",
    [
        ["127.0.0.1"],
        ["127.0.0.*"],
        ["*"],
        ["127.0.0.?"],
        ["127.0.0.[0-9]"],
        ["*.0.0.1"],
        ["localhost", "127.0.0.1"],
    ],
)
def test_allowed_hosts_match(server: Server, allowed: list[str]) -> None:
    assert new_plugin(allowed).call("body", request(server.url("/hello"))) == HELLO
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "allowed",
    [None, [], ["localhost"], ["127.0.0.2"], ["127.0.0.1:PORT"], ["127.0.0.1*:PORT"], ["*.com"]],
    ids=["absent", "empty", "localhost", "other-ip", "with-port", "glob-with-port", "other-glob"],
)
def test_denied_hosts_are_never_contacted(server: Server, allowed: list[str] | None) -> None:
    if allowed is not None:
        allowed = [a.replace("PORT", str(server.port)) for a in allowed]
    url = server.url("/hello")
    message = error_of(lambda: new_plugin(allowed).call("body", request(url)))
    assert f"HTTP request to {url} is not allowed" in message
    assert server.connections == 0
    assert server.requests == []


def test_allowed_host_names_are_matched_without_the_port(server: Server) -> None:
    # "localhost" allowed, and the URL names localhost: the request goes out (the server listens
    # on 127.0.0.1 only, so it may fail to connect when localhost resolves to ::1 first, but it
    # must not be refused as "not allowed").
    plugin = new_plugin(["localhost"])
    try:
        out = plugin.call("body", request(server.url("/hello", host="localhost")))
    except extism.Error as exc:
        assert "not allowed" not in str(exc)
        assert f"HTTP request to {server.url('/hello', host='localhost')} failed" in str(exc)
    else:
        assert out == HELLO


def test_invalid_url() -> None:
    message = error_of(lambda: new_plugin().call("body", request("not a url")))
    assert "Invalid URL" in message


# --------------------------------------------------------------------------------------------
# Redirects
# --------------------------------------------------------------------------------------------


def test_redirect_to_a_denied_host_is_refused(servers: Callable[[], Server]) -> None:
    a, b = servers(), servers()
    target = b.url("/hello", host="localhost")
    url = redirect(a, "/go", 302, target)
    message = error_of(lambda: new_plugin(["127.0.0.1"]).call("body", request(url)))
    assert f"HTTP request to {target} is not allowed" in message
    assert f"(redirected from {url})" in message
    assert [r.path for r in a.requests] == ["/go"]
    assert b.connections == 0


def test_redirect_between_allowed_hosts_is_followed(servers: Callable[[], Server]) -> None:
    a, b = servers(), servers()
    url = redirect(a, "/go", 302, b.url("/hello"))
    plugin = new_plugin(["127.0.0.1"])
    assert plugin.call("body", request(url)) == HELLO
    assert plugin.call("status", request(url)) == b"200"
    assert [r.path for r in a.requests] == ["/go", "/go"]
    assert [r.path for r in b.requests] == ["/hello", "/hello"]


def test_redirect_with_a_relative_location(server: Server) -> None:
    url = redirect(server, "/go", 302, "/hello")
    assert new_plugin().call("body", request(url)) == HELLO
    assert [r.path for r in server.requests] == ["/go", "/hello"]


@pytest.mark.parametrize(
    ("status", "method", "body"),
    [
        (301, "GET", b""),
        (302, "GET", b""),
        (303, "GET", b""),
        (307, "POST", b"posted"),
        (308, "POST", b"posted"),
    ],
)
def test_redirected_post(server: Server, status: int, method: str, body: bytes) -> None:
    url = redirect(server, "/go", status, server.url("/echo"))
    got = echo(new_plugin(), request(url, method="POST", body=b"posted"))
    assert (got["method"], got["body"].encode("latin-1")) == (method, body)
    assert [(r.method, r.path, r.body) for r in server.requests] == [
        ("POST", "/go", b"posted"),
        (method, "/echo", body),
    ]


def test_redirect_loop(server: Server) -> None:
    url = redirect(server, "/loop", 302, server.url("/loop"))
    message = error_of(lambda: new_plugin().call("body", request(url)))
    assert "too many redirects" in message
    # The first request and 10 redirects, then the 11th redirect is refused.
    assert len(server.requests) == 11


# --------------------------------------------------------------------------------------------
# Response size limit
# --------------------------------------------------------------------------------------------

TOO_BIG = "HTTP response exceeds the configured maximum number of bytes: "


def test_body_over_the_limit_is_an_error(server: Server) -> None:
    plugin = new_plugin(memory={"max_http_response_bytes": 10})
    message = error_of(lambda: plugin.call("body", request(server.url("/bytes/11"))))
    assert TOO_BIG + "10" in message


def test_body_at_the_limit_passes(server: Server) -> None:
    plugin = new_plugin(memory={"max_http_response_bytes": 10})
    assert plugin.call("body", request(server.url("/bytes/10"))) == b"0123456789"
    # The plugin is usable after an oversized response.
    with pytest.raises(extism.Error, match=TOO_BIG + "10"):
        plugin.call("body", request(server.url("/bytes/1000")))
    assert plugin.call("body", request(server.url("/bytes/3"))) == b"012"


def test_default_limit_allows_a_megabyte(server: Server) -> None:
    out = new_plugin().call("body", request(server.url("/bytes/1048576")))
    assert len(out) == 1048576
    assert out[:12] == b"012345678901"


# --------------------------------------------------------------------------------------------
# Slow servers, timeouts and cancellation; transport failures
# --------------------------------------------------------------------------------------------


def test_timeout_stops_a_call_waiting_on_a_slow_server(
    server: Server, within_deadline: Deadline
) -> None:
    plugin = new_plugin(timeout_ms=300)
    start = time.monotonic()
    message = error_of(
        lambda: within_deadline(lambda: plugin.call("body", request(server.url("/slow"))))
    )
    elapsed = time.monotonic() - start
    assert "timeout" in message
    assert 0.2 <= elapsed < 3.0
    assert [r.path for r in server.requests] == ["/slow"]


def test_timeout_leaves_the_plugin_usable(server: Server, within_deadline: Deadline) -> None:
    plugin = new_plugin(timeout_ms=1000)
    with pytest.raises(extism.Error, match="timeout"):
        within_deadline(lambda: plugin.call("body", request(server.url("/slow"))))
    assert plugin.call("body", request(server.url("/hello"))) == HELLO


def test_cancel_stops_a_call_waiting_on_a_slow_server(
    server: Server, within_deadline: Deadline
) -> None:
    plugin = new_plugin()
    handle = plugin.cancel_handle()
    timer = threading.Timer(0.3, handle.cancel)
    start = time.monotonic()
    timer.start()
    try:
        message = error_of(
            lambda: within_deadline(lambda: plugin.call("body", request(server.url("/slow"))))
        )
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 3.0
    assert "timeout" in message
    assert plugin.call("body", request(server.url("/hello"))) == HELLO


def test_connection_refused() -> None:
    url = f"http://127.0.0.1:{closed_port()}/hello"
    message = error_of(lambda: new_plugin().call("body", request(url)))
    assert f"HTTP request to {url} failed" in message


# --------------------------------------------------------------------------------------------
# Malformed requests
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"url": 5}',
        b'{"url": "URL", "data": "x"}',
        b'{"url": "URL", "method": "GET", "body": "x"}',
        b'{"url": "URL", "headers": {"a": 1}}',
        b'{"url": "URL", "headers": ["a"]}',
        b'{"url": "URL", "method": 1}',
    ],
)
def test_malformed_request_json(server: Server, data: bytes) -> None:
    data = data.replace(b"URL", server.url("/hello").encode())
    message = error_of(lambda: new_plugin().call("body", data))
    assert "invalid http request" in message
    assert server.connections == 0


# --------------------------------------------------------------------------------------------
# The legacy 0.x ABI
# --------------------------------------------------------------------------------------------


def test_legacy_abi_get(server: Server) -> None:
    plugin = new_plugin(legacy=True)
    assert plugin.call("body", request(server.url("/hello"))) == HELLO
    assert plugin.call("status", request(server.url("/status/404"))) == b"404"
    got = echo(plugin, request(server.url("/echo"), method="post", body=b"legacy"))
    assert (got["method"], got["body"]) == ("POST", "legacy")


def test_legacy_abi_denied_host(server: Server) -> None:
    url = server.url("/hello")
    message = error_of(lambda: new_plugin(None, legacy=True).call("body", request(url)))
    assert f"HTTP request to {url} is not allowed" in message
    assert server.connections == 0
