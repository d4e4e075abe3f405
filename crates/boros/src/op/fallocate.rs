use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `fallocate(2)` (Linux 5.6): reserves (or, with mode flags, punches/zeroes) `len` bytes at
/// `offset`. Completes with 0.
pub struct Fallocate {
    target: Target,
    mode: i32,
    offset: u64,
    len: u64,
}

impl Fallocate {
    /// Allocates `len` bytes at `offset` (mode 0: the file grows if needed).
    pub fn new(target: impl Into<Target>, offset: u64, len: u64) -> Self {
        Self {
            target: target.into(),
            mode: 0,
            offset,
            len,
        }
    }

    /// `FALLOC_FL_*` flags (`KEEP_SIZE`, `PUNCH_HOLE`, `ZERO_RANGE`, ...).
    pub fn mode(mut self, mode: i32) -> Self {
        self.mode = mode;
        self
    }
}

// SAFETY: a fallocate carries no pointers.
unsafe impl OpCode for Fallocate {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::Fallocate::new(t, self.len)
            .offset(self.offset)
            .mode(self.mode)
            .build())
    }
}
