;; An Extism plugin written by hand: `greet` reads its input (a name), asks the host function
;; `extism:host/user::greeting` to turn it into a greeting, and returns that as its output.
;; All data crosses through Extism memory (handles are i64 offsets into it).
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "greeting" (func $greeting (param i64) (result i64)))
  (func (export "greet") (result i32)
    (local $n i64) (local $i i64) (local $name i64) (local $out i64)
    ;; Copy the input into a block of its own.
    (local.set $n (call $input_length))
    (local.set $name (call $alloc (local.get $n)))
    (block $done
      (loop $copy
        (br_if $done (i64.eq (local.get $i) (local.get $n)))
        (call $store_u8
          (i64.add (local.get $name) (local.get $i))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $copy)))
    ;; The host answers with a new block; it becomes the output.
    (local.set $out (call $greeting (local.get $name)))
    (call $output_set (local.get $out) (call $length (local.get $out)))
    (i32.const 0)))
