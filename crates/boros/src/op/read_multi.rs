use super::{with_target, OpCode, Target};
use crate::bufring::BufRing;
use io_uring::{opcode, squeue::Entry};
use std::rc::Rc;

/// Multishot read (`IORING_OP_READ_MULTISHOT`, Linux 6.7) from a pollable file (pipe, FIFO,
/// character device, socket) into buffers the kernel picks from a [`BufRing`].
///
/// One SQE, many CQEs: each time data arrives the kernel takes a buffer from the group,
/// fills it and posts a CQE with `IORING_CQE_F_MORE` and the buffer id
/// ([`Completion::buffer_id`](crate::Completion::buffer_id)). The op ends with a CQE without
/// `F_MORE`: `0` at end of file, `-ENOBUFS` when the group ran out of buffers (recycle, then
/// queue a new one), `-ECANCELED` after a cancel, or another error. The op holds the group
/// until that final CQE, so its memory cannot go away under the kernel.
pub struct ReadMulti {
    target: Target,
    group: Rc<BufRing>,
}

impl ReadMulti {
    /// Reads from `target` into buffers of `ring`, each CQE at most one buffer's size.
    pub fn new(target: impl Into<Target>, ring: Rc<BufRing>) -> Self {
        Self {
            target: target.into(),
            group: ring,
        }
    }

    /// The group.
    pub fn ring(&self) -> &BufRing {
        &self.group
    }
}

// SAFETY: the entry carries no pointer: the kernel takes buffers from the group's ring,
// whose memory `self.group` keeps alive until the op is dropped, after its final CQE (the
// driver also counts the op as a user of the group until then, so the group is not
// unregistered under it).
unsafe impl OpCode for ReadMulti {
    fn entry(&mut self) -> Entry {
        let bgid = self.group.bgid();
        // len 0: each read may fill a whole buffer; offset 0 (streams have no position).
        with_target!(self.target, |t| opcode::ReadMulti::new(t, 0, bgid).build())
    }

    fn buf_group(&self) -> Option<u16> {
        Some(self.group.bgid())
    }
}
