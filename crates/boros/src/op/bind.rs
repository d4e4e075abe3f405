use super::{with_target, OpCode, Target};
use crate::net::SockAddr;
use io_uring::{opcode, squeue::Entry};

/// `bind(2)` on the ring (`IORING_OP_BIND`, Linux 6.11). On older kernels pushing it fails
/// with [`PushError::Unsupported`](crate::PushError::Unsupported); use
/// [`net::bind`](crate::net::bind) there.
pub struct Bind {
    target: Target,
    addr: SockAddr,
}

impl Bind {
    /// Binds `target` to `addr`.
    pub fn new(target: impl Into<Target>, addr: SockAddr) -> Self {
        Self {
            target: target.into(),
            addr,
        }
    }
}

// SAFETY: the address pointer points into `self.addr`, owned by the op until its CQE.
unsafe impl OpCode for Bind {
    fn entry(&mut self) -> Entry {
        let (ptr, len) = (self.addr.as_ptr(), self.addr.len());
        with_target!(self.target, |t| opcode::Bind::new(t, ptr, len).build())
    }
}
