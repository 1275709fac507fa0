//! The Extism kernel: the memory that host and guest exchange data through, and its allocator.
//!
//! Upstream ships the kernel as a small wasm module linked into every plugin under
//! `extism:host/env`, with its own linear memory. We implement the same functions natively, over
//! any growable byte memory ([`KernelMemory`]; the runtime uses a `wasmtime::Memory` of the
//! plugin's store so that `memory.max_pages` accounting sees kernel growth). The layout and the
//! allocator reproduce upstream's byte for byte, so offsets match the reference SDK (the first
//! allocation is at 77):
//!
//! * a root header at offset [`ROOT`] (64 bytes): an `initialized` byte, then, as little-endian
//!   u64 at 8-byte steps, the bump `position` (relative to the first block), the managed
//!   `length`, and the `error`, `input` and `output` handles and lengths;
//! * blocks from [`FIRST`]: a 12-byte header (`status` u8, `size` u32 at +4, `used` u32 at +8)
//!   and the data. A handle is the offset of a block's data; 0 means none.
//!
//! Allocation bumps until the managed region is exhausted; only then are free blocks reused
//! (split when at least 128 bytes would remain) or the memory grown. `reset` (before every call)
//! forgets every block. Accesses out of range read 0 or are ignored, as upstream's bounds checks
//! do; the one access that traps in upstream's wasm (a load or store ending exactly at the end of
//! memory) is an [`OutOfBounds`] error here.
//!
//! Guests can write anywhere in this memory, headers included, so every read here is checked:
//! corrupt headers give wrong answers, never a panic.

pub const PAGE: u64 = 65536;
/// Pages of a new kernel memory.
pub const INITIAL_PAGES: u64 = 16;
/// Offset of the root header.
pub const ROOT: u64 = 1;
/// Offset of the first block header.
pub const FIRST: u64 = ROOT + 64;
/// Size of a block header.
const HEADER: u64 = 12;
/// A free block is split when at least this many bytes would be left over.
const SPLIT: u64 = 128;

const INITIALIZED: u64 = ROOT;
const POSITION: u64 = ROOT + 8;
const LENGTH: u64 = ROOT + 16;
const ERROR: u64 = ROOT + 24;
const INPUT_OFFSET: u64 = ROOT + 32;
const INPUT_LENGTH: u64 = ROOT + 40;
const OUTPUT_OFFSET: u64 = ROOT + 48;
const OUTPUT_LENGTH: u64 = ROOT + 56;

const UNUSED: u8 = 0;
const ACTIVE: u8 = 1;
const FREE: u8 = 2;

/// A growable linear memory the kernel lives in.
pub trait KernelMemory {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Grows by `pages` pages of zeros; false if not allowed (limits).
    fn grow(&mut self, pages: u64) -> bool;
}

/// A plain in-process kernel memory (tests, and tools that need no store).
pub struct VecMemory {
    pub data: Vec<u8>,
    pub max_pages: Option<u64>,
}

impl VecMemory {
    pub fn new() -> Self {
        VecMemory { data: vec![0; (INITIAL_PAGES * PAGE) as usize], max_pages: None }
    }
}

impl Default for VecMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl KernelMemory for VecMemory {
    fn bytes(&self) -> &[u8] {
        &self.data
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    fn grow(&mut self, pages: u64) -> bool {
        let now = self.data.len() as u64 / PAGE;
        if self.max_pages.is_some_and(|m| now + pages > m) {
            return false;
        }
        self.data.resize(((now + pages) * PAGE) as usize, 0);
        true
    }
}

/// A kernel access that traps in upstream's wasm kernel.
#[derive(Debug, PartialEq, Eq)]
pub struct OutOfBounds;

impl std::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bounds memory access in the Extism kernel")
    }
}

impl std::error::Error for OutOfBounds {}

/// The kernel functions over a memory `M`.
pub struct Kernel<'a, M: KernelMemory + ?Sized> {
    mem: &'a mut M,
}

