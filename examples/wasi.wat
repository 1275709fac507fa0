;; A WASI preview 1 command written by hand: it says hello to each of its arguments (skipping
;; argv[0], the program name) on stdout, then exits with status 0.
;;
;; Memory layout: 0..8 one iovec, 8 the count of bytes written, 32 argc, 36 the size of the
;; argument strings, 64 "hello, ", 72 "\n", 256 argv pointers, 1024 the argument strings.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "hello, ")
  (data (i32.const 72) "\n")

  ;; Length of the NUL-terminated string at $ptr.
  (func $strlen (param $ptr i32) (result i32)
    (local $end i32)
    (local.set $end (local.get $ptr))
    (block $done
      (loop $scan
        (br_if $done (i32.eqz (i32.load8_u (local.get $end))))
        (local.set $end (i32.add (local.get $end) (i32.const 1)))
        (br $scan)))
    (i32.sub (local.get $end) (local.get $ptr)))

  ;; Writes $len bytes from $ptr to stdout. fd_write may take fewer bytes than offered (a
  ;; short write), so keep going until everything is out or an error is reported.
  (func $print (param $ptr i32) (param $len i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        ;; fd 1 is stdout; the iovec list is at 0 (one entry); the count written goes to 8.
        (br_if $done (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
        (br $more))))

  (func (export "_start")
    (local $i i32) (local $arg i32)
    ;; Fetch the arguments (a real program would check argc against the space it has).
    (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
    (drop (call $args_get (i32.const 256) (i32.const 1024)))
    (local.set $i (i32.const 1))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 32))))
        ;; argv[i] is the pointer at 256 + 4 * i.
        (local.set $arg
          (i32.load (i32.add (i32.const 256) (i32.shl (local.get $i) (i32.const 2)))))
        (call $print (i32.const 64) (i32.const 7))
        (call $print (local.get $arg) (call $strlen (local.get $arg)))
        (call $print (i32.const 72) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $proc_exit (i32.const 0))))
