use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;

/// `unlinkat(AT_FDCWD, path, flags)` (Linux 5.11): removes a file, or with
/// [`UnlinkAt::dir`] an empty directory (`AT_REMOVEDIR`, as `rmdir(2)`). Completes with 0.
pub struct UnlinkAt {
    path: CString,
    flags: i32,
}

impl UnlinkAt {
    /// Removes a name that is not a directory (`unlink(2)`).
    pub fn new(path: CString) -> Self {
        Self { path, flags: 0 }
    }

    /// Removes an empty directory (`rmdir(2)`).
    pub fn dir(path: CString) -> Self {
        Self {
            path,
            flags: libc::AT_REMOVEDIR,
        }
    }
}

// SAFETY: the path is an owned, NUL-terminated CString that lives as long as the op.
unsafe impl OpCode for UnlinkAt {
    fn entry(&mut self) -> Entry {
        opcode::UnlinkAt::new(types::Fd(libc::AT_FDCWD), self.path.as_ptr())
            .flags(self.flags)
            .build()
    }
}
