//! Direct descriptors (fixed files): a per-ring sparse file table, opens into it, every op
//! of such a handle with `IOSQE_FIXED_FILE`, and `readFile` of a small file in one trip
//! through the loop (open -> read -> read linked and submitted together).
//!
//! A direct descriptor is named in JS as `-2 - slot` (see [`crate::args::target`]).
//! The slot allocator lives in the core driver; the façade frees a slot once the close of its
//! file (or the failed open into it) has completed.

use crate::args::cstring;
use crate::js::{self, codes, Result};
use crate::ops::{token, KIND_PLAIN};
use crate::pool::{pool_slice, NativeBufferPool};
use crate::runtime;
use boros::io_uring::{squeue, types::DestinationSlot};
use boros::op::{self, OpCode, Target};
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

/// Token kinds of the one-trip readFile chain (high 32 bits; the low 32 hold the file slot).
const KIND_LINKED_OPEN: u64 = 16;
const KIND_LINKED_READ: u64 = 17;
const KIND_LINKED_TAIL: u64 = 18;
/// The close the runtime queues itself for a chain that ended (low 32 bits: the slot).
const KIND_SLOT_CLOSE: u64 = 19;

/// Whether a token kind belongs to the one-trip readFile (see [`LinkedReads`]).
pub fn is_linked_kind(kind: u64) -> bool {
    (KIND_LINKED_OPEN..=KIND_SLOT_CLOSE).contains(&kind)
}

/// Results of the one-trip readFile chains in flight on this thread, by file slot.
///
/// The chain's three CQEs arrive in order (each op of a linked chain starts only after the
/// one before it completed). The first two only record their result here; the last one
/// completes the JS token with all three packed into one number (see [`pack`]) and decides
/// the descriptor's fate: closed by the runtime itself (the file was read to its end, or
/// something failed), or left open for the façade, which reads on (the file has more data).
#[derive(Default)]
pub struct LinkedReads {
    chains: std::collections::HashMap<u32, Chain>,
    /// Slots whose chain ended, to close (`true`) or just free (`false`) once the reap is over.
    pending: Vec<(u32, bool)>,
}

struct Chain {
    token: u32,
    open: i32,
    read: i32,
}

/// One number for the façade: `-(errno + 4096 * which)` when the open (`which` 0) or a read
/// (`which` 1) failed; otherwise `first | tail << 16` (bytes of each read).
fn pack(open: i32, read: i32, tail: i32) -> i32 {
    if open < 0 {
        open
    } else if read < 0 {
        read - 4096
    } else if tail < 0 {
        tail - 4096
    } else {
        read | tail << 16
    }
}

impl LinkedReads {
    fn start(&mut self, slot: u32, token: u32) {
        self.chains.insert(
            slot,
            Chain {
                token,
                open: 0,
                read: 0,
            },
        );
    }

    /// Records one CQE of a chain; the last one yields the JS completion.
    pub fn finish(&mut self, c: &boros::Completion) -> Option<(u32, i32)> {
        let slot = c.token as u32;
        match c.token >> 32 {
            KIND_LINKED_OPEN => {
                if let Some(chain) = self.chains.get_mut(&slot) {
                    chain.open = c.result;
                }
                None
            }
            KIND_LINKED_READ => {
                if let Some(chain) = self.chains.get_mut(&slot) {
                    chain.read = c.result;
                }
                None
            }
            KIND_LINKED_TAIL => {
                let chain = self.chains.remove(&slot)?;
                let tail = c.result;
                if chain.open < 0 {
                    // A failed open leaves the slot empty.
                    self.pending.push((slot, false));
                } else if chain.read < 0 || tail <= 0 {
                    // Read to its end (the second read found EOF), or failed: done with it.
                    self.pending.push((slot, true));
                }
                // Else the file has more: the façade reads on and closes the slot itself.
                Some((chain.token, pack(chain.open, chain.read, tail)))
            }
            _ => {
                // KIND_SLOT_CLOSE: the slot is empty now.
                self.pending.push((slot, false));
                None
            }
        }
    }

