use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;

/// `renameat2(AT_FDCWD, from, AT_FDCWD, to, flags)` (Linux 5.11). Completes with 0.
pub struct RenameAt {
    from: CString,
    to: CString,
    flags: u32,
}

impl RenameAt {
    /// Renames `from` to `to`, replacing `to` if it exists (as `rename(2)` does).
    pub fn new(from: CString, to: CString) -> Self {
        Self { from, to, flags: 0 }
    }

    /// `renameat2` flags (`RENAME_NOREPLACE`, `RENAME_EXCHANGE`, ...).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }
}

// SAFETY: both paths are owned, NUL-terminated CStrings that live as long as the op.
unsafe impl OpCode for RenameAt {
    fn entry(&mut self) -> Entry {
        opcode::RenameAt::new(
            types::Fd(libc::AT_FDCWD),
            self.from.as_ptr(),
            types::Fd(libc::AT_FDCWD),
            self.to.as_ptr(),
        )
        .flags(self.flags)
        .build()
    }
}
