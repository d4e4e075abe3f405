//! `readFile` of a small file in one trip through the loop (the ops: [`crate::ops::read_file`]).

use super::pool::NativeBufferPool;
use crate::args::cstring;
use crate::js::{self, codes, Result};
use crate::ops::read_file::{self, Chain, Link, Step};
use crate::pool_mem::SliceOp;
use crate::runtime;
use boros::io_uring::squeue;
use boros::op::{self, Target};
use napi_derive::napi;

/// Takes a free slot of the file table (returns -1, queuing nothing, when there is none) and
/// queues, linked: `open(path)` into that slot -> a read of up to `first_len` bytes at the file
/// position into bytes `0..first_len` of pool buffer `index` -> a read of up to `tail_len` bytes
/// into bytes `first_len..first_len+tail_len` of the same buffer (`READ_FIXED` when the pool is
/// registered). A failed open cancels both reads (`-ECANCELED`); the reads are hard-linked, so
/// the second runs after a short first one. Returns the slot.
///
/// One completion, of `token`, when the chain ends: see [`read_file::pack`]. When the second
/// read returns data the slot stays open: the façade reads on (so nothing read from a pipe is
/// lost) and closes it; otherwise the runtime closes it.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read_file_linked(
    path: String,
    flags: i32,
    pool: &NativeBufferPool,
    index: u32,
    first_len: u32,
    tail_len: u32,
    token: u32,
) -> Result<i32> {
    if first_len > 0xffff || tail_len > 0x7fff {
        return Err(js::error(codes::OUT_OF_RANGE, "read lengths too large"));
    }
    let path = cstring(path, "path")?;
    let (first, first_index) = pool.slice(index, 0, first_len)?;
    let (tail, tail_index) = pool.slice(index, first_len, tail_len)?;
    runtime::with(|rt| {
        let Some(slot) = rt.driver.alloc_file_slot() else {
            return Ok(-1);
        };
        let file = Target::Fixed(slot);
        let pos = op::CURRENT_POSITION;
        let chain = Chain::new(token, slot);
        let pushed = rt.driver.push_linked(vec![
            (
                Link::new(read_file::open(path, flags, slot), Step::Open, &chain),
                0,
                squeue::Flags::IO_LINK,
            ),
            (
                Link::new(
                    SliceOp::new(false, file, first, first_index, pos),
                    Step::Read,
                    &chain,
                ),
                0,
                squeue::Flags::IO_HARDLINK,
            ),
            (
                Link::new(
                    SliceOp::new(false, file, tail, tail_index, pos),
                    Step::Tail,
                    &chain,
                ),
                0,
                squeue::Flags::empty(),
            ),
        ]);
        if let Err(e) = pushed {
            rt.driver.free_file_slot(slot);
            return Err(js::push_error(e));
        }
        Ok(slot as i32)
    })
}
