;; Euclid's algorithm: gcd(a, b) = gcd(b, a mod b), and gcd(a, 0) = a.
;; The arguments are read as unsigned 32-bit integers.
(module
  (func $gcd (export "gcd") (param $a i32) (param $b i32) (result i32)
    (local $rem i32)
    (block $done
      (loop $step
        ;; Once b reaches zero, a holds the result.
        (br_if $done (i32.eqz (local.get $b)))
        (local.set $rem (i32.rem_u (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $rem))
        (br $step)))
    (local.get $a)))
