use super::{with_target, OpCode, Target};
use io_uring::{opcode, squeue::Entry, types::FsyncFlags};

/// `fsync(2)`, or `fdatasync(2)` with [`Fsync::datasync`].
pub struct Fsync {
    target: Target,
    datasync: bool,
}

impl Fsync {
    /// Flushes data and metadata.
    pub fn new(target: impl Into<Target>) -> Self {
        Self {
            target: target.into(),
            datasync: false,
        }
    }
    /// Flushes data, and only the metadata needed to read it back.
    pub fn datasync(mut self) -> Self {
        self.datasync = true;
        self
    }
}

// SAFETY: an fsync carries no pointers.
unsafe impl OpCode for Fsync {
    fn entry(&mut self) -> Entry {
        let flags = if self.datasync {
            FsyncFlags::DATASYNC
        } else {
            FsyncFlags::empty()
        };
        with_target!(self.target, |t| opcode::Fsync::new(t).flags(flags).build())
    }
}
