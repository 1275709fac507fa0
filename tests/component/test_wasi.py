"""Components that use WASI 0.2 (`Linker.add_wasip2`) and wasi:http (`Linker.add_wasi_http`).

The components are written by hand in the component text format. Their imports follow the WIT
of wasmtime-wasi (wasi:io, wasi:cli) and wasmtime-wasi-http (wasi:http) exactly: an import
instance lists only the functions a component calls, but each of those has the host's type,
and the types that WIT shares through `use` are aliased from the instance that defines them
(`alias outer`), as wit-component does. The imports name version 0.2.0; the host defines 0.2.x
and wasmtime links them by semver.

Core code sees the canonical ABI: a resource is an i32 handle; a `borrow` parameter is the
handle; a function whose results flatten to more than one core value takes a pointer to a
return area as its last parameter (lowered imports) or returns one (lifted exports). Layouts:
a variant (`option`, `result`, enums, ...) is a discriminant byte followed by its payload at
the payload's alignment; `result` is `ok` = 0, `err` = 1, `option` is `none` = 0, `some` = 1.
Return areas live below address 1024, which the bump allocator of `LIBC` leaves free.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmtime import Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Variant

# The `libc_component` fixture replaces this marker with the core module that provides the
# memory (`$memory`) and `cabi_realloc` (`$realloc`), and its core instance `$libc`.
LIBC = "{LIBC}"

# --- wasi:io ----------------------------------------------------------------------------------

# wasi:io/error, wasi:io/poll and wasi:io/streams, and the resource types they define, aliased
# as $error, $pollable, $input-stream and $output-stream.
#
# `stream-error` is `variant { last-operation-failed(error), closed }`: discriminant 0 carries
# an owned `error`, 1 is the end of the stream.
IO_IMPORTS = """
    (import "wasi:io/error@0.2.0" (instance $io-error
        (export "error" (type (sub resource)))))
    (alias export $io-error "error" (type $error))
    (import "wasi:io/poll@0.2.0" (instance $io-poll
        (export "pollable" (type $pollable (sub resource)))
        (export "[method]pollable.block" (func (param "self" (borrow $pollable))))))
    (alias export $io-poll "pollable" (type $pollable))
    (import "wasi:io/streams@0.2.0" (instance $io-streams
        (alias outer 1 $error (type $error))
        (export "error" (type (eq $error)))
        (alias outer 1 $pollable (type $pollable))
        (export "pollable" (type (eq $pollable)))
        (type $stream-error'
            (variant (case "last-operation-failed" (own $error)) (case "closed")))
        (export "stream-error" (type $stream-error (eq $stream-error')))
        (export "input-stream" (type $input-stream (sub resource)))
        (export "output-stream" (type $output-stream (sub resource)))
        (export "[method]input-stream.blocking-read"
            (func (param "self" (borrow $input-stream)) (param "len" u64)
                (result (result (list u8) (error $stream-error)))))
        (export "[method]output-stream.blocking-write-and-flush"
            (func (param "self" (borrow $output-stream)) (param "contents" (list u8))
                (result (result (error $stream-error)))))))
    (alias export $io-streams "input-stream" (type $input-stream))
    (alias export $io-streams "output-stream" (type $output-stream))
"""

# --- printing ---------------------------------------------------------------------------------

MESSAGE = b"hello from a component\n"
MESSAGE_WAT = MESSAGE.decode().replace("\n", "\\n")  # as a WAT string

# Exports `run: func() -> result`, which gets stdout (wasi:cli/stdout.get-stdout), writes
# MESSAGE to it with `blocking-write-and-flush` and drops the stream; `run` fails when the
# write does.
#
# `blocking-write-and-flush` returns `result<_, stream-error>`, three core values (the result's
# discriminant, then the stream-error's discriminant and `error` handle), so its core signature
# is (stream, data pointer, data length, return area). The return area (at 16) holds the
# result's discriminant byte at offset 0 and the stream-error (size 8, align 4) at offset 4:
# its discriminant at 4, an `error` handle at 8. A `result` with no payloads, `run`'s, is
# one core i32: 0 = ok, 1 = err; so `run` hands back the write's discriminant.
STDOUT_COMPONENT = f"""
(component
    {IO_IMPORTS}
    (import "wasi:cli/stdout@0.2.0" (instance $stdout
        (alias outer 1 $output-stream (type $output-stream))
        (export "output-stream" (type (eq $output-stream)))
        (export "get-stdout" (func (result (own $output-stream))))))
    {LIBC}
    (core func $get-stdout (canon lower (func $stdout "get-stdout")))
    (core func $blocking-write-and-flush
        (canon lower (func $io-streams "[method]output-stream.blocking-write-and-flush")
            (memory $memory)))
    (core func $drop-output-stream (canon resource.drop $output-stream))
    (core func $drop-error (canon resource.drop $error))
    (core module $m
        (import "libc" "memory" (memory 1))
        (import "wasi" "get-stdout" (func $get-stdout (result i32)))
        (import "wasi" "blocking-write-and-flush"
            (func $blocking-write-and-flush (param i32 i32 i32 i32)))
        (import "wasi" "drop-output-stream" (func $drop-output-stream (param i32)))
        (import "wasi" "drop-error" (func $drop-error (param i32)))
        (data (i32.const 256) "{MESSAGE_WAT}")
        (func (export "run") (result i32)
            (local $stdout i32)
            (local $failed i32)
            (local.set $stdout (call $get-stdout))
            (call $blocking-write-and-flush
                (local.get $stdout) (i32.const 256) (i32.const {len(MESSAGE)}) (i32.const 16))
            (call $drop-output-stream (local.get $stdout))
            (local.set $failed (i32.load8_u (i32.const 16)))
            ;; err(last-operation-failed(error)): the error is ours to drop.
            (if (i32.and (local.get $failed) (i32.eqz (i32.load8_u (i32.const 20))))
                (then (call $drop-error (i32.load (i32.const 24)))))
            (local.get $failed)))
    (core instance $i (instantiate $m
        (with "libc" (instance $libc))
        (with "wasi" (instance
            (export "get-stdout" (func $get-stdout))
            (export "blocking-write-and-flush" (func $blocking-write-and-flush))
            (export "drop-output-stream" (func $drop-output-stream))
            (export "drop-error" (func $drop-error))))))
    (func (export "run") (result (result)) (canon lift (core func $i "run")))
)
"""

# --- arguments and environment ----------------------------------------------------------------

# Exports wasi:cli/environment's `get-arguments` (`list<string>`) and `get-environment`
# (`list<tuple<string, string>>`) as `arguments` and `environment`. A list is two core values
# (pointer, length), so the lowered imports take a return area (at 16) where the host writes
# them, in memory it allocates with `cabi_realloc`; the lifted exports return the address of
# that same area.
ENVIRONMENT_COMPONENT = f"""
(component
    (import "wasi:cli/environment@0.2.0" (instance $environment
        (export "get-environment" (func (result (list (tuple string string)))))
        (export "get-arguments" (func (result (list string))))))
    {LIBC}
    (core func $get-environment (canon lower (func $environment "get-environment")
        (memory $memory) (realloc $realloc)))
    (core func $get-arguments (canon lower (func $environment "get-arguments")
        (memory $memory) (realloc $realloc)))
    (core module $m
        (import "wasi" "get-environment" (func $get-environment (param i32)))
        (import "wasi" "get-arguments" (func $get-arguments (param i32)))
        (func (export "environment") (result i32)
            (call $get-environment (i32.const 16))
            (i32.const 16))
        (func (export "arguments") (result i32)
            (call $get-arguments (i32.const 16))
            (i32.const 16)))
    (core instance $i (instantiate $m
        (with "wasi" (instance
            (export "get-environment" (func $get-environment))
            (export "get-arguments" (func $get-arguments))))))
    (func (export "environment") (result (list (tuple string string)))
        (canon lift (core func $i "environment") (memory $memory)))
    (func (export "arguments") (result (list string))
        (canon lift (core func $i "arguments") (memory $memory)))
)
"""

# --- wasi:http --------------------------------------------------------------------------------

# `error-code` cases by discriminant (the order of wasi:http/types).
CONNECTION_REFUSED = 6

# wasi:http/types (the parts an outgoing GET needs) and wasi:http/outgoing-handler. Uses the
# wasi:io aliases of IO_IMPORTS; defines $outgoing-request, $future-incoming-response,
# $incoming-response, $incoming-body and $fields.
HTTP_IMPORTS = """
    (import "wasi:http/types@0.2.0" (instance $http-types
        (alias outer 1 $pollable (type $pollable))
        (export "pollable" (type (eq $pollable)))
        (alias outer 1 $input-stream (type $input-stream))
        (export "input-stream" (type (eq $input-stream)))
        (type $scheme' (variant (case "HTTP") (case "HTTPS") (case "other" string)))
        (export "scheme" (type $scheme (eq $scheme')))
        (type $DNS-error-payload' (record
            (field "rcode" (option string))
            (field "info-code" (option u16))))
        (export "DNS-error-payload" (type $DNS-error-payload (eq $DNS-error-payload')))
        (type $TLS-alert-received-payload' (record
            (field "alert-id" (option u8))
            (field "alert-message" (option string))))
        (export "TLS-alert-received-payload"
            (type $TLS-alert-received-payload (eq $TLS-alert-received-payload')))
        (type $field-size-payload' (record
            (field "field-name" (option string))
            (field "field-size" (option u32))))
        (export "field-size-payload" (type $field-size-payload (eq $field-size-payload')))
        (type $error-code' (variant
            (case "DNS-timeout")
            (case "DNS-error" $DNS-error-payload)
            (case "destination-not-found")
            (case "destination-unavailable")
            (case "destination-IP-prohibited")
            (case "destination-IP-unroutable")
            (case "connection-refused")
            (case "connection-terminated")
            (case "connection-timeout")
            (case "connection-read-timeout")
            (case "connection-write-timeout")
            (case "connection-limit-reached")
            (case "TLS-protocol-error")
            (case "TLS-certificate-error")
            (case "TLS-alert-received" $TLS-alert-received-payload)
            (case "HTTP-request-denied")
            (case "HTTP-request-length-required")
            (case "HTTP-request-body-size" (option u64))
            (case "HTTP-request-method-invalid")
            (case "HTTP-request-URI-invalid")
            (case "HTTP-request-URI-too-long")
            (case "HTTP-request-header-section-size" (option u32))
            (case "HTTP-request-header-size" (option $field-size-payload))
            (case "HTTP-request-trailer-section-size" (option u32))
            (case "HTTP-request-trailer-size" $field-size-payload)
            (case "HTTP-response-incomplete")
            (case "HTTP-response-header-section-size" (option u32))
            (case "HTTP-response-header-size" $field-size-payload)
            (case "HTTP-response-body-size" (option u64))
            (case "HTTP-response-trailer-section-size" (option u32))
            (case "HTTP-response-trailer-size" $field-size-payload)
            (case "HTTP-response-transfer-coding" (option string))
            (case "HTTP-response-content-coding" (option string))
            (case "HTTP-response-timeout")
            (case "HTTP-upgrade-failed")
            (case "HTTP-protocol-error")
            (case "loop-detected")
            (case "configuration-error")
            (case "internal-error" (option string))))
        (export "error-code" (type $error-code (eq $error-code')))
        (export "fields" (type $fields (sub resource)))
        (export "outgoing-request" (type $outgoing-request (sub resource)))
        (export "request-options" (type $request-options (sub resource)))
        (export "incoming-response" (type $incoming-response (sub resource)))
        (export "incoming-body" (type $incoming-body (sub resource)))
        (export "future-incoming-response" (type $future-incoming-response (sub resource)))
        (export "[constructor]fields" (func (result (own $fields))))
        (export "[constructor]outgoing-request"
            (func (param "headers" (own $fields)) (result (own $outgoing-request))))
        (export "[method]outgoing-request.set-scheme"
            (func (param "self" (borrow $outgoing-request)) (param "scheme" (option $scheme))
                (result (result))))
        (export "[method]outgoing-request.set-authority"
            (func (param "self" (borrow $outgoing-request)) (param "authority" (option string))
                (result (result))))
        (export "[method]outgoing-request.set-path-with-query"
            (func (param "self" (borrow $outgoing-request))
                (param "path-with-query" (option string))
                (result (result))))
        (export "[method]incoming-response.status"
            (func (param "self" (borrow $incoming-response)) (result u16)))
        (export "[method]incoming-response.consume"
            (func (param "self" (borrow $incoming-response))
                (result (result (own $incoming-body)))))
        (export "[method]incoming-body.stream"
            (func (param "self" (borrow $incoming-body)) (result (result (own $input-stream)))))
        (export "[method]future-incoming-response.subscribe"
            (func (param "self" (borrow $future-incoming-response)) (result (own $pollable))))
        (export "[method]future-incoming-response.get"
            (func (param "self" (borrow $future-incoming-response))
                (result (option (result (result (own $incoming-response)
                                                (error $error-code)))))))))
    (alias export $http-types "fields" (type $fields))
    (alias export $http-types "outgoing-request" (type $outgoing-request))
    (alias export $http-types "request-options" (type $request-options))
    (alias export $http-types "incoming-response" (type $incoming-response))
    (alias export $http-types "incoming-body" (type $incoming-body))
    (alias export $http-types "future-incoming-response" (type $future-incoming-response))
    (alias export $http-types "error-code" (type $error-code))
    (import "wasi:http/outgoing-handler@0.2.0" (instance $outgoing-handler
        (alias outer 1 $outgoing-request (type $outgoing-request))
        (export "outgoing-request" (type (eq $outgoing-request)))
        (alias outer 1 $request-options (type $request-options))
        (export "request-options" (type (eq $request-options)))
        (alias outer 1 $future-incoming-response (type $future-incoming-response))
        (export "future-incoming-response" (type (eq $future-incoming-response)))
        (alias outer 1 $error-code (type $error-code'))
        (export "error-code" (type $error-code (eq $error-code')))
        (export "handle" (func
            (param "request" (own $outgoing-request))
            (param "options" (option (own $request-options)))
            (result (result (own $future-incoming-response) (error $error-code)))))))
"""

# Exports `fetch: func(authority: string, path: string) -> result<tuple<u16, list<u8>>, u8>`:
# a GET of http://{authority}{path}, answered with the response's status and body, or with the
# discriminant of the `error-code` the request failed with. Failures that are not the server's
# (a refused `set-*`, a broken body stream) trap.
#
# Layouts of what the host returns in the return area at 16 (64 bytes, align 8):
# - `error-code` is 32 bytes, align 8 (its widest case is `option<field-size-payload>`, 24
#   bytes; `option<u64>` aligns it to 8): discriminant at 0, payload at 8.
# - `handle`: `result<future-incoming-response, error-code>`: discriminant at 0, the future's
#   handle or the error-code at 8.
# - `future-incoming-response.get`: `option<result<result<incoming-response, error-code>>>`:
#   option discriminant at 0, outer result's at 8 (err = the response was already taken),
#   inner result's at 16, the incoming-response handle or the error-code at 24.
# - `consume` and `stream`: `result<resource>`: discriminant at 0, handle at 4.
# - `blocking-read`: `result<list<u8>, stream-error>`: discriminant at 0; ok: the chunk's
#   pointer at 4 and length at 8; err: the stream-error's discriminant at 4 (1 = closed).
# `fetch` returns the address of its result (at 96): discriminant at 0; ok: the status (u16)
# at 4, the body's pointer at 8 and length at 12; err: the error-code discriminant (u8) at 4.
# The body is read in chunks of at most 4096 bytes, each appended to a new buffer from
# `cabi_realloc`. Resources are dropped children first (a pollable before its future, a
# stream before its body, a body before its response), as wasi:http requires.
HTTP_COMPONENT = f"""
(component
    {IO_IMPORTS}
    {HTTP_IMPORTS}
    {LIBC}
    (core func $block (canon lower (func $io-poll "[method]pollable.block")))
    (core func $blocking-read (canon lower (func $io-streams "[method]input-stream.blocking-read")
        (memory $memory) (realloc $realloc)))
    (core func $new-fields (canon lower (func $http-types "[constructor]fields")))
    (core func $new-outgoing-request
        (canon lower (func $http-types "[constructor]outgoing-request")))
    (core func $set-scheme (canon lower (func $http-types "[method]outgoing-request.set-scheme")
        (memory $memory)))
    (core func $set-authority
        (canon lower (func $http-types "[method]outgoing-request.set-authority")
            (memory $memory)))
    (core func $set-path-with-query
        (canon lower (func $http-types "[method]outgoing-request.set-path-with-query")
            (memory $memory)))
    (core func $handle (canon lower (func $outgoing-handler "handle")
        (memory $memory) (realloc $realloc)))
    (core func $subscribe
        (canon lower (func $http-types "[method]future-incoming-response.subscribe")))
    (core func $get (canon lower (func $http-types "[method]future-incoming-response.get")
        (memory $memory) (realloc $realloc)))
    (core func $status (canon lower (func $http-types "[method]incoming-response.status")))
    (core func $consume (canon lower (func $http-types "[method]incoming-response.consume")
        (memory $memory)))
    (core func $stream (canon lower (func $http-types "[method]incoming-body.stream")
        (memory $memory)))
    (core func $drop-pollable (canon resource.drop $pollable))
    (core func $drop-input-stream (canon resource.drop $input-stream))
    (core func $drop-future (canon resource.drop $future-incoming-response))
    (core func $drop-response (canon resource.drop $incoming-response))
    (core func $drop-body (canon resource.drop $incoming-body))
    (core module $m
        (import "libc" "memory" (memory 1))
        (import "libc" "cabi_realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
        (import "wasi" "block" (func $block (param i32)))
        (import "wasi" "blocking-read" (func $blocking-read (param i32 i64 i32)))
        (import "wasi" "new-fields" (func $new-fields (result i32)))
        (import "wasi" "new-outgoing-request" (func $new-outgoing-request (param i32) (result i32)))
        ;; (request, option discriminant, scheme discriminant, other's pointer and length)
        (import "wasi" "set-scheme" (func $set-scheme (param i32 i32 i32 i32 i32) (result i32)))
        ;; (request, option discriminant, string pointer, string length)
        (import "wasi" "set-authority" (func $set-authority (param i32 i32 i32 i32) (result i32)))
        (import "wasi" "set-path-with-query"
            (func $set-path-with-query (param i32 i32 i32 i32) (result i32)))
        ;; (request, option discriminant, request-options handle, return area)
        (import "wasi" "handle" (func $handle (param i32 i32 i32 i32)))
        (import "wasi" "subscribe" (func $subscribe (param i32) (result i32)))
        (import "wasi" "get" (func $get (param i32 i32)))
        (import "wasi" "status" (func $status (param i32) (result i32)))
        (import "wasi" "consume" (func $consume (param i32 i32)))
        (import "wasi" "stream" (func $stream (param i32 i32)))
        (import "wasi" "drop-pollable" (func $drop-pollable (param i32)))
        (import "wasi" "drop-input-stream" (func $drop-input-stream (param i32)))
        (import "wasi" "drop-future" (func $drop-future (param i32)))
        (import "wasi" "drop-response" (func $drop-response (param i32)))
        (import "wasi" "drop-body" (func $drop-body (param i32)))

        ;; `fetch`'s result: err(the error-code's discriminant, at `error_code`).
        (func $failed (param $error_code i32) (result i32)
            (i32.store8 (i32.const 96) (i32.const 1))
            (i32.store8 (i32.const 100) (i32.load8_u (local.get $error_code)))
            (i32.const 96))

        (func (export "fetch")
            (param $authority i32) (param $authority_len i32)
            (param $path i32) (param $path_len i32)
            (result i32)
            (local $request i32) (local $future i32) (local $pollable i32)
            (local $response i32) (local $status i32) (local $body i32) (local $stream i32)
            (local $data i32) (local $len i32) (local $chunk_len i32) (local $joined i32)

            (local.set $request (call $new-outgoing-request (call $new-fields)))
            ;; set-scheme(some(HTTP)), set-authority(some(authority)),
            ;; set-path-with-query(some(path)); each returns 0 = ok.
            (if (call $set-scheme (local.get $request)
                    (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))
                (then unreachable))
            (if (call $set-authority (local.get $request)
                    (i32.const 1) (local.get $authority) (local.get $authority_len))
                (then unreachable))
            (if (call $set-path-with-query (local.get $request)
                    (i32.const 1) (local.get $path) (local.get $path_len))
                (then unreachable))

            ;; handle(request, none): the request moves to the host.
            (call $handle (local.get $request) (i32.const 0) (i32.const 0) (i32.const 16))
            (if (i32.load8_u (i32.const 16))
                (then (return (call $failed (i32.const 24)))))
            (local.set $future (i32.load (i32.const 24)))

            ;; Wait for the response head, then take it.
            (local.set $pollable (call $subscribe (local.get $future)))
            (call $block (local.get $pollable))
            (call $drop-pollable (local.get $pollable))
            (call $get (local.get $future) (i32.const 16))
            (call $drop-future (local.get $future))
            ;; some(...) and not yet taken, or the pollable lied.
            (if (i32.or (i32.eqz (i32.load8_u (i32.const 16))) (i32.load8_u (i32.const 24)))
                (then unreachable))
            (if (i32.load8_u (i32.const 32))
                (then (return (call $failed (i32.const 40)))))
            (local.set $response (i32.load (i32.const 40)))
            (local.set $status (call $status (local.get $response)))

            ;; The body: consume the response, open the body's stream, read it to its end.
            (call $consume (local.get $response) (i32.const 16))
            (if (i32.load8_u (i32.const 16)) (then unreachable))
            (local.set $body (i32.load (i32.const 20)))
            (call $stream (local.get $body) (i32.const 16))
            (if (i32.load8_u (i32.const 16)) (then unreachable))
            (local.set $stream (i32.load (i32.const 20)))
            (block $closed
                (loop $read
                    (call $blocking-read (local.get $stream) (i64.const 4096) (i32.const 16))
                    (if (i32.load8_u (i32.const 16))
                        (then
                            ;; stream-error: closed (1) is the end of the body;
                            ;; last-operation-failed (0) is a failure.
                            (br_if $closed (i32.eq (i32.load8_u (i32.const 20)) (i32.const 1)))
                            unreachable))
                    (local.set $chunk_len (i32.load (i32.const 24)))
                    (local.set $joined (call $realloc (i32.const 0) (i32.const 0)
                        (i32.const 1) (i32.add (local.get $len) (local.get $chunk_len))))
                    (memory.copy (local.get $joined) (local.get $data) (local.get $len))
                    (memory.copy (i32.add (local.get $joined) (local.get $len))
                        (i32.load (i32.const 20)) (local.get $chunk_len))
                    (local.set $data (local.get $joined))
                    (local.set $len (i32.add (local.get $len) (local.get $chunk_len)))
                    (br $read)))
            (call $drop-input-stream (local.get $stream))
            (call $drop-body (local.get $body))
            (call $drop-response (local.get $response))

            ;; ok((status, body))
            (i32.store8 (i32.const 96) (i32.const 0))
            (i32.store16 (i32.const 100) (local.get $status))
            (i32.store (i32.const 104) (local.get $data))
            (i32.store (i32.const 108) (local.get $len))
            (i32.const 96)))
    (core instance $i (instantiate $m
        (with "libc" (instance $libc))
        (with "wasi" (instance
            (export "block" (func $block))
            (export "blocking-read" (func $blocking-read))
            (export "new-fields" (func $new-fields))
            (export "new-outgoing-request" (func $new-outgoing-request))
            (export "set-scheme" (func $set-scheme))
            (export "set-authority" (func $set-authority))
            (export "set-path-with-query" (func $set-path-with-query))
            (export "handle" (func $handle))
            (export "subscribe" (func $subscribe))
            (export "get" (func $get))
            (export "status" (func $status))
            (export "consume" (func $consume))
            (export "stream" (func $stream))
            (export "drop-pollable" (func $drop-pollable))
            (export "drop-input-stream" (func $drop-input-stream))
            (export "drop-future" (func $drop-future))
            (export "drop-response" (func $drop-response))
            (export "drop-body" (func $drop-body))))))
    (func (export "fetch") (param "authority" string) (param "path" string)
        (result (result (tuple u16 (list u8)) (error u8)))
        (canon lift (core func $i "fetch") (memory $memory) (realloc $realloc)))
)
"""

Compile = Callable[[str], Component]


def wasi_linker(engine: Engine, *, http: bool = False) -> Linker:
    linker = Linker(engine)
    linker.add_wasip2()
    if http:
        linker.add_wasi_http()
    return linker


def run_stdout_component(
    engine: Engine, store: Store, libc_component: Compile, config: WasiConfig, times: int = 1
) -> list[Any]:
    """Instantiate STDOUT_COMPONENT in ``store`` with ``config`` and call `run` ``times``."""
    store.set_wasi(config)
    instance = wasi_linker(engine).instantiate(store, libc_component(STDOUT_COMPONENT))
    run = instance.get_func(store, "run")
    assert run is not None
    return [run(store) for _ in range(times)]


# --- printing ---------------------------------------------------------------------------------


def test_stdout_custom(engine: Engine, store: Store, libc_component: Compile) -> None:
    config = WasiConfig()
    chunks: list[Any] = []
    config.stdout_custom = chunks.append
    # Each `run` gets stdout anew, writes and drops it.
    results = run_stdout_component(engine, store, libc_component, config, times=2)
    assert results == [Variant("ok"), Variant("ok")]
    assert all(type(chunk) is bytes for chunk in chunks)
    assert b"".join(chunks) == MESSAGE * 2


def test_stdout_file(engine: Engine, store: Store, libc_component: Compile, tmp_path: Path) -> None:
    config = WasiConfig()
    config.stdout_file = tmp_path / "out.txt"
    assert run_stdout_component(engine, store, libc_component, config) == [Variant("ok")]
    assert (tmp_path / "out.txt").read_bytes() == MESSAGE


def test_stdout_custom_failure_is_a_stream_error(
    engine: Engine, store: Store, libc_component: Compile, capfd: pytest.CaptureFixture[str]
) -> None:
    calls: list[bytes] = []

    def broken(data: bytes) -> None:
        calls.append(data)
        raise RuntimeError("callback exploded")

    config = WasiConfig()
    config.stdout_custom = broken
    # The exception does not propagate into the call: the guest's write fails instead.
    assert run_stdout_component(engine, store, libc_component, config) == [Variant("err")]
    assert calls == [MESSAGE]
    captured = capfd.readouterr()
    assert "callback exploded" in captured.out + captured.err


# --- arguments and environment ----------------------------------------------------------------


def test_arguments_and_environment(engine: Engine, store: Store, libc_component: Compile) -> None:
    config = WasiConfig()
    config.argv = ["prog", "first", "with space", "héllo", ""]
    config.env = [("FIRST", "1"), ("EMPTY", ""), ("UNICODE", "ünï")]
    store.set_wasi(config)
    instance = wasi_linker(engine).instantiate(store, libc_component(ENVIRONMENT_COMPONENT))
    arguments = instance.get_func(store, "arguments")
    environment = instance.get_func(store, "environment")
    assert arguments is not None and environment is not None
    assert arguments(store) == ["prog", "first", "with space", "héllo", ""]
    assert environment(store) == [("FIRST", "1"), ("EMPTY", ""), ("UNICODE", "ünï")]


def test_empty_arguments_and_environment(
    engine: Engine, store: Store, libc_component: Compile
) -> None:
    store.set_wasi(WasiConfig())
    instance = wasi_linker(engine).instantiate(store, libc_component(ENVIRONMENT_COMPONENT))
    arguments = instance.get_func(store, "arguments")
    environment = instance.get_func(store, "environment")
    assert arguments is not None and environment is not None
    assert arguments(store) == []
    assert environment(store) == []


# --- stores without WASI ----------------------------------------------------------------------


@pytest.mark.parametrize("wat", [STDOUT_COMPONENT, ENVIRONMENT_COMPONENT])
def test_wasi_imports_need_set_wasi(
    engine: Engine, store: Store, libc_component: Compile, wat: str
) -> None:
    with pytest.raises(WasmtimeError, match=r"set_wasi\("):
        wasi_linker(engine).instantiate(store, libc_component(wat))


def test_component_without_wasi_imports_needs_no_set_wasi(engine: Engine, store: Store) -> None:
    component = Component(
        engine,
        """(component
            (core module $m (func (export "seven") (result i32) (i32.const 7)))
            (core instance $i (instantiate $m))
            (func (export "seven") (result u32) (canon lift (core func $i "seven"))))""",
    )
    instance = wasi_linker(engine, http=True).instantiate(store, component)
    seven = instance.get_func(store, "seven")
    assert seven is not None
    assert seven(store) == 7


def test_wasi_imports_need_no_set_wasi_http(
    engine: Engine, store: Store, libc_component: Compile
) -> None:
    config = WasiConfig()
    chunks: list[bytes] = []
    config.stdout_custom = chunks.append
    store.set_wasi(config)
    linker = wasi_linker(engine, http=True)
    instance = linker.instantiate(store, libc_component(STDOUT_COMPONENT))
    run = instance.get_func(store, "run")
    assert run is not None
    assert run(store) == Variant("ok")
    assert b"".join(chunks) == MESSAGE


# --- wasi:http --------------------------------------------------------------------------------


def http_fetch(engine: Engine, store: Store, libc_component: Compile) -> Callable[..., Any]:
    """`fetch` of HTTP_COMPONENT, instantiated in ``store`` (with WASI and wasi:http)."""
    store.set_wasi(WasiConfig())
    store.set_wasi_http()
    linker = wasi_linker(engine, http=True)
    instance = linker.instantiate(store, libc_component(HTTP_COMPONENT))
    fetch = instance.get_func(store, "fetch")
    assert fetch is not None
    return lambda authority, path: fetch(store, authority, path)


@pytest.mark.parametrize(
    "body",
    [b"", b"short and stout\n", bytes(range(256)) * 400],  # the last takes many reads
    ids=["empty", "short", "100k"],
)
def test_http_get(
    engine: Engine, store: Store, libc_component: Compile, http_server: Any, body: bytes
) -> None:
    server = http_server(lambda request: (418, [("X-Teapot", "yes")], body))
    fetch = http_fetch(engine, store, libc_component)
    assert fetch(f"127.0.0.1:{server.port}", "/brew?tea=earl%20grey") == (418, body)
    assert [(r.method, r.path, r.body) for r in server.requests] == [
        ("GET", "/brew?tea=earl%20grey", b"")
    ]


def test_http_get_twice(
    engine: Engine, store: Store, libc_component: Compile, http_server: Any
) -> None:
    server = http_server(lambda request: (201, [], request.path.encode()))
    fetch = http_fetch(engine, store, libc_component)
    authority = f"127.0.0.1:{server.port}"
    assert fetch(authority, "/one") == (201, b"/one")
    assert fetch(authority, "/two") == (201, b"/two")
    assert [r.path for r in server.requests] == ["/one", "/two"]


def test_http_connection_refused(engine: Engine, store: Store, libc_component: Compile) -> None:
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fetch = http_fetch(engine, store, libc_component)
    assert fetch(f"127.0.0.1:{port}", "/") == CONNECTION_REFUSED


def test_http_imports_need_set_wasi_http(
    engine: Engine, store: Store, libc_component: Compile
) -> None:
    store.set_wasi(WasiConfig())
    with pytest.raises(WasmtimeError, match=r"set_wasi_http\("):
        wasi_linker(engine, http=True).instantiate(store, libc_component(HTTP_COMPONENT))


def test_http_imports_need_add_wasi_http(
    engine: Engine, store: Store, libc_component: Compile
) -> None:
    store.set_wasi(WasiConfig())
    store.set_wasi_http()
    with pytest.raises(WasmtimeError, match="wasi:http/types@0.2.0"):
        wasi_linker(engine).instantiate(store, libc_component(HTTP_COMPONENT))
