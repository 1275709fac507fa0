;; The kernel imports and helper functions shared by the hand-written Extism guests of the tests
;; (tests/extism and tests/test_cli_call.py): the fragment of a module that follows the guest's own
;; imports (WAT wants every import before the first function) and precedes its memory, data and
;; functions.
;;
;; The helpers are $block, $out, $out_block, $input_range and $input_block; they call the kernel
;; functions imported here as $alloc, $length, $store_u8, $input_length, $input_load_u8 and
;; $output_set. A guest must not define or import anything else under those names, and declares
;; its own memory (the helpers use memory 0). A guest on the 0.x ABI imports the same functions
;; from "env" as "extism_<name>": it rewrites each (import "extism:host/env" "<name>" of the text.
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  ;; A new Extism block holding a copy of guest memory [ptr, ptr + len).
  (func $block (param $ptr i32) (param $len i32) (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $end (loop $next
      (br_if $end (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $h))

  ;; Output: a copy of guest memory [ptr, ptr + len).
  (func $out (param $ptr i32) (param $len i32)
    (call $output_set (call $block (local.get $ptr) (local.get $len))
      (i64.extend_i32_u (local.get $len))))

  ;; Output: the whole block $h (nothing for handle 0).
  (func $out_block (param $h i64)
    (call $output_set (local.get $h) (call $length (local.get $h))))

  ;; A new Extism block holding a copy of the input bytes [start, start + n).
  (func $input_range (param $start i64) (param $n i64) (result i64) (local $h i64) (local $i i64)
    (local.set $h (call $alloc (local.get $n)))
    (block $end (loop $next
      (br_if $end (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $h) (local.get $i))
        (call $input_load_u8 (i64.add (local.get $start) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (local.get $h))

  ;; A new Extism block holding a copy of the whole input.
  (func $input_block (result i64)
    (call $input_range (i64.const 0) (call $input_length)))
