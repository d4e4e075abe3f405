//! The shared submission queue: how the hot-path reads and writes reach the ring without one
//! N-API call per op.
//!
//! The façade (`src-ts/binding.ts`) owns three pieces of memory it hands over once, at `init`:
//! - `entries`, a `Float64Array` of [`ENTRY_FIELDS`] numbers per op:
//!   `[kind, file, offset, length, position (-1: current), token, pool id, pool buffer index]`,
//!   where `file` is a descriptor or a direct descriptor as `-2 - slot`, and
//!   `offset` is into the arena, or for a pool op into the pool buffer (the last two
//!   fields are only read for pool ops);
//! - `ctl`, an `Int32Array` whose slot [`CTL_QUEUED`] counts the entries written;
//! - `arena`, an `ArrayBuffer` that only the façade can reach (a module-private variable,
//!   never exported, never transferred).
//!
//! A read or write on the hot path writes one entry and, for a write, copies its bytes into an
//! arena slot. A read or write on a `BufferPool` buffer writes one entry naming the pool and
//! buffer: the kernel reads or writes pool memory (`READ_FIXED`/`WRITE_FIXED`), which the op
//! owns through a [`crate::pool::Slice`] like any other pool op. The runtime drains the queue into SQEs just before it submits (and before any
//! other op is pushed, so ops keep their order). The kernel only ever reads or writes arena
//! memory; a read's bytes are copied from the arena into the caller's buffer in JS when its
//! completion is delivered. So a caller's buffer can be detached, resized or collected while
//! the op is in flight without the kernel touching freed memory: safe by construction.

use crate::js::{self, codes, Result};
use boros::buf::{IoBuf, IoBufMut};
use boros::{op, Driver};
use napi::sys;
use std::ptr;

/// Numbers per queued op.
pub const ENTRY_FIELDS: usize = 8;
/// Index in `ctl` of the number of queued entries (the façade adds, the runtime resets).
pub const CTL_QUEUED: usize = 0;
/// Index in `ctl` of the "loop is referenced" flag: 1 while the runtime keeps the loop alive,
/// so queued entries are sure to be drained before libuv blocks; 0 tells the façade to call
/// `flush()` (which references the loop) when it queues into an empty queue.
pub const CTL_REFERENCED: usize = 1;
const KIND_READ: f64 = 0.0;
const KIND_WRITE: f64 = 1.0;
const KIND_POOL_READ: f64 = 2.0;
const KIND_POOL_WRITE: f64 = 3.0;
/// Arena base alignment (a page, so O_DIRECT transfers through the arena work too).
pub const ARENA_ALIGN: usize = 4096;

pub struct SharedQueue {
    env: sys::napi_env,
    refs: [sys::napi_ref; 3],
    entries: *const f64,
    capacity: usize,
    ctl: *mut i32,
    arena: *mut u8,
    arena_len: usize,
}

impl SharedQueue {
    /// Pins the three shared buffers. Returns the queue and the arena offset the façade must
    /// use so that arena slots are page aligned.
    ///
    /// # Safety
    /// On the JS thread of `env`, with values of the current call.
    pub unsafe fn new(
        env: sys::napi_env,
        entries: sys::napi_value,
        ctl: sys::napi_value,
        arena: sys::napi_value,
    ) -> Result<(Self, usize)> {
        // SAFETY: forwarded contract.
        let (entries_ptr, entries_len) = unsafe { js::view_info(env, entries)? };
        // SAFETY: as above.
        let (ctl_ptr, ctl_len) = unsafe { js::view_info(env, ctl)? };
        // SAFETY: as above.
        let (arena_ptr, arena_len) = unsafe { js::arraybuffer_info(env, arena)? };
        if ctl_len < 4 * (CTL_REFERENCED + 1)
            || entries_len < 8 * ENTRY_FIELDS
            || arena_len <= ARENA_ALIGN
        {
            return Err(js::error(
                codes::INVALID_ARG_VALUE,
                "boros: shared queue buffers too small",
            ));
        }
        if entries_ptr as usize % 8 != 0 || ctl_ptr as usize % 4 != 0 {
            return Err(js::error(
                codes::INVALID_ARG_VALUE,
                "boros: shared queue buffers misaligned",
            ));
        }
        let align = (ARENA_ALIGN - arena_ptr as usize % ARENA_ALIGN) % ARENA_ALIGN;
        let mut refs = [ptr::null_mut(); 3];
        for (r, v) in refs.iter_mut().zip([entries, ctl, arena]) {
            // SAFETY: valid env/value; the out-pointer is a local slot. The strong reference
            // keeps the memory alive until `release`.
            unsafe { sys::napi_create_reference(env, v, 1, r) };
        }
        let q = Self {
            env,
            refs,
            entries: entries_ptr.cast(),
            capacity: entries_len / 8 / ENTRY_FIELDS,
            ctl: ctl_ptr.cast(),
            // SAFETY: align < ARENA_ALIGN < arena_len, so this stays inside the buffer.
            arena: unsafe { arena_ptr.add(align) },
            arena_len: arena_len - align,
        };
        Ok((q, align))
    }

