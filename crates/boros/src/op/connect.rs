use super::{with_target, OpCode, Target};
use crate::net::SockAddr;
use io_uring::{opcode, squeue::Entry};

/// `connect(2)` on the ring (`IORING_OP_CONNECT`, Linux 5.5): completes with 0 once
/// connected, or `-ECONNREFUSED`, `-ETIMEDOUT`, ...
pub struct Connect {
    target: Target,
    addr: SockAddr,
}

impl Connect {
    /// Connects `target` to `addr`.
    pub fn new(target: impl Into<Target>, addr: SockAddr) -> Self {
        Self {
            target: target.into(),
            addr,
        }
    }

    /// The address.
    pub fn addr(&self) -> &SockAddr {
        &self.addr
    }
}

// SAFETY: the address pointer points into `self.addr`, owned by the op until its CQE.
unsafe impl OpCode for Connect {
    fn entry(&mut self) -> Entry {
        let (ptr, len) = (self.addr.as_ptr(), self.addr.len());
        with_target!(self.target, |t| opcode::Connect::new(t, ptr, len).build())
    }
}
