use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `setsockopt(2)` on the ring: the `SOCKET_URING_OP_SETSOCKOPT` command of
/// `IORING_OP_URING_CMD` (Linux 6.7). The opcode is older than the command, so a probe cannot
/// tell: check [`net::sockopt_cmds`](crate::net::sockopt_cmds) and use
/// [`net::setsockopt`](crate::net::setsockopt) when it says no (older kernels complete the op
/// with `-EOPNOTSUPP`). Completes with 0.
pub struct SetSockOpt {
    target: Target,
    level: u32,
    name: u32,
    value: Vec<u8>,
}

impl SetSockOpt {
    /// Sets option `name` of `level` (`SOL_SOCKET`, `IPPROTO_TCP`, ...) to the raw `value`.
    pub fn new(target: impl Into<Target>, level: i32, name: i32, value: Vec<u8>) -> Self {
        Self {
            target: target.into(),
            level: level as u32,
            name: name as u32,
            value,
        }
    }

    /// Sets an `int` option (`SO_REUSEADDR`, `TCP_NODELAY`, ...).
    pub fn int(target: impl Into<Target>, level: i32, name: i32, value: i32) -> Self {
        Self::new(target, level, name, value.to_ne_bytes().to_vec())
    }
}

// SAFETY: the value pointer and length describe `self.value`, a heap buffer owned by the op
// until its CQE.
unsafe impl OpCode for SetSockOpt {
    fn entry(&mut self) -> Entry {
        let (ptr, len) = (self.value.as_ptr().cast(), self.value.len() as u32);
        with_target!(self.target, |t| opcode::SetSockOpt::new(
            t, self.level, self.name, ptr, len
        )
        .build())
    }
}
