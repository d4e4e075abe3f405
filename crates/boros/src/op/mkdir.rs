use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;

/// `mkdirat(AT_FDCWD, path, mode)` (Linux 5.15). Completes with 0.
pub struct MkDirAt {
    path: CString,
    mode: u32,
}

impl MkDirAt {
    /// Creates the directory `path` with `mode` (minus the umask).
    pub fn new(path: CString, mode: u32) -> Self {
        Self { path, mode }
    }
}

// SAFETY: the path is an owned, NUL-terminated CString that lives as long as the op.
unsafe impl OpCode for MkDirAt {
    fn entry(&mut self) -> Entry {
        opcode::MkDirAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .mode(self.mode)
            .build()
    }
}
