use crate::complete::JsBatch;
use boros::io_uring::squeue::Entry;
use boros::op::OpCode;
use boros::Complete;
use boros::Cqe;

/// Any core op whose CQE result goes to JS as it is: a count, a descriptor, 0, or `-errno`.
/// The op (and every buffer, path or pinned JS value it holds) drops after its final CQE.
pub struct Passthrough<T> {
    op: T,
    token: u32,
}

impl<T: OpCode> Passthrough<T> {
    /// `op`, settling the façade's `token`.
    pub fn new(op: T, token: u32) -> Box<Self> {
        Box::new(Self { op, token })
    }
}

// SAFETY: delegates to the core op, which owns everything its entry points to.
unsafe impl<T: OpCode> OpCode for Passthrough<T> {
    fn entry(&mut self) -> Entry {
        self.op.entry()
    }
    fn buf_group(&self) -> Option<u16> {
        self.op.buf_group()
    }
    fn file_slot(&self) -> Option<boros::op::SlotUse> {
        self.op.file_slot()
    }
}

impl<T: OpCode> Complete<JsBatch<'_>> for Passthrough<T> {
    fn complete(self: Box<Self>, cqe: &Cqe, cx: &mut JsBatch<'_>) {
        cx.settle(self.token, cqe.result);
    }
}
