;; Multi-value: functions with several results, in both directions across the boundary.
(module
  ;; The host's divmod gives back a quotient and a remainder at once.
  (import "host" "divmod" (func $divmod (param i32 i32) (result i32 i32)))
  ;; Splits a number of seconds into (hours, minutes, seconds) with two host calls.
  (func (export "hms") (param $seconds i32) (result i32 i32 i32)
    (local $minutes i32) (local $secs i32)
    ;; seconds -> (minutes, secs); both results land on the stack, the last one on top.
    (call $divmod (local.get $seconds) (i32.const 60))
    (local.set $secs)
    (local.set $minutes)
    ;; minutes -> (hours, minutes): leave both on the stack, then push secs as third result.
    (call $divmod (local.get $minutes) (i32.const 60))
    (local.get $secs)))
