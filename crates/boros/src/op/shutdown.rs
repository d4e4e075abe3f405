use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `shutdown(2)` on the ring (`IORING_OP_SHUTDOWN`, Linux 5.11): `SHUT_WR` sends the peer
/// end of stream (its recv completes with 0) while this side can still read.
pub struct Shutdown {
    target: Target,
    how: i32,
}

impl Shutdown {
    /// Shuts down `how` (`libc::SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`) of `target`.
    pub fn new(target: impl Into<Target>, how: i32) -> Self {
        Self {
            target: target.into(),
            how,
        }
    }
}

// SAFETY: a shutdown op carries no pointers.
unsafe impl OpCode for Shutdown {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::Shutdown::new(t, self.how).build())
    }
}
