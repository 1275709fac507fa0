;; Two loops over an array of f64 values stored in linear memory at byte offset $ptr.
(module
  (memory (export "memory") 1)
  ;; Returns the sum of the $n values at $ptr.
  (func (export "sum") (param $ptr i32) (param $n i32) (result f64)
    (local $total f64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (f64.add (local.get $total) (f64.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $total))
  ;; Multiplies each of the $n values at $ptr by $factor, in place.
  (func (export "scale") (param $ptr i32) (param $n i32) (param $factor f64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (f64.store (local.get $ptr)
          (f64.mul (f64.load (local.get $ptr)) (local.get $factor)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))))
