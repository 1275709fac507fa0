;; An application module with no memory of its own: it imports the library's memory and its
;; `add` function by name, and a `log` function that the host defines.
(module
  (import "lib" "memory" (memory 1))
  (import "lib" "add" (func $add (param i32 i32) (result i32)))
  (import "host" "log" (func $log (param $ptr i32) (param $len i32)))
  ;; An active data segment: copied into the library's memory when the app is instantiated.
  (data (i32.const 64) "app: summing")
  ;; Returns 1 + 2 + ... + n, using the library's `add` for every step.
  (func (export "sum_to") (param $n i32) (result i32)
    (local $total i32)
    (call $log (i32.const 64) (i32.const 12))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (call $add (local.get $total) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $total)))
