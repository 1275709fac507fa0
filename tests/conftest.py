"""Shared fixtures for the wasmbridge test suite.

Test folders carry no ``__init__.py`` and pytest runs with
``--import-mode=importlib``, so helpers are exposed as fixtures rather than
importable functions.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import wasmtime


@pytest.fixture
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


@pytest.fixture
def store(engine: wasmtime.Engine) -> wasmtime.Store:
    return wasmtime.Store(engine)


@pytest.fixture
def instantiate(store: wasmtime.Store) -> Callable[..., wasmtime.Instance]:
    """Compile ``wat`` with the store's engine and instantiate it in ``store``."""

    def _instantiate(wat: str, imports: Sequence[Any] = ()) -> wasmtime.Instance:
        module = wasmtime.Module(store.engine, wat)
        return wasmtime.Instance(store, module, list(imports))

    return _instantiate


@pytest.fixture
def exports(
    store: wasmtime.Store, instantiate: Callable[..., wasmtime.Instance]
) -> Callable[..., Any]:
    """Instantiate ``wat`` in ``store`` and return its exports mapping."""

    def _exports(wat: str, imports: Sequence[Any] = ()) -> Any:
        return instantiate(wat, imports).exports(store)

    return _exports


# --------------------------------------------------------------------------------------------
# A loopback HTTP server
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """A request that a `LoopbackServer` received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


# An answer: status, headers and body. No body is sent for HEAD, nor for 204 and 304 (which get no
# Content-Length either).
HttpResponse = tuple[int, Sequence[tuple[str, str]], bytes]


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 (random port) serving from a daemon thread.

    Each request (its body read by Content-Length or chunked) is recorded in `requests`, then
    answered by ``routes[path]`` if there is one, else by ``respond(request)``, with
    ``Connection: close``: one request per connection. `connections` counts the connections
    accepted.
    """

    def __init__(self, respond: Callable[[HttpRequest], HttpResponse]) -> None:
        self.requests: list[HttpRequest] = []
        self.connections = 0
        self.routes: dict[str, HttpResponse] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                self.close_connection = True
                super().handle_one_request()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _serve(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = HttpRequest(self.command, self.path, headers, self._body())
                with server.lock:
                    server.requests.append(request)
                route = server.routes.get(self.path)
                status, extra, body = route if route is not None else respond(request)
                self.send_response(status)
                for name, value in extra:
                    self.send_header(name, value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class HTTPServer(ThreadingHTTPServer):
            daemon_threads = True

            def process_request(self, request: Any, client_address: Any) -> None:
                with server.lock:
                    server.connections += 1
                super().process_request(request, client_address)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # e.g. a client that gave up waiting: nothing to report

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        # A short poll interval: `shutdown` waits for the serving loop to notice.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


@pytest.fixture
def http_server() -> Iterator[Callable[[Callable[[HttpRequest], HttpResponse]], LoopbackServer]]:
    """``http_server(respond)``: a new running `LoopbackServer`; all are closed after the test."""
    started: list[LoopbackServer] = []

    def start(respond: Callable[[HttpRequest], HttpResponse]) -> LoopbackServer:
        started.append(LoopbackServer(respond))
        return started[-1]

    yield start
    for server in started:
        server.close()


class AsyncWaits:
    """Awaitable waits shared by the asyncio tests (the `aio` fixture)."""

    #: Seconds to wait for something that must happen (a call starting).
    WAIT = 10.0

    async def started(self, event: threading.Event) -> None:
        """Waits (without blocking the loop) until another thread sets `event`."""
        deadline = time.monotonic() + self.WAIT
        while not event.is_set():
            assert time.monotonic() < deadline, "the call did not start"
            await asyncio.sleep(0.001)

    async def cancel_and_time(self, task: asyncio.Task[Any]) -> float:
        """Cancels `task` and returns the seconds until awaiting it raised CancelledError."""
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start


@pytest.fixture
def aio() -> AsyncWaits:
    return AsyncWaits()
