;; WASI preview 1 imports and helper functions shared by the WASI guests of the tests: the
;; fragment between "(module" and a test's own data and functions.
;;
;; Memory map: 0 iovec, 8 nwritten/nread/bufused, 12 opened fd, 16 argc, 20 argv size, 24 envc,
;; 28 environ size, 32 "\n", 40..64 digits, 64..128 filestat/prestat, 128..256 results,
;; 256..1024 helper strings, 1024..4096 program strings, 4096 argv pointers, 8192 environ
;; pointers, 0x10000 argv bytes, 0x20000 environ bytes and names, 0x30000 an I/O buffer.
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory"
    (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file"
    (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename"
    (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link"
    (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 256) "errno=\00")
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func $strlen (param $p i32) (result i32) (local $q i32)
    (local.set $q (local.get $p))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (local.get $q))))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br $next)))
    (i32.sub (local.get $q) (local.get $p)))
  (func $puts (param $fd i32) (param $s i32) (result i32)
    (call $write (local.get $fd) (local.get $s) (call $strlen (local.get $s))))
  (func $newline (param $fd i32)
    (i32.store8 (i32.const 32) (i32.const 10))
    (drop (call $write (local.get $fd) (i32.const 32) (i32.const 1))))
  (func $print_u32 (param $fd i32) (param $n i32) (local $p i32)
    (local.set $p (i32.const 64))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (drop (call $write (local.get $fd) (local.get $p) (i32.sub (i32.const 64) (local.get $p)))))
  ;; A nonzero errno is reported as "errno=N" on stderr and becomes the exit status.
  (func $check (param $e i32)
    (if (local.get $e) (then
      (drop (call $puts (i32.const 2) (i32.const 256)))
      (call $print_u32 (i32.const 2) (local.get $e))
      (call $newline (i32.const 2))
      (call $proc_exit (local.get $e)))))
  (func $streq (param $a i32) (param $b i32) (result i32)
    (loop $next
      (if (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b)))
        (then (return (i32.const 0))))
      (if (i32.eqz (i32.load8_u (local.get $a))) (then (return (i32.const 1))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $next))
    (i32.const 0))
  (func $load_args (result i32)
    (call $check (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (call $check (call $args_get (i32.const 4096) (i32.const 0x10000)))
    (i32.load (i32.const 16)))
  ;; argv[i], or an empty string past the end.
  (func $arg (param $i i32) (result i32)
    (if (i32.ge_u (local.get $i) (i32.load (i32.const 16))) (then (return (i32.const 255))))
    (i32.load (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 2)))))
  (func $load_env (result i32)
    (call $check (call $environ_sizes_get (i32.const 24) (i32.const 28)))
    (call $check (call $environ_get (i32.const 8192) (i32.const 0x20000)))
    (i32.load (i32.const 24)))
  (func $env (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 8192) (i32.shl (local.get $i) (i32.const 2)))))
  ;; Copies fd to stdout until end of file.
  (func $cat (param $fd i32)
    (loop $more
      (i32.store (i32.const 0) (i32.const 0x30000))
      (i32.store (i32.const 4) (i32.const 0x10000))
      (call $check (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (i32.load (i32.const 8)) (then
        (call $check (call $write (i32.const 1) (i32.const 0x30000) (i32.load (i32.const 8))))
        (br $more)))))
  ;; The length of argv[i], after turning every "|" in it into a NUL byte.
  (func $path_len (param $i i32) (result i32) (local $p i32) (local $len i32) (local $j i32)
    (local.set $p (call $arg (local.get $i)))
    (local.set $len (call $strlen (local.get $p)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $j) (local.get $len)))
      (if (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $j))) (i32.const 124))
        (then (i32.store8 (i32.add (local.get $p) (local.get $j)) (i32.const 0))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next)))
    (local.get $len))
