;; One exported linear memory of 1 page (64 KiB) that may grow to at most 3 pages, and two
;; functions that access it from the wasm side.
(module
  (memory (export "memory") 1 3)
  ;; Stores a 32-bit value, little-endian, at byte address $addr.
  (func (export "store_i32") (param $addr i32) (param $value i32)
    (i32.store (local.get $addr) (local.get $value)))
  ;; Loads one byte; an address past the end of the memory traps.
  (func (export "load_u8") (param $addr i32) (result i32)
    (i32.load8_u (local.get $addr))))
