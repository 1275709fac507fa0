"""Type stubs for ``wasmtime._native``, the compiled core of wasmbridge.

User code imports these classes from ``wasmtime``; this module is private. The stubs are written by
hand and checked against the compiled module by ``python -m mypy.stubtest wasmtime`` in
``make test``.

Conventions used below:

* Handles (``Func``, ``Memory``, ``Table``, ``Global``, ``Tag``, ``Instance``) belong to one
  ``Store`` and take a *storelike* as their first argument: a ``Store``, a ``Caller`` (inside a
  host function) or a ``StoreContext``. Using a handle with a store that does not own it raises an
  exception. A ``SharedMemory`` belongs to an engine instead, and any store of it may use it.
* Classes with ``close()`` own a native resource. ``close()`` is idempotent, the objects work as
  context managers, and any use after ``close()`` raises ``ValueError``.
* Failures inside Wasmtime raise ``wasmtime.WasmtimeError``; wasm traps raise ``wasmtime.Trap``;
  a WASI exit raises ``wasmtime.ExitTrap``; an exception raised by a host function comes back out
  of the call as the same exception object.
"""

import ctypes
import os
from collections.abc import Callable, Coroutine, Iterable, Sequence
from types import TracebackType
from typing import Any, ClassVar, NoReturn, Self, TypeAlias, final

from wasmtime._instance import InstanceExports
from wasmtime._perms import DirPerms, FilePerms

__all__ = [
    "Component",
    "ExportIndex",
    "ComponentLinker",
    "LinkerInstance",
    "ComponentInstance",
    "ComponentFunc",
    "ResourceType",
    "ResourceAny",
    "ResourceHost",
    "ComponentType",
    "ComponentInstanceType",
    "ModuleType",
    "ComponentFuncType",
    "ComponentValType",
    "wat2wasm",
    "extism_log_setup",
    "extism_log_drain",
    "Config",
    "Engine",
    "Store",
    "Caller",
    "StoreContext",
    "Module",
    "ValType",
    "FuncType",
    "GlobalType",
    "TableType",
    "MemoryType",
    "Limits",
    "ImportType",
    "ExportType",
    "TagType",
    "WasiConfig",
    "Val",
    "Func",
    "Memory",
    "MemoryBuffer",
    "Global",
    "Table",
    "Instance",
    "InstancePre",
    "Linker",
    "SharedMemory",
    "Tag",
    "Frame",
    "VERSION",
    "WASMTIME_VERSION",
    "ExtismCompiled",
    "ExtismPlugin",
    "ExtismCaller",
    "ExtismCancelHandle",
    "CancelScope",
    "_unpickle_engine",
    "_unpickle_module",
    "_unpickle_component",
    "_unpickle_frame",
    "_before_fork",
    "_after_fork_in_parent",
    "_after_fork_in_child",
]

_Storelike: TypeAlias = Store | Caller | StoreContext
_AsExtern: TypeAlias = Func | Table | Memory | SharedMemory | Global | Tag
_AsExternType: TypeAlias = FuncType | TableType | MemoryType | GlobalType | TagType
_Path: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]

VERSION: str
WASMTIME_VERSION: str
"""Version of the Wasmtime crate this module was built with, e.g. ``"48.0.8"``."""

_Recipe: TypeAlias = tuple[tuple[str, bool, tuple[Any, ...]], ...]

def _unpickle_engine(format: int, version: str, recipe: _Recipe) -> Engine:
    """``pickle`` support: an engine made with the settings of ``recipe`` (shared with every
    other artifact unpickled with the same settings in this process while it lives). Raises
    ``WasmtimeError`` for a pickle of another wasmtime release."""

def _unpickle_module(format: int, version: str, recipe: _Recipe, code: bytes) -> Module:
    """``pickle`` support: the module of ``Module.__reduce__``. Loads native code: unpickle only
    trusted data, as with any pickle."""

def _unpickle_component(format: int, version: str, recipe: _Recipe, code: bytes) -> Component:
    """``pickle`` support: the component of ``Component.__reduce__``; trusted data only."""

def _unpickle_frame(
    func_index: int,
    func_name: str | None,
    module_name: str | None,
    module_offset: int,
    func_offset: int,
) -> Frame:
    """``pickle`` support: the frame of ``Frame.__reduce__`` (traps pickle with their frames)."""

def _before_fork() -> None:
    """``os.register_at_fork`` hook (registered at import): takes the module's process-wide
    locks so that no other thread holds one when the process is copied."""

def _after_fork_in_parent() -> None:
    """``os.register_at_fork`` hook: releases the locks ``_before_fork`` took."""

def _after_fork_in_child() -> None:
    """``os.register_at_fork`` hook: releases the locks and starts the epoch ticker, which the
    fork did not copy, so that Ctrl-C, timeouts and cancellation work in the child."""

def wat2wasm(wat: str | bytes) -> bytearray:
    """Translate WebAssembly text (WAT) into the binary format.

    Meant for tests and local development: compiling binary wasm directly is faster than parsing
    text. Raises ``WasmtimeError`` with the parser's message when the text is malformed.

    >>> wat2wasm('(module)')
    bytearray(b'\\x00asm\\x01\\x00\\x00\\x00')
    """

def extism_log_setup(target: str | None, filter: str | None = None) -> bool:
    """Set the process's Extism log sink (a path, ``"stdout"``, ``"stderr"``/``"-"``, or None for
    an in-memory buffer) and level filter; False if logging was already set up."""

def extism_log_drain() -> list[str]:
    """Take the log lines buffered for a custom logger."""

# ---------------------------------------------------------------------------------------------
# Configuration, engine, store
# ---------------------------------------------------------------------------------------------