    /// Queues the closes (when `may_push`) and frees the slots of chains that ended (after a
    /// reap: the driver is not borrowed any more).
    /// Returns whether it queued a close.
    pub fn after_reap(&mut self, driver: &mut boros::Driver, may_push: bool) -> bool {
        let mut pushed = false;
        for (slot, close) in self.pending.drain(..) {
            if close && may_push {
                let op = Box::new(op::Close::new(Target::Fixed(slot)));
                if driver
                    .push(op, KIND_SLOT_CLOSE << 32 | u64::from(slot))
                    .is_ok()
                {
                    pushed = true;
                    continue;
                }
                // Only a broken ring refuses a close: its file table goes with it.
            }
            driver.free_file_slot(slot);
        }
        pushed
    }
}

/// `readFile` of a small file in one trip. Takes a free slot of the file table (returns -1,
/// queuing nothing, when there is none) and queues, linked: `open(path)` into that direct
/// descriptor -> a read of up to `first_len` bytes at the file position into bytes
/// `0..first_len` of pool buffer `index` -> a read of up to `tail_len` bytes at the file
/// position into bytes `first_len..first_len+tail_len` of the same buffer (`READ_FIXED` when
/// the pool is registered). A failed open cancels both reads (`-ECANCELED`); the reads are
/// hard-linked, so the second runs after a short first one. Returns the slot.
///
/// One completion, of `token_id`, when the chain ends: see [`pack`]. The second read is how
/// the runtime knows, without a `statx` (which io_uring always runs on an io-wq worker), that
/// a short first read was the end of the file: it returns 0 then, whatever the file is (FUSE
/// and procfs files can return short reads before their end, pipes always can). Then, or
/// when something failed, the runtime closes the slot itself. When the second read returns
/// data, the slot stays open: the façade reads on on the same descriptor (so nothing read
/// from a pipe is lost) and closes it.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn read_file_linked(
    path: String,
    flags: i32,
    pool: &NativeBufferPool,
    index: u32,
    first_len: u32,
    tail_len: u32,
    token_id: u32,
) -> Result<i32> {
    if first_len > 0xffff || tail_len > 0x7fff {
        return Err(js::error(codes::OUT_OF_RANGE, "read lengths too large"));
    }
    let path = cstring(path, "path")?;
    let (first, first_index) = pool_slice(pool, index, 0, first_len)?;
    let (tail, tail_index) = pool_slice(pool, index, first_len, tail_len)?;
    runtime::with(|rt| {
        let Some(slot) = rt.driver.alloc_file_slot() else {
            return Ok(-1);
        };
        let read = |buf, bi: Option<u16>| -> Box<dyn OpCode> {
            let t = Target::Fixed(slot);
            match bi {
                Some(bi) => Box::new(op::ReadFixed::new(t, buf, bi, op::CURRENT_POSITION)),
                None => Box::new(op::Read::new(t, buf, op::CURRENT_POSITION)),
            }
        };
        let chain = |kind: u64| kind << 32 | u64::from(slot);
        crate::pool::flush_deferred(&mut rt.driver);
        let d = dest(slot)?;
        let open: Box<dyn OpCode> = Box::new(op::OpenAt::new(path, flags, 0).direct(d));
        let pushed = rt.driver.push_linked(vec![
            (open, chain(KIND_LINKED_OPEN), squeue::Flags::IO_LINK),
            (
                read(first, first_index),
                chain(KIND_LINKED_READ),
                squeue::Flags::IO_HARDLINK,
            ),
            (
                read(tail, tail_index),
                chain(KIND_LINKED_TAIL),
                squeue::Flags::empty(),
            ),
        ]);
        if let Err(e) = pushed {
            rt.driver.free_file_slot(slot);
            return Err(js::push_error(e));
        }
        rt.linked.start(slot, token_id);
        Ok(slot as i32)
    })
}
