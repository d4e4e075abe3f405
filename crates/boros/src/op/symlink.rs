use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;

/// `symlinkat(target, AT_FDCWD, link)` (Linux 5.15): creates `link` pointing at `target`.
/// Completes with 0.
pub struct SymlinkAt {
    target: CString,
    link: CString,
}

impl SymlinkAt {
    /// Creates the symbolic link `link` whose contents are `target` (not resolved).
    pub fn new(target: CString, link: CString) -> Self {
        Self { target, link }
    }
}

// SAFETY: both paths are owned, NUL-terminated CStrings that live as long as the op.
unsafe impl OpCode for SymlinkAt {
    fn entry(&mut self) -> Entry {
        opcode::SymlinkAt::new(
            types::Fd(libc::AT_FDCWD),
            self.target.as_ptr(),
            self.link.as_ptr(),
        )
        .build()
    }
}