@final
class Config:
    """Compilation and runtime settings, consumed by ``Engine(config)``.

    Every option is a write-only property: assigning sets it, reading raises ``AttributeError``.
    Boolean options reject non-``bool`` values with ``TypeError``. Passing the config to an
    ``Engine`` consumes it; later use raises ``ValueError``.
    """

    def __new__(cls) -> Self: ...
    def close(self) -> None:
        """Release the config. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def cranelift_flag_enable(self, flag: str) -> None:
        """Turn on a Cranelift setting by name (for example a CPU feature).

        Unsafe by contract: Wasmtime cannot check that the flag is valid for the host, and a wrong
        one can make generated code crash the process.
        """
    def cranelift_flag_set(self, key: str, value: str) -> None:
        """Set a Cranelift setting ``key`` to ``value``. Unsafe by contract, like
        ``cranelift_flag_enable``."""

    # -- wasm proposals -----------------------------------------------------------------------
    @property
    def wasm_threads(self) -> NoReturn:
        """Enable the threads proposal (shared memories, atomics). Write-only."""
    @wasm_threads.setter
    def wasm_threads(self, enable: bool) -> None: ...
    @property
    def wasm_tail_call(self) -> NoReturn:
        """Enable the tail-call proposal. Write-only."""
    @wasm_tail_call.setter
    def wasm_tail_call(self, enable: bool) -> None: ...
    @property
    def wasm_reference_types(self) -> NoReturn:
        """Enable the reference-types proposal (externref, funcref, multiple tables). Write-only."""
    @wasm_reference_types.setter
    def wasm_reference_types(self, enable: bool) -> None: ...
    @property
    def wasm_simd(self) -> NoReturn:
        """Enable 128-bit SIMD. Write-only."""
    @wasm_simd.setter
    def wasm_simd(self, enable: bool) -> None: ...
    @property
    def wasm_relaxed_simd(self) -> NoReturn:
        """Enable the relaxed-SIMD proposal. Write-only."""
    @wasm_relaxed_simd.setter
    def wasm_relaxed_simd(self, enable: bool) -> None: ...
    @property
    def wasm_relaxed_simd_deterministic(self) -> NoReturn:
        """Make relaxed-SIMD instructions give the same result on every platform, at some speed
        cost. Write-only."""
    @wasm_relaxed_simd_deterministic.setter
    def wasm_relaxed_simd_deterministic(self, enable: bool) -> None: ...
    @property
    def wasm_bulk_memory(self) -> NoReturn:
        """Enable the bulk-memory proposal (memory.copy, memory.fill, ...). Write-only."""
    @wasm_bulk_memory.setter
    def wasm_bulk_memory(self, enable: bool) -> None: ...
    @property
    def wasm_multi_value(self) -> NoReturn:
        """Allow functions and blocks with several results. Write-only."""
    @wasm_multi_value.setter
    def wasm_multi_value(self, enable: bool) -> None: ...
    @property
    def wasm_multi_memory(self) -> NoReturn:
        """Allow modules with more than one linear memory. Write-only."""
    @wasm_multi_memory.setter
    def wasm_multi_memory(self, enable: bool) -> None: ...
    @property
    def wasm_memory64(self) -> NoReturn:
        """Allow memories indexed by 64-bit addresses. Write-only."""
    @wasm_memory64.setter
    def wasm_memory64(self, enable: bool) -> None: ...
    @property
    def wasm_exceptions(self) -> NoReturn:
        """Enable the exception-handling proposal. Write-only."""
    @wasm_exceptions.setter
    def wasm_exceptions(self, enable: bool) -> None: ...
    @property
    def wasm_function_references(self) -> NoReturn:
        """Enable typed function references. Write-only."""
    @wasm_function_references.setter
    def wasm_function_references(self, enable: bool) -> None: ...
    @property
    def wasm_gc(self) -> NoReturn:
        """Enable the garbage-collection proposal. Write-only."""
    @wasm_gc.setter
    def wasm_gc(self, enable: bool) -> None: ...
    @property
    def wasm_wide_arithmetic(self) -> NoReturn:
        """Enable the wide-arithmetic proposal (128-bit add, sub and multiply). Write-only."""
    @wasm_wide_arithmetic.setter
    def wasm_wide_arithmetic(self, enable: bool) -> None: ...
    @property
    def wasm_custom_page_sizes(self) -> NoReturn:
        """Allow memories whose page size is not 64 KiB. Write-only."""
    @wasm_custom_page_sizes.setter
    def wasm_custom_page_sizes(self, enable: bool) -> None: ...
    @property
    def wasm_stack_switching(self) -> NoReturn:
        """Enable the stack-switching proposal. Write-only."""
    @wasm_stack_switching.setter
    def wasm_stack_switching(self, enable: bool) -> None: ...
    @property
    def wasm_component_model(self) -> NoReturn:
        """Enable the component model. Write-only."""
    @wasm_component_model.setter
    def wasm_component_model(self, enable: bool) -> None: ...
    @property
    def wasm_component_model_map(self) -> NoReturn:
        """Enable map types in the component model. Write-only."""
    @wasm_component_model_map.setter
    def wasm_component_model_map(self, enable: bool) -> None: ...
    @property
    def wasm_component_model_async(self) -> NoReturn:
        """Extension: the component model's async features (turns on
        ``concurrency_support``). Write-only."""
    @wasm_component_model_async.setter
    def wasm_component_model_async(self, enable: bool) -> None: ...
    @property
    def concurrency_support(self) -> NoReturn:
        """Extension: wasmtime's concurrent component execution. Off by default (each
        component call is ~2x faster); needed by components using ``future``/``stream``.
        Write-only."""
    @concurrency_support.setter
    def concurrency_support(self, enable: bool) -> None: ...

    # -- compilation ----------------------------------------------------------------------------
    @property
    def debug_info(self) -> NoReturn:
        """Emit DWARF debug information for generated code. Write-only."""
    @debug_info.setter
    def debug_info(self, enable: bool) -> None: ...
    @property
    def strategy(self) -> NoReturn:
        """Compiler choice: ``"auto"`` or ``"cranelift"``; anything else raises
        ``WasmtimeError``. Write-only."""
    @strategy.setter
    def strategy(self, strategy: str) -> None: ...
    @property
    def cranelift_debug_verifier(self) -> NoReturn:
        """Run Cranelift's IR verifier while compiling (slow; for debugging). Write-only."""
    @cranelift_debug_verifier.setter
    def cranelift_debug_verifier(self, enable: bool) -> None: ...
    @property
    def cranelift_opt_level(self) -> NoReturn:
        """Optimization level: ``"none"``, ``"speed"`` or ``"speed_and_size"``; anything else
        raises ``WasmtimeError``. Write-only."""
    @cranelift_opt_level.setter
    def cranelift_opt_level(self, opt_level: str) -> None: ...
    @property
    def cranelift_nan_canonicalization(self) -> NoReturn:
        """Replace every NaN result with one canonical bit pattern, for deterministic floats.
        Write-only."""
    @cranelift_nan_canonicalization.setter
    def cranelift_nan_canonicalization(self, enable: bool) -> None: ...
    @property
    def profiler(self) -> NoReturn:
        """Profiling support: ``"none"``, ``"jitdump"``, ``"vtune"`` or ``"perfmap"``; anything
        else raises ``WasmtimeError``. Write-only."""
    @profiler.setter
    def profiler(self, profiler: str) -> None: ...
    @property
    def cache(self) -> NoReturn:
        """Compiled-code cache: ``True`` for Wasmtime's default cache settings, or the path of a
        TOML cache configuration file. ``False`` raises ``WasmtimeError``. Write-only."""
    @cache.setter
    def cache(self, enabled: bool | str) -> None: ...
    @property
    def parallel_compilation(self) -> NoReturn:
        """Compile the functions of a module on several threads (on by default). Write-only."""
    @parallel_compilation.setter
    def parallel_compilation(self, enable: bool) -> None: ...
    @property
    def native_unwind_info(self) -> NoReturn:
        """Emit native unwind tables for generated code (on by default). Write-only."""
    @native_unwind_info.setter
    def native_unwind_info(self, enable: bool) -> None: ...
    @property
    def target(self) -> NoReturn:
        """Target triple to generate code for (default: the host). An unknown triple raises
        ``WasmtimeError``; code for another target can be compiled and serialized but not run.
        Write-only."""
    @target.setter
    def target(self, triple: str) -> None: ...

    # -- execution ------------------------------------------------------------------------------
    @property
    def consume_fuel(self) -> NoReturn:
        """Count fuel while wasm runs and trap when it runs out; stores start with none, see
        ``Store.set_fuel``. Write-only."""
    @consume_fuel.setter
    def consume_fuel(self, enable: bool) -> None: ...
    @property
    def epoch_interruption(self) -> NoReturn:
        """Let ``Engine.increment_epoch`` interrupt running wasm once a store's deadline
        (``Store.set_epoch_deadline``) has passed. Write-only."""
    @epoch_interruption.setter
    def epoch_interruption(self, enable: bool) -> None: ...
    @property
    def max_wasm_stack(self) -> NoReturn:
        """Maximum stack, in bytes, that wasm code may use (default 2 MiB).

        Unsafe by contract: it must stay below the stack of every thread that runs wasm; a larger
        value lets deep recursion overflow the real stack and crash the process. Write-only.
        """
    @max_wasm_stack.setter
    def max_wasm_stack(self, size: int) -> None: ...
    @property
    def gc_support(self) -> NoReturn:
        """Build in support for garbage-collected references (on by default). Write-only."""
    @gc_support.setter
    def gc_support(self, enable: bool) -> None: ...
    @property
    def shared_memory(self) -> NoReturn:
        """Allow shared memories to be created. Write-only."""
    @shared_memory.setter
    def shared_memory(self, enable: bool) -> None: ...
    @property
    def signals_based_traps(self) -> NoReturn:
        """Detect out-of-bounds accesses and similar faults with signal handlers (on by default).
        Write-only."""
    @signals_based_traps.setter
    def signals_based_traps(self, enable: bool) -> None: ...
    @property
    def macos_use_mach_ports(self) -> NoReturn:
        """On macOS, handle faults through Mach ports rather than Unix signals. Write-only."""
    @macos_use_mach_ports.setter
    def macos_use_mach_ports(self, enable: bool) -> None: ...

    # -- linear memory --------------------------------------------------------------------------
    @property
    def memory_reservation(self) -> NoReturn:
        """Bytes of virtual address space reserved up front for each linear memory. Write-only."""
    @memory_reservation.setter
    def memory_reservation(self, size: int) -> None: ...
    @property
    def memory_guard_size(self) -> NoReturn:
        """Size, in bytes, of the unmapped guard region after each linear memory. Write-only."""
    @memory_guard_size.setter
    def memory_guard_size(self, size: int) -> None: ...
    @property
    def memory_reservation_for_growth(self) -> NoReturn:
        """Extra bytes reserved when a memory is moved, so that it can grow in place afterwards.
        Write-only."""
    @memory_reservation_for_growth.setter
    def memory_reservation_for_growth(self, size: int) -> None: ...
    @property
    def memory_may_move(self) -> NoReturn:
        """Whether a memory may be moved to a new address when it grows past its reservation.
        Write-only."""
    @memory_may_move.setter
    def memory_may_move(self, enable: bool) -> None: ...
    @property
    def memory_init_cow(self) -> NoReturn:
        """Initialize memories from copy-on-write mappings of their data segments (on by
        default). Write-only."""
    @memory_init_cow.setter
    def memory_init_cow(self, enable: bool) -> None: ...

    # -- instance allocation --------------------------------------------------------------------
    @property
    def pooling_allocator(self) -> NoReturn:
        """Extension: allocate instances, memories, tables and stacks from pools reserved when the
        engine is created, which makes instantiation much cheaper.

        ``True`` uses Wasmtime's default pool sizes (1000 of each; about 4 TiB of virtual address
        space with the default memory settings), ``False`` restores on-demand allocation. A dict
        enables pooling with some limits changed, by name: ``total_core_instances``,
        ``total_memories``, ``total_tables``, ``total_stacks``, ``total_gc_heaps``,
        ``total_component_instances``, ``max_memory_size`` (bytes), ``max_core_instance_size``
        (bytes), ``table_elements``, ``max_memories_per_module``, ``max_tables_per_module``,
        ``max_unused_warm_slots``. An unknown name raises ``ValueError``; instantiating past a
        pool's size raises ``WasmtimeError``. Write-only.
        """
    @pooling_allocator.setter
    def pooling_allocator(self, value: bool | dict[str, int]) -> None: ...

