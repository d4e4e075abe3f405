use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `getsockopt(2)` on the ring: the `SOCKET_URING_OP_GETSOCKOPT` command of
/// `IORING_OP_URING_CMD` (Linux 6.7). The kernel takes only level `SOL_SOCKET` (others
/// complete with `-EOPNOTSUPP`); check [`net::sockopt_cmds`](crate::net::sockopt_cmds) and
/// use [`net::getsockopt`](crate::net::getsockopt) otherwise. Completes with the option's
/// length; read the value with [`value`](GetSockOpt::value) or [`int`](GetSockOpt::int).
pub struct GetSockOpt {
    target: Target,
    level: u32,
    name: u32,
    value: Vec<u8>,
}

impl GetSockOpt {
    /// Reads option `name` of `level`, with room for `len` bytes.
    pub fn new(target: impl Into<Target>, level: i32, name: i32, len: usize) -> Self {
        Self {
            target: target.into(),
            level: level as u32,
            name: name as u32,
            value: vec![0; len],
        }
    }

    /// The first `n` bytes of the value (`n` from the CQE).
    pub fn value(&self, n: u32) -> &[u8] {
        &self.value[..(n as usize).min(self.value.len())]
    }

    /// The value as an `int`, when the op was built with room for 4 bytes and read 4.
    pub fn int(&self) -> Option<i32> {
        let b: [u8; 4] = self.value.get(..4)?.try_into().ok()?;
        Some(i32::from_ne_bytes(b))
    }
}

// SAFETY: the value pointer and length describe `self.value`, a heap buffer owned by the op
// until its CQE; the kernel writes at most its length.
unsafe impl OpCode for GetSockOpt {
    fn entry(&mut self) -> Entry {
        let (ptr, len) = (self.value.as_mut_ptr().cast(), self.value.len() as u32);
        with_target!(self.target, |t| opcode::GetSockOpt::new(
            t, self.level, self.name, ptr, len
        )
        .build())
    }
}
