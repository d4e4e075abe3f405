//! The memory of registered buffer pools (`BufferPool` in JS): native-owned, registered with
//! this thread's ring, lent to JS as Buffers without copying, and read into / written from by
//! `READ_FIXED` / `WRITE_FIXED` with no bounce copy. The JS class is in `api/pool.rs`.
//!
//! # Who keeps the memory alive
//! The memory is one anonymous mapping ([`boros::buf::Mapping`]) in a [`PoolMem`], reference
//! counted (`Rc`). Holders:
//! - the JS `BufferPool` (until `dispose()`),
//! - every JS Buffer over it: each is an *external* Buffer whose finalizer drops one `Rc`
//!   (Node runs napi finalizers on the JS thread; at env teardown it runs them itself),
//! - every op in flight on it: the op owns a [`Slice`], which holds an `Rc`, and the driver
//!   keeps the op until its final CQE — also after a cancel, a close, or during teardown.
//!
//! The mapping is unmapped only when the last holder is gone, so the kernel can never write
//! into memory that was freed or reused. Detaching or transferring one of the JS Buffers does
//! not free anything either: Node never detaches external Buffers (a transfer copies them on
//! Node 20 and throws `DataCloneError` on 22+), and our finalizer runs only when one dies.
//!
//! Registration slots are emptied once the pool is disposed (or its memory dropped) and no op
//! uses it: the emptying is queued on the driver's [`Releases`](boros::Releases) handle the
//! pool got at registration, and the driver does it before its next push, so this module
//! never needs the runtime.

use crate::js::{self, codes, Result};
use crate::lent::Lent;
use boros::buf::Mapping;
use boros::op;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// A runtime's live pools by id, for ops the façade queues in shared memory (which names a
/// pool by number). Weak: the registry keeps no memory alive. The runtime owns it
/// ([`Runtime::pools`](crate::runtime::Runtime::pools)).
pub struct Pools {
    by_id: HashMap<u32, Weak<PoolMem>>,
    next_id: u32,
}

impl Default for Pools {
    fn default() -> Self {
        Self {
            by_id: HashMap::new(),
            next_id: 1,
        }
    }
}

impl Pools {
    /// Numbers `mem` for the shared queue and records it.
    pub fn publish(&mut self, mem: &Rc<PoolMem>) -> u32 {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1).max(1);
        self.by_id.retain(|_, m| m.strong_count() > 0);
        self.by_id.insert(id, Rc::downgrade(mem));
        id
    }

    /// `id` stops naming a pool (its JS pool was disposed).
    pub fn remove(&mut self, id: u32) {
        self.by_id.remove(&id);
    }

    /// A range of buffer `index` of the live (not disposed) pool `id`, for an op queued in
    /// shared memory; `None` when there is no such pool or the range is out of bounds.
    ///
    /// A pool collected without `dispose()` keeps its entry while its memory lives (a queued
    /// op's Buffer holds it), so an op queued just before the collection still finds it;
    /// entries of memory that is gone are pruned when the next pool is made.
    pub fn queued_slice(
        &self,
        id: u32,
        index: u32,
        offset: u32,
        length: u32,
    ) -> Option<(Slice, Option<u16>)> {
        let mem = self.by_id.get(&id).and_then(Weak::upgrade)?;
        if mem.disposed.get() {
            return None;
        }
        slice_of(&mem, index, offset, length).ok()
    }
}

/// The memory of one pool: `count` buffers of `size` bytes, `stride` bytes apart.
pub struct PoolMem {
    map: Mapping,
    stride: usize,
    /// Bytes per buffer.
    pub size: usize,
    /// Buffers.
    pub count: u32,
    /// First slot in the ring's buffer table, while registered.
    pub first: Cell<Option<u16>>,
    /// Where the emptying of the slots is queued (the driver's, from the registration).
    releases: RefCell<Option<boros::Releases>>,
    /// Ops queued or in flight on this memory (live [`Slice`]s).
    in_flight: Cell<u32>,
    /// The pool was disposed: empty the slots as soon as no op uses them.
    disposed: Cell<bool>,
    /// Ops queued as READ_FIXED/WRITE_FIXED on this memory.
    pub fixed_ops: Cell<f64>,
}

impl PoolMem {
    /// Maps `count` buffers of `size` bytes (page-aligned buffers from 4 KiB, good for
    /// `O_DIRECT` and pinning; smaller ones 64-byte aligned).
    pub fn map(count: u32, size: usize) -> Result<Self> {
        let stride = if size >= 4096 {
            size.div_ceil(4096) * 4096
        } else {
            size.div_ceil(64) * 64
        };
        let map_len = stride
            .checked_mul(count as usize)
            .filter(|&l| l > 0 && l <= isize::MAX as usize)
            .ok_or_else(|| {
                js::error(codes::OUT_OF_RANGE, "BufferPool: count * size is too large")
            })?;
        let map = Mapping::new(map_len).map_err(|e| {
            js::error(
                codes::OUT_OF_RANGE,
                format!("BufferPool: mmap of {map_len} bytes failed: {e}"),
            )
        })?;
        Ok(Self {
            map,
            stride,
            size,
            count,
            first: Cell::new(None),
            releases: RefCell::new(None),
            in_flight: Cell::new(0),
            disposed: Cell::new(false),
            fixed_ops: Cell::new(0.0),
        })
    }