@final
class Engine:
    """A compilation environment: compiled modules and stores are tied to one engine.

    Engines are thread-safe and meant to be shared; create one per configuration.

    Extension: an engine pickles as the settings made on its ``Config``.
    """

    def __new__(cls, config: Config | None = None) -> Self:
        """Create an engine with ``config`` (which is consumed) or with the default settings.
        An invalid configuration raises ``WasmtimeError``."""
    def close(self) -> None:
        """Drop this reference to the engine. Stores and modules created from it stay valid."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def increment_epoch(self) -> None:
        """Advance the engine's epoch by one. Safe to call from any thread, and from a host
        function, while wasm is running."""
    def is_pulley(self) -> bool:
        """Whether this engine runs code on the Pulley interpreter instead of native code."""
    def __reduce__(self) -> tuple[Callable[..., Engine], tuple[Any, ...]]:
        """Extension: an engine pickles as the settings made on its ``Config``; unpickling makes
        an engine with the same settings (one per process and settings)."""

@final
class Store:
    """Owner of all wasm objects (instances, functions, memories, ...) and their state.

    Handles to those objects stay valid only as long as their store is open. Wasm runs with the
    GIL released; a host function re-acquires it.
    """

    @property
    def engine(self) -> Engine:
        """The engine this store was created with."""
    def __new__(cls, engine: Engine | None = None, data: Any | None = None) -> Self:
        """Create a store on ``engine`` (a new default ``Engine`` when omitted), carrying an
        arbitrary ``data`` object that ``data()`` returns."""
    def close(self) -> None:
        """Free the store and everything in it. Idempotent; handles into it stop working."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def data(self) -> Any | None:
        """The object given as ``data`` when the store was created, or ``None``."""
    def gc(self) -> None:
        """Collect ``externref`` values no longer referenced from wasm, releasing the Python
        objects they hold. This also happens automatically."""
    def set_fuel(self, fuel: int) -> None:
        """Set the fuel left for wasm in this store. Raises ``WasmtimeError`` unless the engine
        was configured with ``Config.consume_fuel``."""
    def get_fuel(self) -> int:
        """Fuel left in this store. Raises ``WasmtimeError`` unless fuel is configured."""
    def set_epoch_deadline(self, ticks_after_current: int) -> None:
        """Trap wasm in this store once the engine's epoch has advanced ``ticks_after_current``
        times from now (needs ``Config.epoch_interruption``)."""
    def set_limits(
        self,
        memory_size: int = -1,
        table_elements: int = -1,
        instances: int = -1,
        tables: int = -1,
        memories: int = -1,
    ) -> None:
        """Limit the resources wasm may allocate in this store.

        ``memory_size`` is in bytes per linear memory, ``table_elements`` in elements per table;
        ``instances``, ``tables`` and ``memories`` count objects. Every argument defaults to -1,
        and a negative value means unlimited. Each call replaces all previous limits, so omitted
        ones become unlimited.
        Creating something over a limit raises ``WasmtimeError``; ``memory.grow`` over a limit
        returns -1 inside wasm.
        """
    def set_wasi(self, wasi: WasiConfig) -> None:
        """Give this store's WASI programs ``wasi`` (consumed: using it again raises
        ``ValueError``). Without it, WASI calls see an empty environment."""
    def set_wasi_http(self) -> None:
        """Enable wasi-http for components in this store. Needs ``set_wasi`` first."""

@final
class StoreContext:
    """A view of a store handed to callbacks by the library; usable wherever a store is expected
    until the callback returns. It cannot be created from Python."""

@final
class Caller:
    """The first argument of a host function created with ``access_caller=True``.

    It stands for the calling instance's store, so it can be passed wherever a store is expected,
    and it looks up the caller's exports. It is valid only while the host function runs; after
    that, ``get`` returns ``None`` and using it as a store raises ``ValueError``.
    """

    def get(self, name: str) -> _AsExtern | None:
        """The caller instance's export ``name``, or ``None`` if there is none."""
    def __getitem__(self, name: str, /) -> _AsExtern:
        """The caller instance's export ``name``; raises ``KeyError`` if there is none."""

# ---------------------------------------------------------------------------------------------
# Modules and types
# ---------------------------------------------------------------------------------------------

