use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;

/// `linkat(AT_FDCWD, existing, AT_FDCWD, new, flags)` (Linux 5.15): a new hard link.
/// Completes with 0.
pub struct LinkAt {
    existing: CString,
    new: CString,
    flags: i32,
}

impl LinkAt {
    /// Links `new` to the file `existing` names (a final symlink is not followed, as `link(2)`).
    pub fn new(existing: CString, new: CString) -> Self {
        Self {
            existing,
            new,
            flags: 0,
        }
    }

    /// Follows `existing` if it is a symbolic link (`AT_SYMLINK_FOLLOW`).
    pub fn follow(mut self) -> Self {
        self.flags |= libc::AT_SYMLINK_FOLLOW;
        self
    }
}

// SAFETY: both paths are owned, NUL-terminated CStrings that live as long as the op.
unsafe impl OpCode for LinkAt {
    fn entry(&mut self) -> Entry {
        opcode::LinkAt::new(
            types::Fd(libc::AT_FDCWD),
            self.existing.as_ptr(),
            types::Fd(libc::AT_FDCWD),
            self.new.as_ptr(),
        )
        .flags(self.flags)
        .build()
    }
}
