//! Direct descriptors (fixed files): a per-ring sparse file table, opens into it, every op
//! of such a handle with `IOSQE_FIXED_FILE`, and `readFile` of a small file in one trip
//! through the loop (open -> read -> read linked and submitted together).
//!
//! A direct descriptor is named in JS as `-2 - slot` (see [`crate::args::target`]).
//! The slot allocator lives in the core driver; the façade frees a slot once the close of its
//! file (or the failed open into it) has completed.

use crate::args::{cstring, target};
use crate::js::{self, codes, Result};
use crate::ops::{token, KIND_PLAIN};
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

/// `readFile` of a small file in one trip: linked, `open(path)` into the direct descriptor
/// `slot` -> a read of up to `first_len` bytes at the file position into bytes
/// `0..first_len` of pool buffer `index` -> a read of up to `tail_len` bytes at the file
/// position into bytes `first_len..first_len+tail_len` of the same buffer (`READ_FIXED` when
/// the pool is registered). A failed open cancels both reads (`-ECANCELED`); the reads are
/// hard-linked, so the second runs after a short first one. Three completions: `open_token`
/// (0 or -errno), `read_token` and `tail_token` (bytes read or -errno).
///
/// The second read is how the façade knows, without a `statx`, that a short first read was
/// the end of the file: it returns 0 then, whatever the file is (FUSE and procfs files can
/// return short reads before their end, pipes always can). When it returns data, the façade
/// goes on reading on the same descriptor, so nothing read from a pipe is lost. It closes the
/// slot itself (no close in the chain: it does not know yet whether it needs the descriptor).
/// A `statx` is not used because io_uring always runs it on an io-wq worker.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read_file_linked(
    path: String,
    flags: i32,
    slot: u32,
    pool: &NativeBufferPool,
    index: u32,
    first_len: u32,
    tail_len: u32,
    open_token: u32,
    read_token: u32,
    tail_token: u32,
) -> Result<f64> {
    let path = cstring(path, "path")?;
    let d = dest(slot)?;
    let (first, first_index) = pool_slice(pool, index, 0, first_len)?;
    let (tail, tail_index) = pool_slice(pool, index, first_len, tail_len)?;
    let read = |buf, bi: Option<u16>| -> Box<dyn OpCode> {
        let t = Target::Fixed(slot);
        match bi {
            Some(bi) => Box::new(op::ReadFixed::new(t, buf, bi, op::CURRENT_POSITION)),
            None => Box::new(op::Read::new(t, buf, op::CURRENT_POSITION)),
        }
    };
    runtime::with(|rt| {
        crate::pool::flush_deferred(&mut rt.driver);
        let open: Box<dyn OpCode> = Box::new(op::OpenAt::new(path, flags, 0).direct(d));
        let keys = rt
            .driver
            .push_linked(vec![
                (open, token(KIND_PLAIN, open_token), squeue::Flags::IO_LINK),
                (
                    read(first, first_index),
                    token(KIND_PLAIN, read_token),
                    squeue::Flags::IO_HARDLINK,
                ),
                (
                    read(tail, tail_index),
                    token(KIND_PLAIN, tail_token),
                    squeue::Flags::empty(),
                ),
            ])
            .map_err(js::push_error)?;
        Ok(keys[0].as_u64() as f64)
    })
}
