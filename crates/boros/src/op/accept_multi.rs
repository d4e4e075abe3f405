use super::{with_target, Leftover, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// Multishot accept (`IORING_OP_ACCEPT` with `IORING_ACCEPT_MULTISHOT`, Linux 5.19): one SQE,
/// one CQE per accepted connection, each with the new descriptor (`SOCK_CLOEXEC`) as its
/// result and `IORING_CQE_F_MORE` set while the op stays armed. Peer addresses are not
/// reported: ask [`net::peer_addr`](crate::net::peer_addr).
///
/// The op ends with a CQE without `F_MORE`: an error, `-ECANCELED` after a cancel, or a full
/// completion queue. That last CQE may itself carry a descriptor (`result >= 0`). Connections
/// not accepted yet stay in the listen backlog: push a new `AcceptMulti` to go on. Every
/// descriptor a CQE carries belongs to the caller, also after a cancel: close the ones you
/// do not want.
///
/// No direct (registered-file) variant: a multishot accept can only let the kernel pick
/// the slots, which would collide with the driver's own slot allocator.
pub struct AcceptMulti {
    target: Target,
    flags: i32,
}

impl AcceptMulti {
    /// Accepts connections on the listening socket `target` until cancelled.
    pub fn new(target: impl Into<Target>) -> Self {
        Self {
            target: target.into(),
            flags: libc::SOCK_CLOEXEC,
        }
    }

    /// Adds `accept4` flags (`SOCK_NONBLOCK`).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }
}

// SAFETY: a multishot accept carries no pointers (no address is asked for).
unsafe impl OpCode for AcceptMulti {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::AcceptMulti::new(t)
            .flags(self.flags)
            .build())
    }

    fn leftover(&self, result: i32) -> Leftover {
        Leftover::fd(result)
    }
}
