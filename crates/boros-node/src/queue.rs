//! The shared submission queue: how the hot-path reads and writes reach the ring without one
//! N-API call per op.
//!
//! The façade (`src-ts/binding.ts`) owns three pieces of memory it hands over once, at `init`:
//! - `entries`, a `Float64Array` of [`entry::FIELDS`] numbers per op, laid out as
//!   [`crate::wire::entry`] says: kind ([`EntryKind`]), file kind ([`FileKind`](crate::wire::FileKind))
//!   and number, offset (into the arena, or for a pool op into the pool buffer), length,
//!   position, token, and for pool ops the pool's id and buffer index;
//! - `ctl`, an `Int32Array` whose slot [`ctl::QUEUED`] counts the entries written;
//! - `arena`, an `ArrayBuffer` that only the façade can reach (a module-private variable,
//!   never exported, never transferred), handed over later, with [`SharedQueue::set_arena`]:
//!   the façade makes it (16 MiB of address space, reported to V8 as external memory) at its
//!   first read or write through it, so a process that never reads or writes a file this way
//!   (boros/net alone) does not have it (issue 21).
//!
//! A read or write on the hot path writes one entry and, for a write, copies its bytes into an
//! arena slot. A read or write on a `BufferPool` buffer writes one entry naming the pool and
//! buffer: the kernel reads or writes pool memory (`READ_FIXED`/`WRITE_FIXED`), which the op
//! owns through a [`Slice`](crate::pool_mem::Slice) like any other pool op. The runtime drains
//! the queue into SQEs just before it submits (and before any other op is pushed, so ops keep
//! their order). The kernel only ever reads or writes arena memory; a read's bytes are copied
//! from the arena into the caller's buffer in JS when its completion is delivered. So a
//! caller's buffer can be detached, resized or collected while the op is in flight without the
//! kernel touching freed memory: safe by construction.