@final
class Module:
    """A compiled WebAssembly module, ready to be instantiated in any store of its engine.

    Extension: modules pickle, for process pools and clusters, as their compiled code plus the
    settings of their engine's ``Config``. Unpickling does not compile again; the module's
    ``engine`` is then an engine with those settings (one per process and settings). It raises
    ``WasmtimeError`` when the code does not fit this process (another wasmtime release, CPU
    features or settings). As with any pickle, unpickle only trusted data: the code is loaded as
    native code.
    """

    def __new__(cls, engine: Engine, wasm: str | bytes | bytearray) -> Self:
        """Compile ``wasm``: binary wasm, or WAT text given as ``str`` or as ``bytes`` that do not
        start with a zero byte. Invalid input raises ``WasmtimeError``; the GIL is released while
        compiling."""
    def close(self) -> None:
        """Drop this reference to the compiled code. Instances keep working."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @staticmethod
    def from_file(engine: Engine, path: _Path) -> Module:
        """Read the file at ``path`` (binary wasm or WAT text) and compile it."""
    @staticmethod
    def validate(engine: Engine, wasm: bytes | bytearray) -> None:
        """Check that ``wasm`` is a valid binary module for ``engine``'s configuration, without
        compiling it. Raises ``WasmtimeError`` if it is not."""
    @staticmethod
    def deserialize(engine: Engine, encoded: bytes | bytearray) -> Module:
        """Load a module from the output of ``serialize()``.

        Unsafe by contract: the bytes are trusted to be machine code produced by this Wasmtime
        version with a compatible configuration. Untrusted input can run arbitrary code.
        """
    @staticmethod
    def deserialize_file(engine: Engine, path: str) -> Module:
        """Like ``deserialize``, reading the bytes from ``path``. Unsafe by contract in the same
        way."""
    def serialize(self) -> bytearray:
        """The compiled module as bytes, to cache and load again with ``deserialize``."""
    @property
    def imports(self) -> list[ImportType]:
        """The module's imports, in declaration order."""
    @property
    def exports(self) -> list[ExportType]:
        """The module's exports, in declaration order."""
    @property
    def engine(self) -> Engine:
        """Extension: the engine the module was compiled for, so ``Store(module.engine)`` makes
        a store that can instantiate it."""
    def __reduce__(self) -> tuple[Callable[..., Module], tuple[Any, ...]]:
        """Extension: a module pickles as its compiled code plus its engine's settings, for
        process pools and cluster workers. Unpickling gives a module whose ``engine`` has those
        settings (one engine per process and settings), without compiling again; it raises
        ``WasmtimeError`` when the code does not fit this process (another wasmtime release,
        CPU features or settings). Like any pickle, unpickle only trusted data: the code runs
        as native code."""

@final
class ImportType:
    """One import of a module: where it comes from and what type it must have."""

    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def module(self) -> str:
        """The module name the import is taken from."""
    @property
    def name(self) -> str | None:
        """The name of the item inside that module."""
    @property
    def type(self) -> _AsExternType:
        """The type the imported item must have."""

@final
class ExportType:
    """One export of a module: its name and type."""

    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def name(self) -> str:
        """The export's name."""
    @property
    def type(self) -> _AsExternType:
        """The exported item's type."""

@final
class ValType:
    """The type of a wasm value: ``i32``, ``i64``, ``f32``, ``f64``, ``externref`` or ``funcref``.

    Instances come from the class methods; ``ValType()`` raises ``WasmtimeError``. Two ValTypes
    are equal when they denote the same type. ``str()`` gives the wasm name (``externref`` prints
    as ``anyref``, as in wasmtime-py).
    """

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @staticmethod
    def i32() -> ValType:
        """The 32-bit integer type."""
    @staticmethod
    def i64() -> ValType:
        """The 64-bit integer type."""
    @staticmethod
    def f32() -> ValType:
        """The 32-bit float type."""
    @staticmethod
    def f64() -> ValType:
        """The 64-bit float type."""
    @staticmethod
    def externref() -> ValType:
        """A nullable reference to a host (Python) object."""
    @staticmethod
    def funcref() -> ValType:
        """A nullable reference to a function."""
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...

@final
class FuncType:
    """A function signature: parameter and result types."""

    def __new__(cls, params: Sequence[ValType], results: Sequence[ValType]) -> Self:
        """Build a signature; a non-``ValType`` element raises ``TypeError``."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def params(self) -> list[ValType]:
        """The parameter types, in order."""
    @property
    def results(self) -> list[ValType]:
        """The result types, in order."""

@final
class GlobalType:
    """The type of a global: its value type and whether it can be changed."""

    def __new__(cls, valtype: ValType, mutable: bool) -> Self: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def content(self) -> ValType:
        """The type of the value the global holds."""
    @property
    def mutable(self) -> bool:
        """Whether ``Global.set_value`` is allowed."""

@final
class Limits:
    """Size bounds of a table (in elements) or a memory (in pages). ``max`` is ``None`` when
    unbounded."""

    min: int
    max: int | None
    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, min: int, max: int | None = None) -> Self: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class TableType:
    """The type of a table: its reference element type and its size limits."""

    def __new__(cls, valtype: ValType, limits: Limits) -> Self:
        """``valtype`` must be a reference type (``funcref`` or ``externref``); otherwise
        ``WasmtimeError`` is raised."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def element(self) -> ValType:
        """The type of the table's elements."""
    @property
    def limits(self) -> Limits:
        """Minimum and maximum number of elements."""

@final
class MemoryType:
    """The type of a linear memory: size limits in pages, index width, sharing, page size."""

    def __new__(
        cls,
        limits: Limits,
        is_64: bool = False,
        shared: bool = False,
        page_size_log2: int = 16,
    ) -> Self:
        """Build a memory type. Limits beyond the index space raise ``WasmtimeError``, as does a
        shared memory without a maximum."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def limits(self) -> Limits:
        """Minimum and maximum size, in pages."""
    @property
    def is_64(self) -> bool:
        """Whether the memory is indexed by 64-bit addresses."""
    @property
    def is_shared(self) -> bool:
        """Whether the memory can be shared between threads."""
    @property
    def page_size(self) -> int:
        """Page size in bytes (65536 unless a custom page size was chosen)."""
    @property
    def page_size_log2(self) -> int:
        """Base-2 logarithm of the page size."""

@final
class TagType:
    """The type of an exception tag: a function type whose parameters are the exception's
    values (the exceptions proposal)."""

    def __new__(cls, functype: FuncType) -> Self:
        """A tag type with the parameters of ``functype``, which is consumed (later use of it
        raises ``ValueError``, as in wasmtime-py). A non-``FuncType`` raises ``TypeError``."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def functype(self) -> FuncType:
        """The payload's signature: parameters are the values, results are empty."""

# ---------------------------------------------------------------------------------------------
# Values and wasm objects
# ---------------------------------------------------------------------------------------------

