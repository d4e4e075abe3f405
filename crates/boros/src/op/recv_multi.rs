use super::{with_target, OpCode, Target};
use crate::bufring::BufRing;
use io_uring::{opcode, squeue::Entry};
use std::rc::Rc;

/// Multishot `recv(2)` (`IORING_OP_RECV` with `IORING_RECV_MULTISHOT`, Linux 6.0) into
/// buffers the kernel picks from a [`BufRing`].
///
/// One SQE, one CQE per chunk received: each names the buffer it filled
/// ([`Completion::buffer_id`](crate::Completion::buffer_id)) and has `IORING_CQE_F_MORE` set
/// while the op stays armed. [`BufRing::lease`] the buffer, read it, drop the lease to give
/// it back. The op ends with a CQE without `F_MORE`:
/// - `0`: end of stream (the peer shut down its sending side or closed);
/// - `-ENOBUFS`: the group ran out of buffers. Nothing is lost: the bytes the kernel could
///   not place are still in the socket. Drop leases, then push a new `RecvMulti` (or wait:
///   not re-arming is how a paused reader stops the peer, through TCP flow control);
/// - `-ECANCELED` after a cancel; `-ECONNRESET` and other errors;
/// - a final CQE that itself carries data (the kernel ended the op, e.g. the completion
///   queue was full): lease it like the others and re-arm.
///
/// A cancelled recv may still have filled buffers: lease and drop every buffer a CQE names,
/// or it is lost to the group.
///
/// ## Bundles (Linux 6.10)
/// With [`bundle`](RecvMulti::bundle), one CQE may cover several buffers taken in ring order
/// (`IORING_RECVSEND_BUNDLE`): fewer CQEs for bulk data. Lease them with
/// [`BufRing::lease_bundle`]. Check [`net::recv_bundles`](crate::net::recv_bundles) first:
/// older kernels fail the op with `-EINVAL`.
pub struct RecvMulti {
    target: Target,
    group: Rc<BufRing>,
    bundle: bool,
    flags: i32,
}

impl RecvMulti {
    /// Receives from `target` into buffers of `ring`, each CQE at most one buffer's size.
    pub fn new(target: impl Into<Target>, ring: Rc<BufRing>) -> Self {
        Self {
            target: target.into(),
            group: ring,
            bundle: false,
            flags: 0,
        }
    }

    /// Lets one CQE fill several buffers (`IORING_RECVSEND_BUNDLE`, Linux 6.10).
    pub fn bundle(mut self, on: bool) -> Self {
        self.bundle = on;
        self
    }

    /// Adds `recv(2)` flags (not `MSG_WAITALL`, which multishot refuses).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// The group.
    pub fn ring(&self) -> &BufRing {
        &self.group
    }
}

// SAFETY: the entry carries no pointer: the kernel takes buffers from the group's ring,
// whose memory `self.group` keeps alive until the op is dropped, after its final CQE (the
// driver also counts the op as a user of the group until then).
unsafe impl OpCode for RecvMulti {
    fn entry(&mut self) -> Entry {
        let bgid = self.group.bgid();
        if self.bundle {
            with_target!(self.target, |t| opcode::RecvMultiBundle::new(t, bgid)
                .flags(self.flags)
                .build())
        } else {
            with_target!(self.target, |t| opcode::RecvMulti::new(t, bgid)
                .flags(self.flags)
                .build())
        }
    }

    fn buf_group(&self) -> Option<u16> {
        Some(self.group.bgid())
    }
}
