use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `posix_fadvise(2)` (Linux 5.6): tells the kernel how a range will be accessed
/// (`POSIX_FADV_SEQUENTIAL`, `WILLNEED`, `DONTNEED`, ...). `len` 0 means "to the end".
/// Completes with 0.
pub struct Fadvise {
    target: Target,
    offset: u64,
    len: i64,
    advice: i32,
}

impl Fadvise {
    /// Gives `advice` for `len` bytes at `offset`.
    pub fn new(target: impl Into<Target>, offset: u64, len: i64, advice: i32) -> Self {
        Self {
            target: target.into(),
            offset,
            len,
            advice,
        }
    }
}

// SAFETY: an fadvise carries no pointers.
unsafe impl OpCode for Fadvise {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::Fadvise::new(
            t,
            self.len,
            self.advice
        )
        .offset(self.offset)
        .build())
    }
}