@final
class Val:
    """A wasm value tagged with its type.

    Calls accept plain Python values; use ``Val`` to pick a type explicitly (for example an
    ``i64`` where an ``int`` would be ambiguous). Integers wrap to the signed width of the type;
    ``f32`` values are rounded to single precision. A ``Val`` compares equal to another ``Val`` of
    the same type and value, and to its plain value.
    """

    __hash__: ClassVar[None]  # type: ignore[assignment]
    def __new__(cls, kind: ValType | int, val: Any) -> Self:
        """A value of type ``kind`` (a ``ValType``, or a wasm.h kind code as in wasmtime-py),
        converted from ``val`` as a call argument would be. Prefer the static constructors."""
    @staticmethod
    def i32(val: int) -> Val:
        """A 32-bit integer; a non-``int`` raises ``TypeError``."""
    @staticmethod
    def i64(val: int) -> Val:
        """A 64-bit integer; a non-``int`` raises ``TypeError``."""
    @staticmethod
    def f32(val: float) -> Val:
        """A 32-bit float; a non-``float`` (an ``int`` included) raises ``TypeError``."""
    @staticmethod
    def f64(val: float) -> Val:
        """A 64-bit float; a non-``float`` (an ``int`` included) raises ``TypeError``."""
    @staticmethod
    def externref(extern: Any | None) -> Val:
        """A reference to any Python object; ``None`` is the null reference."""
    @staticmethod
    def funcref(f: Func | None) -> Val:
        """A reference to a function; ``None`` is the null reference."""
    @staticmethod
    def ref_null(ty: ValType) -> Val:
        """The null reference of reference type ``ty``; other types raise ``WasmtimeError``."""
    @property
    def value(self) -> Any:
        """The plain Python value (``int``, ``float``, the referenced object, or ``None``)."""
    @property
    def type(self) -> ValType:
        """The wasm type of this value."""
    def as_i32(self) -> int | None:
        """The value if this is an ``i32``, else ``None``."""
    def as_i64(self) -> int | None:
        """The value if this is an ``i64``, else ``None``."""
    def as_f32(self) -> float | None:
        """The value if this is an ``f32``, else ``None``."""
    def as_f64(self) -> float | None:
        """The value if this is an ``f64``, else ``None``."""
    def as_externref(self) -> Any | None:
        """The referenced object if this is an ``externref``, else ``None``."""
    def as_funcref(self) -> Func | None:
        """The function if this is a non-null ``funcref``, else ``None``."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Func:
    """A wasm function, exported by an instance or defined by Python.

    Call it as ``func(store, *args)``: arguments are plain Python values converted to the
    parameter types; the result is ``None``, a single value, or a list for several results.
    """

    def __new__(
        cls,
        store: Store,
        ty: FuncType,
        func: Callable[..., Any],
        access_caller: bool = False,
    ) -> Self:
        """Define a host function of type ``ty`` in ``store`` that calls ``func``.

        ``func`` receives the arguments as Python values, preceded by a ``Caller`` when
        ``access_caller`` is true. It returns ``None`` for no result, a value for one, and a
        sequence for several. An exception it raises aborts the wasm call and is raised again,
        as the same object, from the outermost call into wasm.
        """
    def type(self, store: _Storelike) -> FuncType:
        """The function's signature."""
    def __call__(self, store: _Storelike, *params: Any) -> Any:
        """Call the function. The GIL is released while wasm runs. A wrong argument count
        raises ``WasmtimeError``, a value of the wrong type ``TypeError``, a trap ``Trap``."""
    def call_async(self, store: Store, *params: Any) -> Coroutine[Any, Any, Any]:
        """Extension: ``await func.call_async(store, *params)`` makes the same call on a worker
        thread (the running loop's default executor), so the event loop stays responsive.

        Cancelling the awaiting task stops the wasm at its next epoch tick (within a few
        milliseconds; a host function running at that moment finishes first), and the task
        ends with ``CancelledError`` once the store is idle again. A store runs one call at a
        time: a second concurrent call on the same store raises ``WasmtimeError``.
        """

@final
class MemoryBuffer:
    """A zero-copy view of a linear memory, returned by ``Memory.buffer``.

    It supports the buffer protocol (``memoryview(buf)``, ``numpy.frombuffer(buf, numpy.uint8)``,
    ``bytes(buf)``) and keeps its store alive. Its length is the memory's size when the buffer
    was created.
    """

    def __len__(self) -> int:
        """Size of the viewed memory, in bytes."""
    def __buffer__(self, flags: int, /) -> memoryview: ...

@final
class Memory:
    """A linear memory: a resizable array of bytes shared by wasm and the host."""

    def __new__(cls, store: _Storelike, ty: MemoryType) -> Self:
        """Create a memory of type ``ty`` in ``store``; failure (for instance a store limit)
        raises ``WasmtimeError``."""
    def type(self, store: _Storelike) -> MemoryType:
        """The memory's declared type (its minimum is the declared one, not the current size)."""
    def grow(self, store: _Storelike, delta: int) -> int:
        """Grow by ``delta`` pages and return the previous size in pages. A negative delta or a
        growth over the maximum or the store's limits raises ``WasmtimeError``."""
    def size(self, store: _Storelike) -> int:
        """Current size in pages."""
    def data_len(self, store: _Storelike) -> int:
        """Current size in bytes."""
    def page_size(self, store: _Storelike) -> int:
        """Page size in bytes."""
    def page_size_log2(self, store: _Storelike) -> int:
        """Base-2 logarithm of the page size."""
    def read(self, store: _Storelike, start: int | None = 0, stop: int | None = None) -> bytearray:
        """Copy the bytes ``[start:stop]``, with the same index rules as slicing a list:
        negative indices count from the end, out-of-range indices are clamped."""
    def write(self, store: _Storelike, value: bytes | bytearray, start: int | None = None) -> int:
        """Copy ``value`` into memory at ``start`` (default 0; negative counts from the end) and
        return the number of bytes written. Writing past the end raises ``IndexError``."""
    def buffer(self, store: _Storelike) -> MemoryBuffer:
        """A zero-copy, writable view of the whole memory (see ``MemoryBuffer``).

        Growing the memory does not resize an existing buffer; take a new one after ``grow``.
        """
    def data_ptr(self, store: _Storelike) -> ctypes._Pointer[ctypes.c_ubyte]:
        """The address of the memory's first byte, as a ctypes pointer.

        Unsafe by contract: accesses through the pointer are not bounds-checked, and it dangles
        once the memory moves or the store is closed. Prefer ``read``, ``write`` or ``buffer``.
        """
    def get_buffer_ptr(
        self, store: _Storelike, size: int | None = None, offset: int = 0
    ) -> ctypes.Array[ctypes.c_ubyte]:
        """A ctypes array of ``size`` bytes (default: the whole memory) starting at ``offset``.

        Unsafe by contract, like ``data_ptr``: neither ``size`` nor ``offset`` is checked against
        the memory's length, and the array does not keep the memory alive. Prefer ``buffer``.
        """

@final
class SharedMemory:
    """A linear memory of the threads proposal, shared between stores and threads.

    It belongs to an engine, not a store: any store of that engine may import it, its methods
    take no store, and it never moves, so it can only grow. Needs ``Config.wasm_threads`` and
    ``Config.shared_memory``. Access from Python races with wasm on other threads just as wasm
    threads race with each other; synchronize with wasm atomics.
    """

    def __new__(cls, engine: Engine, ty: MemoryType) -> Self:
        """Create a memory of type ``ty``, which must be shared and have a maximum; failure raises
        ``WasmtimeError``."""
    def close(self) -> None:
        """Drop this reference; stores and instances using the memory keep it alive."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def type(self) -> MemoryType:
        """The memory's declared type."""
    def grow(self, delta: int) -> int:
        """Grow by ``delta`` pages and return the previous size in pages. A negative delta or a
        growth over the maximum raises ``WasmtimeError``."""
    def size(self) -> int:
        """Current size in pages."""
    def data_len(self) -> int:
        """Current size in bytes."""
    def data_ptr(self) -> ctypes._Pointer[ctypes.c_ubyte]:
        """The address of the memory's first byte, as a ctypes pointer.

        Unsafe by contract: accesses through the pointer are not bounds-checked, and it dangles
        once every owner of the memory is gone. Prefer ``read`` and ``write``.
        """
    def read(self, start: int | None = 0, stop: int | None = None) -> bytearray:
        """Extension: copy the bytes ``[start:stop]``, with ``Memory.read``'s slicing rules."""
    def write(self, value: bytes | bytearray, start: int | None = None) -> int:
        """Extension: copy ``value`` into memory at ``start`` (default 0) and return the number
        of bytes written, with ``Memory.write``'s rules (``IndexError`` past the end)."""