    /// Entries waiting to be pushed.
    pub fn queued(&self) -> usize {
        // SAFETY: `ctl` is pinned and 4-byte aligned; only this thread runs JS and us.
        (unsafe { self.ctl.add(CTL_QUEUED).read() }).clamp(0, self.capacity as i32) as usize
    }

    /// Mirrors whether the loop is referenced (see [`CTL_REFERENCED`]).
    pub fn set_referenced(&mut self, referenced: bool) {
        // SAFETY: as in `queued`.
        unsafe { self.ctl.add(CTL_REFERENCED).write(referenced as i32) };
    }

    /// Pushes every queued entry onto the ring (no syscall unless the SQ fills up). An entry
    /// that cannot be pushed completes at once with `-errno`, through `failed`.
    pub fn drain(&mut self, driver: &mut Driver, mut failed: impl FnMut(u32, i32)) {
        let n = self.queued();
        if n == 0 {
            return;
        }
        // SAFETY: the entries array is pinned, f64-aligned and holds `capacity` entries; n <= capacity.
        let entries = unsafe { std::slice::from_raw_parts(self.entries, n * ENTRY_FIELDS) };
        // Pool memory dropped during a reap leaves table slots to empty before pool ops go out.
        crate::pool::flush_deferred(driver);
        for e in entries.chunks_exact(ENTRY_FIELDS) {
            let token = e[5] as u32;
            if let Err(errno) = self.push(driver, e, token) {
                failed(token, -errno);
            }
        }
        // SAFETY: as in `queued`.
        unsafe { self.ctl.add(CTL_QUEUED).write(0) };
    }

    fn push(&self, driver: &mut Driver, e: &[f64], token: u32) -> std::result::Result<(), i32> {
        let (kind, offset, len, position) = (e[0], e[2], e[3], e[4]);
        // A descriptor (>= 0), or a direct descriptor as `-2 - slot` (see args::target).
        let fd = match e[1] as i32 {
            fd if fd >= 0 => op::Target::Fd(fd),
            t if t <= -2 => op::Target::Fixed((-2 - i64::from(t)) as u32),
            _ => return Err(libc::EBADF),
        };
        let pos = if position < 0.0 {
            op::CURRENT_POSITION
        } else {
            position as u64
        };
        let op: Box<dyn op::OpCode> = if kind == KIND_POOL_READ || kind == KIND_POOL_WRITE {
            // The façade validated the range; `queued_slice` checks it again against the pool.
            let (slice, buf_index) =
                crate::pool::queued_slice(e[6] as u32, e[7] as u32, offset as u32, len as u32)
                    .ok_or(libc::EFAULT)?;
            crate::pool::slice_op(kind == KIND_POOL_WRITE, fd, slice, buf_index, pos)
        } else {
            // The façade validated all of this; check again so no bad number becomes a pointer.
            if !(offset >= 0.0 && len >= 0.0 && offset + len <= self.arena_len as f64) {
                return Err(libc::EINVAL);
            }
            let buf = ArenaSlice {
                // SAFETY: offset + len <= arena_len (checked above).
                ptr: unsafe { self.arena.add(offset as usize) },
                len: len as usize,
            };
            if kind == KIND_READ {
                Box::new(op::Read::new(fd, buf, pos))
            } else if kind == KIND_WRITE {
                Box::new(op::Write::new(fd, buf, pos))
            } else {
                return Err(libc::EINVAL);
            }
        };
        driver
            .push(op, token as u64)
            .map(drop)
            .map_err(|e| match e {
                boros::PushError::Submit(io) => io.raw_os_error().unwrap_or(libc::EIO),
                boros::PushError::Unsupported { .. } => libc::EOPNOTSUPP,
            })
    }

    /// Drops the references. Call only once no op that uses the arena is in flight.
    pub fn release(&mut self) {
        for r in self.refs.iter_mut().filter(|r| !r.is_null()) {
            // SAFETY: created in `new` in this env; deleted once (nulled below).
            unsafe { sys::napi_delete_reference(self.env, *r) };
            *r = ptr::null_mut();
        }
    }
}

/// A slice of the arena lent to one op.
struct ArenaSlice {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the arena is an ArrayBuffer held by a strong reference from `SharedQueue::new` until
// `release`, which the runtime calls only after the ring's last CQE (see runtime.rs, `on_closed`).
// V8 never moves an ArrayBuffer's backing store, and no one can detach this one: it is private
// to the façade's binding module. The façade gives each op its own slot, not reused before the
// op's completion. So the memory stays valid and unshared for as long as the op lives.
unsafe impl IoBuf for ArenaSlice {
    fn stable_ptr(&self) -> *const u8 {
        self.ptr
    }
    fn bytes_init(&self) -> usize {
        self.len
    }
}

// SAFETY: as above; the whole slot is the op's to write.
unsafe impl IoBufMut for ArenaSlice {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
    fn bytes_total(&self) -> usize {
        self.len
    }
    unsafe fn set_init(&mut self, _n: usize) {}
}
