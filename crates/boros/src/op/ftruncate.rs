use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `ftruncate(2)` (Linux 6.9): sets the file's size to `len`. Completes with 0.
///
/// Older kernels do not have the opcode: [`Driver::push`](crate::Driver::push) refuses it
/// with [`PushError::Unsupported`](crate::PushError::Unsupported), and callers fall back to
/// the `ftruncate` system call (the Node binding records which path it took).
pub struct Ftruncate {
    target: Target,
    len: u64,
}

impl Ftruncate {
    /// Truncates (or extends with zeroes) to `len` bytes.
    pub fn new(target: impl Into<Target>, len: u64) -> Self {
        Self {
            target: target.into(),
            len,
        }
    }
}

// SAFETY: an ftruncate carries no pointers.
unsafe impl OpCode for Ftruncate {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::Ftruncate::new(t, self.len).build())
    }
}