impl<'a, M: KernelMemory + ?Sized> Kernel<'a, M> {
    /// The kernel in `mem`, initialised on first use as upstream's is.
    pub fn new(mem: &'a mut M) -> Self {
        let mut k = Kernel { mem };
        k.init();
        k
    }

    /// The kernel in `mem`, which [`Kernel::new`] already initialised (the runtime does so when
    /// it makes the memory, then skips the check on every kernel call).
    pub fn attach(mem: &'a mut M) -> Self {
        Kernel { mem }
    }

    fn size(&self) -> u64 {
        self.mem.bytes().len() as u64
    }

    fn get_u8(&self, at: u64) -> Option<u8> {
        self.mem.bytes().get(usize::try_from(at).ok()?).copied()
    }

    fn get_u32(&self, at: u64) -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let b = self.mem.bytes().get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(b.try_into().ok()?))
    }

    fn get_u64(&self, at: u64) -> Option<u64> {
        let at = usize::try_from(at).ok()?;
        let b = self.mem.bytes().get(at..at.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    fn put(&mut self, at: u64, bytes: &[u8]) {
        let Ok(at) = usize::try_from(at) else { return };
        let Some(end) = at.checked_add(bytes.len()) else { return };
        if let Some(dst) = self.mem.bytes_mut().get_mut(at..end) {
            dst.copy_from_slice(bytes);
        }
    }

    fn root(&self, field: u64) -> u64 {
        self.get_u64(field).unwrap_or(0)
    }

    fn set_root(&mut self, field: u64, value: u64) {
        self.put(field, &value.to_le_bytes());
    }

    fn init(&mut self) {
        if self.get_u8(INITIALIZED) == Some(1) {
            return;
        }
        if self.size() == 0 && !self.mem.grow(1) {
            return;
        }
        self.put(INITIALIZED, &[1]);
        for field in [ERROR, INPUT_OFFSET, INPUT_LENGTH, OUTPUT_OFFSET, OUTPUT_LENGTH, POSITION] {
            self.set_root(field, 0);
        }
        self.set_root(LENGTH, PAGE - 64);
        self.put(FIRST, &[0; HEADER as usize]);
    }

    fn status(&self, block: u64) -> u8 {
        self.get_u8(block).unwrap_or(UNUSED)
    }

    fn block_size(&self, block: u64) -> u64 {
        self.get_u32(block + 4).map_or(0, u64::from)
    }

    fn set_block(&mut self, block: u64, status: u8, size: u64, used: u64) {
        self.put(block, &[status]);
        self.put(block + 4, &(size as u32).to_le_bytes());
        self.put(block + 8, &(used as u32).to_le_bytes());
    }

    fn mark(&mut self, block: u64, status: u8, used: u64) {
        self.put(block, &[status]);
        self.put(block + 8, &(used as u32).to_le_bytes());
    }

    /// The block whose data starts at `handle`, if it is active (upstream's walk, bounds and all).
    fn find(&self, handle: u64) -> Option<u64> {
        if handle < 64 || handle > self.size() {
            return None;
        }
        let end = FIRST.checked_add(handle)?;
        let mut block = FIRST;
        while block < end {
            if self.status(block) == ACTIVE && block + HEADER == handle {
                return Some(block);
            }
            block = block.checked_add(HEADER + self.block_size(block))?;
        }
        None
    }

    /// Whether `handle` lies in the managed region `[FIRST, FIRST + length)`.
    fn managed(&self, handle: u64) -> bool {
        let end = FIRST.saturating_add(self.root(LENGTH));
        (FIRST..end).contains(&handle)
    }

    /// `alloc`: a new block of `n` bytes, or 0 (n == 0, or the memory cannot grow).
    pub fn alloc(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let Some(need) = n.checked_add(HEADER) else { return 0 };
        let position = self.root(POSITION);
        let mut length = self.root(LENGTH);
        let mem_left = length.wrapping_sub(position).wrapping_sub(64);
        if need >= mem_left {
            if need <= position {
                let end = FIRST + position;
                let mut block = FIRST;
                while block < end {
                    let size = self.block_size(block);
                    match self.status(block) {
                        UNUSED => {
                            self.mark(block, ACTIVE, n);
                            return block + HEADER;
                        }
                        FREE if size >= n => {
                            if size - n >= SPLIT {
                                let kept = size - n - HEADER;
                                self.set_block(block, FREE, kept, self.get_u32(block + 8).map_or(0, u64::from));
                                let carved = block + HEADER + kept;
                                self.set_block(carved, ACTIVE, n, n);
                                return carved + HEADER;
                            }
                            self.mark(block, ACTIVE, n);
                            return block + HEADER;
                        }
                        _ => {}
                    }
                    let Some(next) = block.checked_add(HEADER + size) else { break };
                    block = next;
                }
            }
            let pages = (need - mem_left).div_ceil(PAGE);
            if !self.mem.grow(pages) {
                return 0;
            }
            length += pages * PAGE;
            self.set_root(LENGTH, length);
        }
        let block = FIRST + position;
        if block.saturating_add(need) > self.size() {
            // Only reachable when a guest corrupted the root header.
            return 0;
        }
        self.set_root(POSITION, position + need);
        self.set_block(block, ACTIVE, n, n);
        block + HEADER
    }

    /// `free`: marks the block free; freeing the input block empties the input.
    pub fn free(&mut self, handle: u64) {
        if handle == 0 {
            return;
        }
        if let Some(block) = self.find(handle) {
            self.put(block, &[FREE]);
            if handle == self.root(INPUT_OFFSET) {
                self.set_root(INPUT_LENGTH, 0);
            }
        }
    }

    /// `length`: the used size of the active block at `handle`, else 0.
    pub fn length(&self, handle: u64) -> u64 {
        match self.find(handle) {
            Some(block) => self.get_u32(block + 8).map_or(0, u64::from),
            None => 0,
        }
    }

    /// `length_unsafe`: as `length`, reading the header in front of `handle` without a walk.
    pub fn length_unsafe(&self, handle: u64) -> u64 {
        if handle < FIRST + HEADER || handle > self.size() {
            return 0;
        }
        let block = handle - HEADER;
        if self.status(block) != ACTIVE {
            return 0;
        }
        self.get_u32(block + 8).map_or(0, u64::from)
    }

    /// Whether a `width`-byte access at `p` is in range; `Err` where upstream's wasm traps.
    fn check(&self, p: u64, width: u64) -> Result<bool, OutOfBounds> {
        let last = p.wrapping_add(width - 1);
        let size = self.size();
        if last < 64 || last > size {
            return Ok(false);
        }
        if last == size || p >= size {
            return Err(OutOfBounds);
        }
        Ok(true)
    }

    pub fn load_u8(&self, p: u64) -> Result<u8, OutOfBounds> {
        Ok(if self.check(p, 1)? { self.get_u8(p).unwrap_or(0) } else { 0 })
    }

    pub fn load_u64(&self, p: u64) -> Result<u64, OutOfBounds> {
        Ok(if self.check(p, 8)? { self.get_u64(p).unwrap_or(0) } else { 0 })
    }

    pub fn store_u8(&mut self, p: u64, v: u8) -> Result<(), OutOfBounds> {
        if self.check(p, 1)? {
            self.put(p, &[v]);
        }
        Ok(())
    }

    pub fn store_u64(&mut self, p: u64, v: u64) -> Result<(), OutOfBounds> {
        if self.check(p, 8)? {
            self.put(p, &v.to_le_bytes());
        }
        Ok(())
    }

    pub fn input_offset(&self) -> u64 {
        self.root(INPUT_OFFSET)
    }

    pub fn input_length(&self) -> u64 {
        self.root(INPUT_LENGTH)
    }

    pub fn input_load_u8(&self, i: u64) -> u8 {
        if i >= self.input_length() {
            return 0;
        }
        self.get_u8(self.input_offset().wrapping_add(i)).unwrap_or(0)
    }

    pub fn input_load_u64(&self, i: u64) -> u64 {
        if i.checked_add(8).is_none_or(|end| end > self.input_length()) {
            return 0;
        }
        self.get_u64(self.input_offset().wrapping_add(i)).unwrap_or(0)
    }

    /// Whether `[h, h + len)` may be designated as input or output (upstream's check).
    fn designatable(&self, h: u64, len: u64) -> bool {
        self.managed(h) && self.managed(h.wrapping_add(len).wrapping_sub(1))
    }

    pub fn input_set(&mut self, h: u64, len: u64) {
        if self.designatable(h, len) {
            self.set_root(INPUT_OFFSET, h);
            self.set_root(INPUT_LENGTH, len);
        }
    }

    pub fn output_set(&mut self, h: u64, len: u64) {
        if self.designatable(h, len) {
            self.set_root(OUTPUT_OFFSET, h);
            self.set_root(OUTPUT_LENGTH, len);
        }
    }

    pub fn output_offset(&self) -> u64 {
        self.root(OUTPUT_OFFSET)
    }

    pub fn output_length(&self) -> u64 {
        self.root(OUTPUT_LENGTH)
    }

    pub fn error_set(&mut self, h: u64) {
        if h == 0 || self.managed(h) {
            self.set_root(ERROR, h);
        }
    }

    pub fn error_get(&self) -> u64 {
        self.root(ERROR)
    }

    /// `reset`: forgets every block and clears input, output and error.
    pub fn reset(&mut self) {
        let position = self.root(POSITION);
        if let (Ok(start), Ok(len)) = (usize::try_from(FIRST), usize::try_from(position)) {
            let bytes = self.mem.bytes_mut();
            let end = start.saturating_add(len).min(bytes.len());
            if start < end {
                bytes[start..end].fill(0);
            }
        }
        for field in [POSITION, ERROR, INPUT_OFFSET, INPUT_LENGTH, OUTPUT_OFFSET, OUTPUT_LENGTH] {
            self.set_root(field, 0);
        }
    }

    /// `memory_bytes`: the bytes the allocator manages.
    pub fn memory_bytes(&self) -> u64 {
        self.root(LENGTH)
    }

    // Host side.

    /// A new block holding `data` (handle 0 for empty data); `None` if out of memory.
    pub fn new_block(&mut self, data: &[u8]) -> Option<u64> {
        if data.is_empty() {
            return Some(0);
        }
        let h = self.alloc(data.len() as u64);
        if h == 0 {
            return None;
        }
        self.put(h, data);
        Some(h)
    }

    /// The bytes of the active block at `handle`: `Some(empty)` for 0, `None` if invalid.
    pub fn block(&self, handle: u64) -> Option<&[u8]> {
        if handle == 0 {
            return Some(&[]);
        }
        let len = self.length(handle);
        if len == 0 {
            return None;
        }
        self.slice(handle, len)
    }

    /// Writes `data` at `offset`; false (and nothing written) if it does not fit in memory.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> bool {
        if self.slice(offset, data.len() as u64).is_none() {
            return false;
        }
        self.put(offset, data);
        true
    }

    /// `len` bytes at `offset`, if in memory.
    pub fn slice(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.mem.bytes().get(start..end)
    }

    /// Copies `data` into a new block and makes it the input (done before each call).
    pub fn set_input(&mut self, data: &[u8]) -> Option<()> {
        let h = self.new_block(data)?;
        self.input_set(h, data.len() as u64);
        Some(())
    }

    /// The output bytes the guest designated, if they lie in memory.
    pub fn output(&self) -> Option<&[u8]> {
        self.slice(self.output_offset(), self.output_length())
    }

    /// The error message the guest set: only when both the handle and its block are valid.
    pub fn error(&self) -> Option<&[u8]> {
        let h = self.error_get();
        if h == 0 || self.length(h) == 0 {
            return None;
        }
        self.block(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> VecMemory {
        VecMemory::new()
    }

    #[test]
    fn first_allocations_match_upstream_offsets() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        assert_eq!(k.memory_bytes(), 65472);
        assert_eq!(k.alloc(10), 77);
        assert_eq!(k.alloc(10), 99);
        assert_eq!(k.length(77), 10);
        assert_eq!(k.length(99), 10);
        assert_eq!(k.length_unsafe(99), 10);
    }

    #[test]
    fn zero_allocation_is_null() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        assert_eq!(k.alloc(0), 0);
        assert_eq!(k.length(0), 0);
    }

    #[test]
    fn freed_blocks_are_not_reused_while_bump_space_remains() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let a = k.alloc(10);
        k.free(a);
        assert_eq!(k.length(a), 0);
        let b = k.alloc(10);
        assert_ne!(a, b);
        assert_eq!(b, 99);
    }

    #[test]
    fn freed_block_reused_when_bump_space_is_exhausted() {
        let mut m = mem();
        m.max_pages = Some(INITIAL_PAGES);
        let mut k = Kernel::new(&mut m);
        // Fill the managed region almost completely with one block, free it, then ask again.
        let big = k.alloc(60_000);
        assert_eq!(big, 77);
        let rest = k.memory_bytes() - 60_012 - 64;
        let filler = k.alloc(rest - 12);
        assert_ne!(filler, 0);
        k.free(big);
        // Bump space is gone: a 100-byte block is carved from the end of the free block.
        let carved = k.alloc(100);
        assert_eq!(carved, 77 + 60_000 - 100);
        assert_eq!(k.length(carved), 100);
        // The free block shrank by the carved block and its header.
        assert_eq!(k.block_size(65), 60_000 - 112);
    }

    #[test]
    fn small_leftover_reuses_whole_block() {
        let mut m = mem();
        m.max_pages = Some(INITIAL_PAGES);
        let mut k = Kernel::new(&mut m);
        let a = k.alloc(200);
        let rest = k.memory_bytes() - 212 - 64;
        assert_ne!(k.alloc(rest - 12), 0);
        k.free(a);
        let b = k.alloc(150);
        assert_eq!(b, a);
        assert_eq!(k.length(b), 150);
        assert_eq!(k.block_size(b - 12), 200);
    }

    #[test]
    fn growth_extends_the_managed_region() {
        let mut m = mem();
        {
            let mut k = Kernel::new(&mut m);
            let h = k.alloc(100_000);
            assert_eq!(h, 77);
            assert_eq!(k.memory_bytes(), 65472 + 65536);
        }
        assert_eq!(m.data.len() as u64, (INITIAL_PAGES + 1) * PAGE);
    }

    #[test]
    fn growth_refused_returns_null() {
        let mut m = mem();
        m.max_pages = Some(INITIAL_PAGES);
        let mut k = Kernel::new(&mut m);
        assert_eq!(k.alloc(100_000), 0);
        assert_eq!(k.new_block(&[1; 100_000]), None);
    }

    #[test]
    fn loads_and_stores_are_bounds_checked() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let size = INITIAL_PAGES * PAGE;
        assert_eq!(k.store_u8(100, 7), Ok(()));
        assert_eq!(k.load_u8(100), Ok(7));
        assert_eq!(k.store_u64(200, 0x0102030405060708), Ok(()));
        assert_eq!(k.load_u64(200), Ok(0x0102030405060708));
        assert_eq!(k.load_u8(201), Ok(7));
        // Below 64: ignored and 0.
        assert_eq!(k.store_u8(10, 9), Ok(()));
        assert_eq!(k.load_u8(10), Ok(0));
        // Past the end: ignored and 0; exactly at the end: upstream's wasm traps.
        assert_eq!(k.load_u8(size + 1), Ok(0));
        assert_eq!(k.load_u8(size), Err(OutOfBounds));
        assert_eq!(k.load_u64(size - 7), Err(OutOfBounds));
        assert_eq!(k.load_u64(size - 8), Ok(0));
        assert_eq!(k.store_u64(u64::MAX, 1), Ok(()));
    }

    #[test]
    fn input_reads_stop_at_its_length() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        k.set_input(b"hello, kernel").unwrap();
        assert_eq!(k.input_offset(), 77);
        assert_eq!(k.input_length(), 13);
        assert_eq!(k.input_load_u8(0), b'h');
        assert_eq!(k.input_load_u8(13), 0);
        assert_eq!(k.input_load_u64(0), u64::from_le_bytes(*b"hello, k"));
        assert_eq!(k.input_load_u64(5), u64::from_le_bytes(*b", kernel"));
        assert_eq!(k.input_load_u64(6), 0);
        assert_eq!(k.input_load_u64(u64::MAX), 0);
    }

    #[test]
    fn freeing_the_input_empties_it() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        k.set_input(b"abc").unwrap();
        let h = k.input_offset();
        k.free(h);
        assert_eq!(k.input_length(), 0);
        assert_eq!(k.input_load_u8(0), 0);
    }

    #[test]
    fn empty_input_is_handle_zero() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        k.set_input(b"").unwrap();
        assert_eq!(k.input_offset(), 0);
        assert_eq!(k.input_length(), 0);
    }

    #[test]
    fn output_and_error_designation_rules() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let h = k.new_block(b"out").unwrap();
        k.output_set(0, 0);
        assert_eq!(k.output_offset(), 0);
        k.output_set(h, 3);
        assert_eq!(k.output(), Some(&b"out"[..]));
        // Longer than the block but inside the managed region: accepted (upstream does).
        k.output_set(h, 64);
        assert_eq!(k.output_length(), 64);
        // Outside the managed region: ignored.
        k.output_set(h, 1 << 20);
        assert_eq!(k.output_length(), 64);
        k.error_set(5);
        assert_eq!(k.error_get(), 0);
        let e = k.new_block(b"boom").unwrap();
        k.error_set(e);
        assert_eq!(k.error(), Some(&b"boom"[..]));
        // A mid-block handle is stored but does not count as an error.
        k.error_set(e + 1);
        assert_eq!(k.error_get(), e + 1);
        assert_eq!(k.error(), None);
        k.error_set(0);
        assert_eq!(k.error_get(), 0);
    }

    #[test]
    fn reset_forgets_blocks_and_wipes_their_bytes() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let h = k.new_block(b"secret").unwrap();
        k.output_set(h, 6);
        k.reset();
        assert_eq!(k.length(h), 0);
        assert_eq!(k.output_length(), 0);
        assert_eq!(k.slice(h, 6), Some(&[0u8; 6][..]));
        assert_eq!(k.alloc(6), 77);
        assert_eq!(k.memory_bytes(), 65472);
    }

    #[test]
    fn length_only_at_block_starts() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let h = k.alloc(32);
        assert_eq!(k.length(h + 1), 0);
        assert_eq!(k.length(h - 1), 0);
        assert_eq!(k.length(63), 0);
        assert_eq!(k.length(u64::MAX), 0);
        assert_eq!(k.length_unsafe(h + 4), 0);
    }

    #[test]
    fn corrupt_headers_never_panic() {
        let mut m = mem();
        let mut k = Kernel::new(&mut m);
        let h = k.alloc(16);
        // The guest scribbles over the header: a huge size and an odd status.
        k.store_u64(h - 12, u64::MAX).unwrap();
        k.store_u64(h - 4, u64::MAX).unwrap();
        assert_eq!(k.length(h), 0);
        k.free(h);
        assert_eq!(k.length_unsafe(h), 0);
        // Corrupt root fields: allocation fails cleanly or succeeds, but never panics.
        k.store_u8(64, 0xff).unwrap();
        let _ = k.alloc(8);
        let _ = k.output();
        k.reset();
    }

    #[test]
    fn memory_with_no_pages_is_grown_on_first_use() {
        let mut m = VecMemory { data: Vec::new(), max_pages: None };
        {
            let mut k = Kernel::new(&mut m);
            assert_eq!(k.memory_bytes(), 65472);
            assert_eq!(k.alloc(4), 77);
        }
        assert_eq!(m.data.len() as u64, PAGE);
    }
}
