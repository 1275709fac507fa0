;; Asks the host for help: `add_double(a, b)` returns a + double(b), where `double` is a
;; function the embedder supplies as the module's only import.
(module
  (import "host" "double" (func $double (param i32) (result i32)))
  (func (export "add_double") (param $a i32) (param $b i32) (result i32)
    (i32.add
      (local.get $a)
      (call $double (local.get $b)))))
