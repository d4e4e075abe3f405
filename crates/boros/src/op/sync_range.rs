use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry};

/// `sync_file_range(2)` (Linux 5.2): with `SYNC_FILE_RANGE_WRITE` alone, starts the write-back
/// of the range's dirty pages without waiting for it (no durability promise: that is
/// [`Fsync`](super::Fsync)'s). `len` 0 means "to the end of the file". Completes with 0.
pub struct SyncFileRange {
    target: Target,
    offset: u64,
    len: u32,
    flags: u32,
}

impl SyncFileRange {
    /// `flags`: `SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER` (libc's constants).
    pub fn new(target: impl Into<Target>, offset: u64, len: u32, flags: u32) -> Self {
        Self {
            target: target.into(),
            offset,
            len,
            flags,
        }
    }
}

// SAFETY: a sync_file_range carries no pointers.
unsafe impl OpCode for SyncFileRange {
    fn entry(&mut self) -> Entry {
        with_target!(self.target, |t| opcode::SyncFileRange::new(t, self.len)
            .offset(self.offset)
            .flags(self.flags)
            .build())
    }
}
