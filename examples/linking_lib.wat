;; A library module: it owns a memory and a counter, and exports both along with functions.
;; linking.py registers its instance under the module name "lib".
(module
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  ;; Adds two numbers and counts how many times it was asked to.
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (local.get $a) (local.get $b)))
  (func (export "calls") (result i32)
    (global.get $calls)))