@final
class Global:
    """A wasm global variable."""

    def __new__(cls, store: _Storelike, ty: GlobalType, val: Any) -> Self:
        """Create a global of type ``ty`` holding ``val`` (converted to ``ty.content``)."""
    def type(self, store: _Storelike) -> GlobalType:
        """The global's type."""
    def value(self, store: _Storelike) -> Any:
        """The current value, as a Python value."""
    def set_value(self, store: _Storelike, val: Any) -> None:
        """Replace the value; an immutable global raises ``WasmtimeError``, a value of the wrong
        type ``TypeError``."""

@final
class Table:
    """A wasm table of references (functions or host objects)."""

    def __new__(cls, store: _Storelike, ty: TableType, init: Any) -> Self:
        """Create a table of type ``ty`` with every slot set to ``init``."""
    def type(self, store: _Storelike) -> TableType:
        """The table's declared type (its minimum is the declared one, not the current size)."""
    def size(self, store: _Storelike) -> int:
        """Current number of elements."""
    def grow(self, store: _Storelike, amt: int, init: Any) -> int:
        """Add ``amt`` slots set to ``init`` and return the previous size. Growing past the
        maximum raises ``WasmtimeError``."""
    def get(self, store: _Storelike, idx: int) -> Any | None:
        """The element at ``idx``: a ``Func`` for a function reference, the Python object for an
        ``externref``. Returns ``None`` when ``idx`` is out of bounds."""
    def set(self, store: _Storelike, idx: int, val: Any) -> None:
        """Store ``val`` at ``idx``; an index out of bounds raises ``WasmtimeError``."""

@final
class Tag:
    """An exception tag (the exceptions proposal): what ``throw`` and ``catch`` in wasm, and
    ``WasmException.tag`` in Python, name.

    Tags are told apart by definition, not by type: two tags of the same type are different
    exceptions.
    """

    def __new__(cls, store: _Storelike, ty: TagType) -> Self:
        """Define a new tag of type ``ty`` in ``store``; a non-``TagType`` raises ``TypeError``."""
    def type(self, store: _Storelike) -> TagType:
        """The tag's type."""
    def eq(self, store: _Storelike, other: Tag) -> bool:
        """Whether ``other`` is the same tag definition (``False`` for a tag of another store).
        A non-``Tag`` raises ``TypeError``."""

# ---------------------------------------------------------------------------------------------
# Instances and traps
# ---------------------------------------------------------------------------------------------

@final
class Instance:
    """An instantiated module: its functions, memories, tables and globals live in a store."""

    def __new__(cls, store: _Storelike, module: Module, imports: Sequence[_AsExtern]) -> Self:
        """Instantiate ``module`` in ``store``, giving the imports in the module's import order.

        A missing or mistyped import raises ``WasmtimeError``; a trap in the start function raises
        ``Trap``.
        """
    def exports(self, store: _Storelike) -> InstanceExports:
        """The instance's exports as a read-only mapping from name to item, in export order;
        ``.by_index`` gives positional access. The same object is returned on every call."""