    /// Records the registration: slots from `first`, emptied through `releases` later.
    pub fn registered(&self, first: u16, releases: boros::Releases) {
        self.first.set(Some(first));
        *self.releases.borrow_mut() = Some(releases);
    }

    /// The first byte of buffer `index` (< `count`).
    pub fn buffer_ptr(&self, index: u32) -> *mut u8 {
        assert!(index < self.count, "pool buffer index out of range");
        // SAFETY: index < count, so the offset stays inside the mapping.
        unsafe { self.map.as_ptr().add(index as usize * self.stride) }
    }

    /// The JS pool was disposed (and its id removed from the runtime's [`Pools`]): its slots
    /// are emptied as soon as no op uses the memory.
    pub fn dispose(mem: Rc<PoolMem>) {
        mem.disposed.set(true);
        if mem.in_flight.get() == 0 {
            mem.unregister();
        }
        // Else the last op to complete empties the slots (see `Slice::drop`).
    }

    /// Queues the emptying of this pool's table slots (see the module docs).
    ///
    /// Only called when no op is queued or in flight on the memory: the kernel looks a fixed
    /// buffer up by index when it prepares or issues the request, so emptying a slot under a
    /// queued READ_FIXED would fail it (EFAULT), and refilling the slot with another pool's
    /// memory before it is issued would send the data there.
    fn unregister(&self) {
        debug_assert_eq!(self.in_flight.get(), 0);
        if let (Some(first), Some(releases)) = (self.first.take(), self.releases.take()) {
            releases.unregister_buffers(first, self.count as usize);
        }
    }
}

impl Drop for PoolMem {
    fn drop(&mut self) {
        // No Slice is left (each holds an Rc), so no op uses the memory. The mapping is
        // unmapped after this (a field): if the slots are still registered, the kernel holds
        // its own page references and no request can name them until they are emptied.
        self.unregister();
    }
}

/// Bytes `offset..offset+length` of buffer `index` of `mem`, for one op, and the buffer's
/// slot in the ring's table when registered (counted as a fixed op).
pub fn slice_of(
    mem: &Rc<PoolMem>,
    index: u32,
    offset: u32,
    length: u32,
) -> Result<(Slice, Option<u16>)> {
    if index >= mem.count || offset as usize + length as usize > mem.size {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            "pool buffer range out of bounds",
        ));
    }
    // SAFETY: offset + length <= size, inside buffer `index` of the mapping.
    let ptr = unsafe { mem.buffer_ptr(index).add(offset as usize) };
    let first = mem.first.get().map(|f| f + index as u16);
    if first.is_some() {
        mem.fixed_ops.set(mem.fixed_ops.get() + 1.0);
    }
    mem.in_flight.set(mem.in_flight.get() + 1);
    // SAFETY: `ptr..ptr+length` lies inside the mapping (checked above), which the hold's `Rc`
    // keeps mapped; mmap zero-fills it, so every byte is initialized.
    let slice = unsafe { Lent::new(PoolHold(Rc::clone(mem)), ptr, length as usize) };
    Ok((slice, first))
}

/// What keeps a pool slice alive: an `Rc` of the whole mapping, counted as an op in flight.
pub struct PoolHold(Rc<PoolMem>);

impl Drop for PoolHold {
    /// The op that owned the slice completed (or was never queued).
    fn drop(&mut self) {
        let left = self.0.in_flight.get() - 1;
        self.0.in_flight.set(left);
        if left == 0 && self.0.disposed.get() {
            self.0.unregister();
        }
    }
}

/// A range of pool memory owned by an op.
pub type Slice = Lent<PoolHold>;

/// A read into (or a write from) a pool slice: `READ_FIXED`/`WRITE_FIXED` with the buffer's
/// table index when the pool is registered, a plain read or write of the same memory
/// otherwise. Built by [`SliceOp::new`], the one place that makes this choice (the shared
/// queue, `poolIo` and the one-trip readFile all use it).
pub enum SliceOp {
    /// `IORING_OP_READ` or `IORING_OP_READ_FIXED`.
    Read(op::Read<Slice>),
    /// `IORING_OP_WRITE` or `IORING_OP_WRITE_FIXED`.
    Write(op::Write<Slice>),
}

impl SliceOp {
    /// The op for `slice`, registered at `buf_index` if `Some`.
    pub fn new(
        write: bool,
        file: op::Target,
        slice: Slice,
        buf_index: Option<u16>,
        pos: u64,
    ) -> Self {
        if write {
            let op = op::Write::new(file, slice, pos);
            SliceOp::Write(match buf_index {
                Some(bi) => op.fixed(bi),
                None => op,
            })
        } else {
            let op = op::Read::new(file, slice, pos);
            SliceOp::Read(match buf_index {
                Some(bi) => op.fixed(bi),
                None => op,
            })
        }
    }
}

// SAFETY: delegates to the core op inside, which owns its slice (and so the mapping) until
// the final CQE.
unsafe impl op::OpCode for SliceOp {
    fn entry(&mut self) -> boros::io_uring::squeue::Entry {
        match self {
            SliceOp::Read(o) => o.entry(),
            SliceOp::Write(o) => o.entry(),
        }
    }
}
