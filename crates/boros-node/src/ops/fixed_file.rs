//! Ops whose completion decides the fate of a registered-file slot: the slot's lifetime is
//! tied to the op's final CQE here, so the façade never frees a slot itself.

use crate::complete::{Finish, Later, NodeOp};
use boros::io_uring::squeue::Entry;
use boros::op::{self, OpCode, Target};
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
}

impl NodeOp for OpenFixed {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>) {
        if cqe.result < 0 {
            cx.defer(Later::FreeFileSlot(self.slot));
            cx.settle(self.token, cqe.result);
        } else {
            cx.settle(self.token, self.slot as i32);
        }
    }
}

/// The close of a registered-file slot. The slot is empty once the close completed (even a
/// failed close drops the file), so it goes back to the allocator then.
pub struct CloseFixed {
    op: op::Close,
    slot: u32,
    token: Option<u32>,
}

impl CloseFixed {
    /// Closes `slot`, settling `token` if there is one.
    pub fn new(slot: u32, token: Option<u32>) -> Box<Self> {
        Box::new(Self {
            op: op::Close::new(Target::Fixed(slot)),
            slot,
            token,
        })
    }
}

// SAFETY: the close entry carries no pointer.
unsafe impl OpCode for CloseFixed {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
}

impl NodeOp for CloseFixed {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut Finish<'_>) {
        cx.defer(Later::FreeFileSlot(self.slot));
        if let Some(t) = self.token {
            cx.settle(t, cqe.result);
        }
    }
}
