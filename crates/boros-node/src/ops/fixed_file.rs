//! Ops on a registered-file slot: the open that fills it, the close that empties it. The
//! driver frees the slot at the final CQE of the op that left it empty (`boros::op::SlotUse`:
//! a failed open, a completed close), so neither the façade nor these ops free a slot.

use crate::complete::JsBatch;
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode, SlotUse, Target};
use boros::Complete;
use boros::Cqe;

/// An open into a registered-file slot the runtime allocated. Settles the façade's token with
/// the slot (the file's name from now on) or `-errno`; a failed open gives the slot back.
pub struct OpenFixed {
    op: op::OpenAt,
    slot: u32,
    token: u32,
}

impl OpenFixed {
    /// `op` (built with `.direct(slot)`) opening into `slot`.
    pub fn new(op: op::OpenAt, slot: u32, token: u32) -> Box<Self> {
        Box::new(Self { op, slot, token })
    }
}

// SAFETY: delegates to `op::OpenAt`, which owns its path.
unsafe impl OpCode for OpenFixed {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn file_slot(&self) -> Option<SlotUse> {
        self.op.file_slot()
    }
}

impl Complete<JsBatch<'_>> for OpenFixed {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        if cqe.result < 0 {
            cx.settle(self.token, cqe.result);
        } else {
            cx.settle(self.token, self.slot as i32);
        }
    }
}

/// The close of a registered-file slot (the driver frees the slot once the close completed).
pub struct CloseFixed {
    op: op::Close,
    token: Option<u32>,
}

impl CloseFixed {
    /// Closes `slot`, settling `token` if there is one.
    pub fn new(slot: u32, token: Option<u32>) -> Box<Self> {
        Box::new(Self {
            op: op::Close::new(Target::Fixed(slot)),
            token,
        })
    }
}

// SAFETY: the close entry carries no pointer.
unsafe impl OpCode for CloseFixed {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn file_slot(&self) -> Option<SlotUse> {
        self.op.file_slot()
    }
}

impl Complete<JsBatch<'_>> for CloseFixed {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        if let Some(t) = self.token {
            cx.settle(t, cqe.result);
        }
    }
}