use crate::complete::NodeOp;
use crate::js::{self, codes, Result};
use crate::lent::Lent;
use crate::ops::Passthrough;
use crate::pool_mem::{Pools, SliceOp};
use crate::wire::{ctl, entry, EntryKind, ARENA_ALIGN};
use boros::{op, Driver};
use napi::sys;
use std::ptr;

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
    /// Pins the entries and the control array. The queue has no arena until
    /// [`set_arena`](Self::set_arena): entries that name it fail with `EINVAL` until then.
    ///
    /// # Safety
    /// On the JS thread of `env`, with values of the current call.
    pub unsafe fn new(
        env: sys::napi_env,
        entries: sys::napi_value,
        ctl: sys::napi_value,
    ) -> Result<Self> {
        // SAFETY: forwarded contract.
        let (entries_ptr, entries_len) = unsafe { js::view_info(env, entries)? };
        // SAFETY: as above.
        let (ctl_ptr, ctl_len) = unsafe { js::view_info(env, ctl)? };
        if ctl_len < 4 * ctl::LEN || entries_len < 8 * entry::FIELDS {
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
        let mut refs = [ptr::null_mut(); 3];
        for (r, v) in refs.iter_mut().zip([entries, ctl]) {
            // SAFETY: valid env/value; the out-pointer is a local slot. The strong reference
            // keeps the memory alive until `release`.
            unsafe { sys::napi_create_reference(env, v, 1, r) };
        }
        Ok(Self {
            env,
            refs,
            entries: entries_ptr.cast(),
            capacity: entries_len / 8 / entry::FIELDS,
            ctl: ctl_ptr.cast(),
            arena: ptr::null_mut(),
            arena_len: 0,
        })
    }

    /// Pins the arena (once). Returns the offset into it at which the façade's page-aligned
    /// slots start.
    ///
    /// # Safety
    /// On the JS thread of the queue's env, with a value of the current call.
    pub unsafe fn set_arena(&mut self, arena: sys::napi_value) -> Result<usize> {
        if !self.arena.is_null() {
            return Err(js::error(
                codes::INVALID_ARG_VALUE,
                "boros: the shared queue already has its arena",
            ));
        }
        // SAFETY: forwarded contract.
        let (arena_ptr, arena_len) = unsafe { js::arraybuffer_info(self.env, arena)? };
        if arena_len <= ARENA_ALIGN {
            return Err(js::error(
                codes::INVALID_ARG_VALUE,
                "boros: shared queue arena too small",
            ));
        }
        let align = (ARENA_ALIGN - arena_ptr as usize % ARENA_ALIGN) % ARENA_ALIGN;
        // SAFETY: valid env/value; the out-pointer is the queue's empty slot. The strong
        // reference keeps the memory alive until `release`.
        unsafe { sys::napi_create_reference(self.env, arena, 1, &mut self.refs[2]) };
        // SAFETY: align < ARENA_ALIGN < arena_len, so this stays inside the buffer.
        self.arena = unsafe { arena_ptr.add(align) };
        self.arena_len = arena_len - align;
        Ok(align)
    }

    /// Entries waiting to be pushed.
    pub fn queued(&self) -> usize {
        // SAFETY: `ctl` is pinned and 4-byte aligned; only this thread runs JS and us.
        (unsafe { self.ctl.add(ctl::QUEUED).read() }).clamp(0, self.capacity as i32) as usize
    }

    /// Mirrors whether the loop is referenced (see [`ctl::REFERENCED`]).
    pub fn set_referenced(&mut self, referenced: bool) {
        // SAFETY: as in `queued`.
        unsafe { self.ctl.add(ctl::REFERENCED).write(referenced as i32) };
    }

    /// Pushes every queued entry onto the ring (no syscall unless the SQ fills up). An entry
    /// that cannot be pushed completes at once with `-errno`, through `failed`.
    pub fn drain(
        &mut self,
        driver: &mut Driver<dyn NodeOp>,
        pools: &Pools,
        mut failed: impl FnMut(u32, i32),
    ) {
        let n = self.queued();
        if n == 0 {
            return;
        }
        // SAFETY: the entries array is pinned, f64-aligned and holds `capacity` entries; n <= capacity.
        let entries = unsafe { std::slice::from_raw_parts(self.entries, n * entry::FIELDS) };
        for e in entries.chunks_exact(entry::FIELDS) {
            let token = e[entry::TOKEN] as u32;
            if let Err(errno) = self.push(driver, pools, e, token) {
                failed(token, -errno);
            }
        }
        // SAFETY: as in `queued`.
        unsafe { self.ctl.add(ctl::QUEUED).write(0) };
    }

    fn push(
        &self,
        driver: &mut Driver<dyn NodeOp>,
        pools: &Pools,
        e: &[f64],
        token: u32,
    ) -> std::result::Result<(), i32> {
        // The façade validated all of this; check again so no bad number becomes a pointer,
        // an offset or another file.
        let int =
            |v: f64| (v >= 0.0 && v <= u32::MAX as f64 && v.fract() == 0.0).then_some(v as u32);
        let kind = EntryKind::from_f64(e[entry::KIND]).ok_or(libc::EINVAL)?;
        let file = int(e[entry::FILE_KIND])
            .zip(int(e[entry::FILE]))
            .and_then(|(k, f)| crate::args::file(k, f).ok())
            .ok_or(libc::EBADF)?;
        let (offset, len) = int(e[entry::OFFSET])
            .zip(int(e[entry::LENGTH]))
            .ok_or(libc::EINVAL)?;
        let position = e[entry::POSITION];
        let pos = if position == crate::wire::CURRENT_POSITION as f64 {
            op::CURRENT_POSITION
        } else if position >= 0.0 && position.fract() == 0.0 {
            position as u64
        } else {
            return Err(libc::EINVAL);
        };
        let op: Box<dyn NodeOp> = match kind {
            EntryKind::PoolRead | EntryKind::PoolWrite => {
                // `queued_slice` checks the range against the pool.
                let (pool, index) = int(e[entry::POOL])
                    .zip(int(e[entry::POOL_INDEX]))
                    .ok_or(libc::EFAULT)?;
                let (slice, buf_index) = pools
                    .queued_slice(pool, index, offset, len)
                    .ok_or(libc::EFAULT)?;
                let write = kind == EntryKind::PoolWrite;
                Passthrough::new(SliceOp::new(write, file, slice, buf_index, pos), token)
            }
            EntryKind::Read | EntryKind::Write => {
                if self.arena.is_null() || offset as usize + len as usize > self.arena_len {
                    return Err(libc::EINVAL);
                }
                // SAFETY: the arena is set and offset + len <= arena_len (checked above), so the
                // range lies in the arena: an ArrayBuffer held by a strong reference from
                // `SharedQueue::set_arena` until
                // `release`, which the runtime calls only after the ring's last CQE
                // (runtime/lifecycle.rs, `on_closed`). V8 never moves an ArrayBuffer's backing store, and no one can
                // detach this one: it is private to the façade's binding module, which gives
                // each op its own slot, not reused before the op's completion.
                let buf = unsafe { Lent::new((), self.arena.add(offset as usize), len as usize) };
                if kind == EntryKind::Read {
                    Passthrough::new(op::Read::new(file, buf, pos), token)
                } else {
                    Passthrough::new(op::Write::new(file, buf, pos), token)
                }
            }
        };
        driver
            .push(op, u64::from(token))
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
