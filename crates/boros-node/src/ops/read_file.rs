//! The one-trip `readFile` of a small file: `open(path)` into a registered-file slot → a read
//! → a second read, linked (`IOSQE_IO_LINK`, then `IOSQE_IO_HARDLINK`) and submitted together,
//! with one JS completion for the three.
//!
//! The three ops share one [`Chain`]. The chain's CQEs arrive in order (each op of a linked
//! chain starts only after the one before it completed): the open and the first read only
//! record their result; the last read settles the façade's token with all three packed into
//! one number (see [`pack`]) and decides the slot's fate: closed by the runtime itself (the
//! file was read to its end, or something failed), or left open for the façade, which reads
//! on (the file has more data) and closes it.
//!
//! The second read is how the runtime knows, without a `statx` (which io_uring always runs on
//! an io-wq worker), that a short first read was the end of the file: it returns 0 then,
//! whatever the file is (FUSE and procfs files can return short reads before their end, pipes
//! always can).

use super::CloseFixed;
use crate::complete::{FollowUp, JsBatch};
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode, SlotUse};
use boros::Complete;
use boros::Cqe;
use std::cell::Cell;
use std::rc::Rc;

/// What the three ops of one chain share.
pub struct Chain {
    token: u32,
    slot: u32,
    open: Cell<i32>,
    read: Cell<i32>,
}

impl Chain {
    /// A chain settling `token`, opening into `slot`.
    pub fn new(token: u32, slot: u32) -> Rc<Self> {
        Rc::new(Self {
            token,
            slot,
            open: Cell::new(0),
            read: Cell::new(0),
        })
    }
}

/// Which link of the chain an op is.
#[derive(Clone, Copy)]
pub enum Step {
    /// The open into the slot.
    Open,
    /// The first read.
    Read,
    /// The second read, which ends the chain.
    Tail,
}

/// One link of a chain: a core op and its place in the chain.
pub struct Link<T> {
    op: T,
    step: Step,
    chain: Rc<Chain>,
}

impl<T: OpCode> Link<T> {
    /// `op` as the `step` link of `chain`.
    pub fn new(op: T, step: Step, chain: &Rc<Chain>) -> Box<Self> {
        Box::new(Self {
            op,
            step,
            chain: Rc::clone(chain),
        })
    }
}

// SAFETY: delegates to the core op, which owns everything its entry points to.
unsafe impl<T: OpCode> OpCode for Link<T> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn file_slot(&self) -> Option<SlotUse> {
        self.op.file_slot()
    }
}

impl<T: OpCode> Complete<JsBatch<'_>> for Link<T> {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        let chain = &self.chain;
        match self.step {
            Step::Open => chain.open.set(cqe.result),
            Step::Read => chain.read.set(cqe.result),
            Step::Tail => {
                let (open, read, tail) = (chain.open.get(), chain.read.get(), cqe.result);
                // A failed open left the slot empty, and the driver freed it.
                if open >= 0 && (read < 0 || tail <= 0) {
                    // Read to its end (the second read found EOF), or failed: done with it.
                    // The close frees the slot when it completes.
                    cx.defer(FollowUp::Push(CloseFixed::new(chain.slot, None)));
                }
                // Else the file has more: the façade reads on and closes the slot itself.
                cx.settle(chain.token, pack(open, read, tail));
            }
        }
    }
}

/// One number for the façade: `-(errno + 4096 * which)` when the open (`which` 0) or a read
/// (`which` 1) failed; otherwise `first | tail << 16` (bytes of each read; the façade's
/// lengths are checked to fit: first < 2^16, tail < 2^15).
pub fn pack(open: i32, read: i32, tail: i32) -> i32 {
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

/// The open of a chain.
pub fn open(path: std::ffi::CString, flags: i32, slot: u32) -> op::OpenAt {
    op::OpenAt::new(path, flags, 0).direct(slot)
}
