use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::os::fd::RawFd;

/// `openat(2)`. Completes with the new descriptor (or, with [`OpenAt::direct`], 0 and the file
/// placed in the registered table).
pub struct OpenAt {
    dirfd: RawFd,
    path: CString,
    flags: i32,
    mode: u32,
    slot: Option<types::DestinationSlot>,
}

impl OpenAt {
    /// Opens `path` relative to the working directory (absolute paths ignore it).
    pub fn new(path: CString, flags: i32, mode: u32) -> Self {
        Self {
            dirfd: libc::AT_FDCWD,
            path,
            flags: flags | libc::O_CLOEXEC,
            mode,
            slot: None,
        }
    }

    /// Opens into a direct descriptor slot instead of the process's file table. A direct
    /// descriptor is never in the process's file table, so `O_CLOEXEC` (which the kernel
    /// rejects with EINVAL for direct opens) is dropped.
    pub fn direct(mut self, slot: types::DestinationSlot) -> Self {
        self.slot = Some(slot);
        self.flags &= !libc::O_CLOEXEC;
        self
    }

    /// The path, for error messages.
    pub fn path(&self) -> &CString {
        &self.path
    }
}

// SAFETY: the path is an owned, NUL-terminated CString that lives as long as the op.
unsafe impl OpCode for OpenAt {
    fn entry(&mut self) -> Entry {
        let mut op = opcode::OpenAt::new(types::Fd(self.dirfd), self.path.as_ptr())
            .flags(self.flags)
            .mode(self.mode);
        if let Some(slot) = self.slot {
            op = op.file_index(Some(slot));
        }
        op.build()
    }
}