@final
class Linker:
    """Names for imports, resolved by module and item name when a module is instantiated.

    A linker belongs to an engine and may serve any number of its stores. Items of one store
    (``define``, ``define_instance``, ``define_module``, default values) are usable only with
    that store: ``get`` from another store raises ``WasmtimeError``. Functions from
    ``define_func`` and ``define_unknown_imports_as_traps`` work in every store. Defining a name
    twice raises ``WasmtimeError`` unless ``allow_shadowing`` is set.
    """

    @property
    def engine(self) -> Engine:
        """The engine given to the constructor."""
    def define_wasi(self) -> None:
        """Define the WASI preview 1 imports (``wasi_snapshot_preview1``), served from the
        context each store was given with ``Store.set_wasi``."""
    def __new__(cls, engine: Engine) -> Self: ...
    def close(self) -> None:
        """Release the linker. Instances and ``InstancePre`` objects made with it keep working."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def allow_shadowing(self) -> NoReturn:
        """Whether a new definition may replace one of the same name (off by default).
        Write-only."""
    @allow_shadowing.setter
    def allow_shadowing(self, allow: bool) -> None: ...
    def define(self, store: _Storelike, module: str, name: str, item: _AsExtern) -> None:
        """Define ``module::name`` as ``item``, an extern of ``store`` (or a ``SharedMemory`` of
        the linker's engine)."""
    def define_func(
        self,
        module: str,
        name: str,
        ty: FuncType,
        func: Callable[..., Any],
        access_caller: bool = False,
    ) -> None:
        """Define ``module::name`` as a host function for every store, with the calling
        conventions of ``Func(store, ty, func, access_caller)``."""
    def define_instance(self, store: _Storelike, name: str, instance: Instance) -> None:
        """Define every export of ``instance`` (of ``store``) under the module name ``name``."""
    def define_module(self, store: _Storelike, name: str, module: Module) -> None:
        """Define the exports of ``module`` under ``name``: a command (exporting ``_start``) is
        instantiated afresh on each call of an export; a reactor is instantiated in ``store``
        now, running its ``_initialize`` export if any."""
    def define_unknown_imports_as_traps(self, module: Module) -> None:
        """Define each import of ``module`` not yet defined as a function that traps."""
    def define_unknown_imports_as_default_values(self, store: _Storelike, module: Module) -> None:
        """Define each import of ``module`` not yet defined as a default item of ``store``:
        functions returning zeros, globals holding zero or null, memories and tables of the
        minimum size."""
    def instantiate(self, store: _Storelike, module: Module) -> Instance:
        """Instantiate ``module`` in ``store`` with its imports looked up by name. A missing or
        mistyped import raises ``WasmtimeError``; a trap in the start function raises ``Trap``.
        """
    def instantiate_pre(self, module: Module) -> InstancePre:
        """Resolve and type-check ``module``'s imports now, for cheap instantiation later (see
        ``InstancePre``). Raises ``WasmtimeError`` like ``instantiate``."""
    def get(self, store: _Storelike, module: str, name: str) -> _AsExtern:
        """The item defined as ``module::name``, as seen from ``store``. An undefined name, or a
        store item of another store, raises ``WasmtimeError``."""
    def get_default(self, store: _Storelike, name: str) -> Func:
        """The default function of the module named ``name``: its ``""`` or ``_start`` export,
        or a function that does nothing."""

@final
class InstancePre:
    """A module with its imports already resolved by ``Linker.instantiate_pre``: instantiation
    in any store of the engine skips the name lookups and type checks. It cannot be created
    directly."""

    def close(self) -> None:
        """Release it. Instances made from it keep working."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def instantiate(self, store: _Storelike) -> Instance:
        """A new instance in ``store``. Failure raises ``WasmtimeError``; a trap in the start
        function raises ``Trap``."""
    @property
    def module(self) -> Module:
        """The module this was made from."""

@final
class Frame:
    """One wasm frame of a trap's backtrace (see ``Trap.frames``).

    Frames pickle, so a ``Trap`` raised in a process-pool worker reaches the caller whole."""

    def __reduce__(self) -> tuple[Callable[..., Frame], tuple[Any, ...]]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    @property
    def func_index(self) -> int:
        """Index of the function in its module."""
    @property
    def func_name(self) -> str | None:
        """The function's name from the name section, if any."""
    @property
    def module_name(self) -> str | None:
        """The module's name from the name section, if any."""
    @property
    def module_offset(self) -> int:
        """Byte offset of the program counter in the module binary."""
    @property
    def func_offset(self) -> int:
        """Byte offset of the program counter from the start of the function's body."""

@final
class WasiConfig:
    """What a WASI preview 1 program sees: arguments, environment, stdio and preopened
    directories. Consumed by ``Store.set_wasi``. Files and directories are opened when set."""

    def __new__(cls) -> Self: ...
    @property
    def argv(self) -> NoReturn:
        """Write-only: the arguments, ``argv[0]`` included; replaces earlier settings."""
    @argv.setter
    def argv(self, argv: Sequence[str]) -> None: ...
    @property
    def env(self) -> NoReturn:
        """Write-only: ``(name, value)`` pairs; replaces earlier settings."""
    @env.setter
    def env(self, env: Iterable[tuple[str, str]]) -> None: ...
    @property
    def stdin_file(self) -> NoReturn:
        """Write-only: a file read as stdin; it must exist."""
    @stdin_file.setter
    def stdin_file(self, path: _Path) -> None: ...
    @property
    def stdout_file(self) -> NoReturn:
        """Write-only: a file, created or truncated now, that receives stdout."""
    @stdout_file.setter
    def stdout_file(self, path: _Path) -> None: ...
    @property
    def stderr_file(self) -> NoReturn:
        """Write-only: a file, created or truncated now, that receives stderr."""
    @stderr_file.setter
    def stderr_file(self, path: _Path) -> None: ...
    @property
    def stdout_custom(self) -> NoReturn:
        """Write-only: ``callback(data)`` gets each write to stdout and returns ``None`` (all
        taken) or the number of bytes taken. An exception is printed; the guest sees EIO."""
    @stdout_custom.setter
    def stdout_custom(self, callback: Callable[[bytes], int | None]) -> None: ...
    @property
    def stderr_custom(self) -> NoReturn:
        """Write-only: as ``stdout_custom``, for stderr."""
    @stderr_custom.setter
    def stderr_custom(self, callback: Callable[[bytes], int | None]) -> None: ...
    def inherit_argv(self) -> None:
        """Use this process's arguments."""
    def inherit_env(self) -> None:
        """Use this process's environment."""
    def inherit_stdin(self) -> None:
        """Use this process's stdin."""
    def inherit_stdout(self) -> None:
        """Use this process's stdout."""
    def inherit_stderr(self) -> None:
        """Use this process's stderr."""
    def preopen_dir(
        self,
        path: _Path,
        guest_path: str,
        dir_perms: DirPerms | int | None = None,
        file_perms: FilePerms | int | None = None,
    ) -> None:
        """Give the program the host directory ``path`` as ``guest_path`` (opened now). It is
        writable only if both permission sets (default ``READ_WRITE``) include write."""
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

# ---------------------------------------------------------------------------------------------
# Extism runtime (used by the `extism` package; errors are `extism.extism.Error`)
# ---------------------------------------------------------------------------------------------

_ExtismArtifacts: TypeAlias = tuple[int, str, str, list[tuple[str, bytes]]]

@final
class CancelScope:
    """Cancellation of the wasm one call runs on one thread (behind ``call_async``)."""

    def __new__(cls) -> Self: ...
    def run(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``f(*args, **kwargs)`` inside the scope: wasm it runs on this thread traps with an
        interrupt at the next epoch tick after ``cancel()``. Raises ``WasmtimeError`` without
        calling ``f`` if the scope is cancelled already."""
    def cancel(self) -> None:
        """Stop the call running in the scope; idempotent, callable from any thread."""
    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""

@final
class ExtismCompiled:
    """A compiled Extism plugin: parsed manifest, compiled modules, WASI flag, host functions.

    ``source`` is a wasm binary, WAT text, or a JSON or TOML manifest (UTF-8). ``functions`` holds
    tuples ``(namespace, name, params, results, dispatch)``: ``namespace`` ``None`` means
    ``extism:host/user``, ``params``/``results`` are type codes (0 I32, 1 I64, 2 F32, 3 F64;
    others raise ``TypeError``), and ``dispatch(caller, args)`` runs when wasm calls the import,
    returning one value per result (or ``None`` for none). A later tuple wins over an earlier one
    with the same namespace and name. Raises ``extism.Error("Unable to compile Extism plugin:
    ...")``.
    """

    def __new__(
        cls,
        source: bytes,
        wasi: bool,
        functions: list[Any],
        fuel_limit: int | None = None,
        http_response_headers: bool = False,
    ) -> Self: ...
    @staticmethod
    def restore(
        artifacts: _ExtismArtifacts,
        wasi: bool,
        functions: list[Any],
        fuel_limit: int | None = None,
        http_response_headers: bool = False,
    ) -> ExtismCompiled:
        """The plugin ``artifacts()`` describes (maybe from another process): its modules are
        loaded, not compiled. Raises ``extism.Error("cannot unpickle CompiledPlugin: ...")``
        when they do not fit this process (another wasmtime release, CPU features)."""
    def artifacts(self) -> _ExtismArtifacts:
        """What a pickle carries: ``(format, wasmtime version, manifest settings as JSON,
        [(module name, compiled code)])``."""
    @property
    def wasi(self) -> bool:
        """Whether plugins get WASI preview 1."""
    @property
    def timeout_ms(self) -> int | None:
        """The manifest's per-call timeout, in milliseconds."""
    @property
    def fuel_limit(self) -> int | None:
        """Fuel granted to each call, or ``None`` for no limit."""
    @property
    def http_response_headers(self) -> bool:
        """Whether ``http_headers`` gives plugins their last HTTP response's headers."""

@final
class ExtismPlugin:
    """A plugin instance made from an ``ExtismCompiled``, with its own store, vars and config.

    ``config`` (``{str: str | None}``) is merged over the manifest's config: ``None`` removes a
    key; anything else is ignored. Raises ``extism.Error("Unable to create Extism plugin:
    ...")``. After ``close()`` every method raises ``TypeError("plugin is closed")``.
    """

    def __new__(cls, compiled: ExtismCompiled, config: Any = None) -> Self: ...
    @property
    def id(self) -> str:
        """The plugin's UUID v4, as text."""
    def call(
        self,
        name: str | bytes,
        data: str | bytes | bytearray | memoryview,
        parse: Callable[[bytes], Any] | None = None,
        host_context: Any = None,
    ) -> Any:
        """Run the export ``name`` with ``data`` (str as UTF-8, or bytes-like) as input and return
        its output as bytes, or ``parse(output)``. Failures raise
        ``extism.Error``; an exception raised by a host function comes out as is. Calls from
        several threads run one at a time; a host function calling into its own plugin raises
        ``extism.Error("cannot make reentrant calls into plugin")``."""
    def function_exists(self, name: str) -> bool:
        """Whether the main module exports ``name`` with type ``() -> ()`` or ``() -> i32``."""
    def cancel_handle(self) -> ExtismCancelHandle:
        """A handle that stops this plugin's running call."""
    def close(self) -> None:
        """Free the plugin. Idempotent."""

@final
class ExtismCaller:
    """The plugin calling a host function, passed to ``dispatch``. Offsets are handles into
    Extism (kernel) memory. Valid only during that call, on its thread; afterwards every method
    raises ``extism.Error``. It cannot be created directly."""

    @property
    def plugin_id(self) -> str:
        """The calling plugin's UUID, as text."""
    def alloc(self, n: int) -> int:
        """Allocate ``n`` bytes; 0 for ``n == 0`` or when out of memory."""
    def free(self, offset: int) -> None:
        """Free the block at ``offset``; 0 and unknown offsets are ignored."""
    def length(self, offset: int) -> int:
        """Length of the active block starting at ``offset``, else 0."""
    def read(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes at ``offset``; out of bounds raises ``extism.Error``."""
    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Copy ``data`` to ``offset``; out of bounds raises ``extism.Error``."""
    def host_context(self) -> Any:
        """The ``host_context`` object of the running call, or ``None``."""

@final
class ExtismCancelHandle:
    """Stops the running call of one plugin (with ``"timeout"``); a no-op while it is idle or
    after it is closed. It cannot be created directly."""

    def cancel(self) -> bool:
        """Request the stop. Returns ``True``."""

# --------------------------------------------------------------------------------------------
# The component model (public as ``wasmtime.component``; value-type classes in ``_types``)
# --------------------------------------------------------------------------------------------

@final
class Component:
    """A compiled component (``Component(engine, wasm)``: text or binary).

    Extension: components pickle like ``Module``, as compiled code plus engine settings.
    """

    def __new__(cls, engine: Engine, wasm: str | bytes | bytearray) -> Self: ...
    @staticmethod
    def from_file(engine: Engine, path: str | os.PathLike[str]) -> Component: ...
    @staticmethod
    def deserialize(engine: Engine, encoded: bytes | bytearray) -> Component:
        """Unsafe by contract: only bytes from ``serialize`` of a trusted source."""
    @staticmethod
    def deserialize_file(engine: Engine, path: str) -> Component:
        """Unsafe by contract, like ``deserialize``."""
    def serialize(self) -> bytearray: ...
    @property
    def engine(self) -> Engine:
        """Extension: the engine the component was compiled for (see ``Module.engine``)."""
    def __reduce__(self) -> tuple[Callable[..., Component], tuple[Any, ...]]:
        """Extension: pickles as compiled code plus engine settings, like ``Module``."""
    def get_export_index(
        self, name: str, instance: ExportIndex | None = None
    ) -> ExportIndex | None: ...
    @property
    def type(self) -> ComponentType: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ExportIndex:
    """Where an export sits in a component (made by ``get_export_index``)."""

    def __new__(cls) -> Self: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ComponentLinker:
    """``wasmtime.component.Linker``."""

    engine: Engine
    def __new__(cls, engine: Engine) -> Self: ...
    @property
    def locked(self) -> bool: ...
    @property
    def allow_shadowing(self) -> NoReturn: ...
    @allow_shadowing.setter
    def allow_shadowing(self, allow: bool) -> None: ...
    def root(self) -> LinkerInstance: ...
    def instantiate(
        self, store: Store | StoreContext | Caller, component: Component
    ) -> ComponentInstance: ...
    def define_unknown_imports_as_traps(self, component: Component) -> None: ...
    def add_wasip2(self) -> None: ...
    def add_wasi_http(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class LinkerInstance:
    """A namespace of a component linker (``root()``, ``add_instance``)."""

    def __new__(cls) -> Self: ...
    def add_instance(self, name: str) -> LinkerInstance: ...
    def add_module(self, name: str, module: Module) -> None: ...
    def add_func(self, name: str, func: Callable[..., Any]) -> None: ...
    def add_resource(
        self, name: str, ty: ResourceType, dtor: Callable[[StoreContext, int], None]
    ) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ComponentInstance:
    """``wasmtime.component.Instance``."""

    def __new__(cls) -> Self: ...
    def get_export_index(
        self,
        store: Store | StoreContext | Caller,
        name: str,
        instance: ExportIndex | None = None,
    ) -> ExportIndex | None: ...
    def get_func(
        self, store: Store | StoreContext | Caller, index: ExportIndex | str
    ) -> ComponentFunc | None: ...

@final
class ComponentFunc:
    """``wasmtime.component.Func``."""

    def __new__(cls) -> Self: ...
    def type(self, store: Store | StoreContext | Caller) -> ComponentFuncType: ...
    def __call__(self, store: Store | StoreContext | Caller, *params: Any) -> Any: ...
    def call_async(self, store: Store, *params: Any) -> Coroutine[Any, Any, Any]:
        """Extension: the call on a worker thread, awaitable and cancellable, as
        ``wasmtime.Func.call_async``."""
    def post_return(self, store: Store | StoreContext | Caller) -> None: ...

@final
class ResourceType:
    def __new__(cls) -> Self: ...
    @staticmethod
    def host(n: int) -> ResourceType: ...
    def __eq__(self, value: object, /) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ResourceAny:
    def __new__(cls) -> Self: ...
    @property
    def type(self) -> ResourceType: ...
    @property
    def owned(self) -> bool: ...
    def drop(self, store: Store | StoreContext | Caller) -> None: ...
    def to_host(self, store: Store | StoreContext | Caller) -> ResourceHost: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ResourceHost:
    def __new__(cls) -> Self: ...
    @staticmethod
    def own(rep: int, ty: int) -> ResourceHost: ...
    @staticmethod
    def borrow(rep: int, ty: int) -> ResourceHost: ...
    @property
    def rep(self) -> int: ...
    @property
    def type(self) -> int: ...
    @property
    def owned(self) -> bool: ...
    def to_any(self, store: Store | StoreContext | Caller) -> ResourceAny: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class ComponentType:
    def __new__(cls) -> Self: ...
    def imports(self, engine: Engine) -> dict[str, Any]: ...
    def exports(self, engine: Engine) -> dict[str, Any]: ...
    def close(self) -> None: ...

@final
class ComponentInstanceType:
    def __new__(cls) -> Self: ...
    def exports(self, engine: Engine) -> dict[str, Any]: ...
    def close(self) -> None: ...

@final
class ModuleType:
    def __new__(cls) -> Self: ...
    def imports(self, engine: Engine) -> list[ImportType]: ...
    def exports(self, engine: Engine) -> list[ExportType]: ...
    def close(self) -> None: ...

@final
class ComponentFuncType:
    """``wasmtime.component.FuncType``."""

    def __new__(cls) -> Self: ...
    @property
    def params(self) -> list[tuple[str, Any]]: ...
    @property
    def result(self) -> Any | None: ...
    def close(self) -> None: ...

@final
class ComponentValType:
    """A handle on one component value type (wrapped by ``wasmtime.component._types``)."""

    def __new__(cls) -> Self: ...
    @property
    def kind(self) -> str: ...
    @property
    def element(self) -> Any: ...
    @property
    def length(self) -> int: ...
    @property
    def key(self) -> Any: ...
    @property
    def value(self) -> Any: ...
    @property
    def fields(self) -> list[tuple[str, Any]]: ...
    @property
    def elements(self) -> list[Any]: ...
    @property
    def cases(self) -> list[tuple[str, Any | None]]: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def payload(self) -> Any | None: ...
    @property
    def ok(self) -> Any | None: ...
    @property
    def err(self) -> Any | None: ...
    @property
    def resource(self) -> ResourceType: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
