use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `listen(2)` on the ring (`IORING_OP_LISTEN`, Linux 6.11). On older kernels pushing it
/// fails with [`PushError::Unsupported`](crate::PushError::Unsupported); use
/// [`net::listen`](crate::net::listen) there.
pub struct Listen {
    target: Target,
    backlog: i32,
}

impl Listen {
    /// Marks `target` as listening, with room for `backlog` pending connections.
    pub fn new(target: impl Into<Target>, backlog: i32) -> Self {
        Self {
            target: target.into(),
            backlog,
        }
    }
}

// SAFETY: a listen op carries no pointers.
unsafe impl OpCode for Listen {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::Listen::new(t, self.backlog)
            .build())
    }
}
