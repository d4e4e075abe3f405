//! Direct descriptors (fixed files): a per-ring sparse file table, opens into it, every op
//! of such a handle with `IOSQE_FIXED_FILE`, and `readFile` of a small file in one trip
//! through the loop (open -> read -> close linked and submitted together).
//!
//! A direct descriptor is named in JS as `-2 - slot` (see [`crate::args::target`]).
//! The slot allocator lives in the core driver; the façade frees a slot once the close of its
//! file (or the failed open into it) has completed.

use crate::args::{cstring, target};
use crate::js::{self, codes, JsBuf, Result};
use crate::ops::{token, StatOut, KIND_PLAIN, KIND_STAT, STAT_FIELDS};
use crate::pool::{pool_slice, NativeBufferPool};
use crate::runtime;
use boros::io_uring::{squeue, types::DestinationSlot};
use boros::op::{self, OpCode, Target};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn dest(slot: u32) -> Result<DestinationSlot> {
    DestinationSlot::try_from_slot_target(slot)
        .map_err(|_| js::error(codes::OUT_OF_RANGE, "bad file slot"))
}

/// A free slot of this ring's file table (registered sparse on first call), or -1 when the
/// table is full or the kernel has none (then open a plain descriptor).
#[napi]
pub fn file_slot_alloc() -> Result<i32> {
    runtime::with(|rt| Ok(rt.driver.alloc_file_slot().map_or(-1, |s| s as i32)))
}

/// Gives a slot back once it is empty (its direct close, or the failed open into it, completed).
#[napi]
pub fn file_slot_free(slot: u32) -> Result<()> {
    runtime::with(|rt| {
        rt.driver.free_file_slot(slot);
        Ok(())
    })
}

/// Queues an open of `path` into the direct descriptor `slot`; completes with 0 or `-errno`.
#[napi]
pub fn open_direct(path: String, flags: i32, mode: u32, slot: u32, token_id: u32) -> Result<f64> {
    let path = cstring(path, "path")?;
    let slot = dest(slot)?;
    runtime::with(|rt| {
        let op = op::OpenAt::new(path, flags, mode).direct(slot);
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// Queues a read on `file` (a descriptor or `-2 - slot`) into a plain JS buffer, through the
/// same bounce copy as `read`.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn target_read(
    env: Env,
    file: i32,
    buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let range = (offset, length, crate::args::position(position)?);
    // SAFETY: `buffer` is an argument of this call, on the JS thread.
    unsafe { crate::ops::queue_read_copy(env.raw(), target(file)?, buffer.raw(), range, token_id) }
}

/// Queues a write on `file` (a descriptor or `-2 - slot`) from a plain JS buffer (held, not copied).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn target_write(
    env: Env,
    file: i32,
    buffer: Unknown,
    offset: u32,
    length: u32,
    position: i64,
    token_id: u32,
) -> Result<f64> {
    let range = (offset, length, crate::args::position(position)?);
    // SAFETY: as in `target_read`.
    unsafe {
        crate::ops::queue_write_pinned(env.raw(), target(file)?, buffer.raw(), range, token_id)
    }
}

/// Queues `fsync`/`fdatasync` on `file` (a descriptor or `-2 - slot`).
#[napi]
pub fn target_fsync(file: i32, datasync: bool, token_id: u32) -> Result<f64> {
    let t = target(file)?;
    runtime::with(|rt| {
        let mut op = op::Fsync::new(t);
        if datasync {
            op = op.datasync();
        }
        rt.queue(Box::new(op), token(KIND_PLAIN, token_id))
    })
}

/// Queues the close of `file` (a descriptor or `-2 - slot`: the direct descriptor's slot is emptied).
#[napi]
pub fn target_close(file: i32, token_id: u32) -> Result<f64> {
    let t = target(file)?;
    runtime::with(|rt| rt.queue(Box::new(op::Close::new(t)), token(KIND_PLAIN, token_id)))
}

/// Queues `IORING_OP_FIXED_FD_INSTALL` (Linux 6.8): a plain descriptor (`O_CLOEXEC`) for the
/// file in `slot`, for calls that need one (`stat`). The direct descriptor stays open.
#[napi]
pub fn install_fd(slot: u32, token_id: u32) -> Result<f64> {
    runtime::with(|rt| {
        rt.queue(
            Box::new(op::FixedFdInstall::new(slot)),
            token(KIND_PLAIN, token_id),
        )
    })
}

/// `readFile` of a small file in one trip: queues a `statx(path)` into `stat_out` (as
/// `statx` does; not linked), then, linked, `open(path)` into the direct descriptor `slot` ->
/// a read of up to `length` bytes at 0 into pool buffer `index` (`READ_FIXED` when
/// registered) -> close of the slot. The read is hard-linked to the close, so the close runs
/// after a short or failed read too; a failed open cancels both (`-ECANCELED`). Four
/// completions: `stat_token`, `open_token` (0 or -errno), `read_token` (bytes read),
/// `close_token`. The statx says whether a short read was the end of the file.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read_file_linked(
    env: Env,
    stat_out: Unknown,
    stat_token: u32,
    path: String,
    flags: i32,
    slot: u32,
    pool: &NativeBufferPool,
    index: u32,
    length: u32,
    open_token: u32,
    read_token: u32,
    close_token: u32,
) -> Result<f64> {
    let path = cstring(path, "path")?;
    let d = dest(slot)?;
    let (buf, buf_index) = pool_slice(pool, index, length)?;
    // SAFETY: `stat_out` is an argument of this call, on the JS thread.
    let out = unsafe { JsBuf::new(env.raw(), stat_out.raw())? };
    if out.len() < STAT_FIELDS * 8 {
        return Err(js::error(
            codes::OUT_OF_RANGE,
            "stat output array too short",
        ));
    }
    let statx = StatOut {
        statx: op::Statx::path(path.clone(), true),
        out,
    };
    runtime::with(|rt| {
        crate::pool::flush_deferred(&mut rt.driver);
        rt.driver
            .push(Box::new(statx), token(KIND_STAT, stat_token))
            .map_err(js::push_error)?;
        let open: Box<dyn OpCode> = Box::new(op::OpenAt::new(path, flags, 0).direct(d));
        let read: Box<dyn OpCode> = match buf_index {
            Some(bi) => Box::new(op::ReadFixed::new(Target::Fixed(slot), buf, bi, 0)),
            None => Box::new(op::Read::new(Target::Fixed(slot), buf, 0)),
        };
        let close: Box<dyn OpCode> = Box::new(op::Close::new(Target::Fixed(slot)));
        let keys = rt
            .driver
            .push_linked(vec![
                (open, token(KIND_PLAIN, open_token), squeue::Flags::IO_LINK),
                (
                    read,
                    token(KIND_PLAIN, read_token),
                    squeue::Flags::IO_HARDLINK,
                ),
                (
                    close,
                    token(KIND_PLAIN, close_token),
                    squeue::Flags::empty(),
                ),
            ])
            .map_err(js::push_error)?;
        Ok(keys[0].as_u64() as f64)
    })
}
