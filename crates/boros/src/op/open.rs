use super::{Leftover, OpCode, SlotUse};
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
    slot: Option<u32>,
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

    /// Opens into a direct descriptor slot (from
    /// [`Driver::alloc_file_slot`](crate::Driver::alloc_file_slot)) instead of the process's
    /// file table. A direct descriptor is never in the process's file table, so `O_CLOEXEC`
    /// (which the kernel rejects with EINVAL for direct opens) is dropped. If the open fails
    /// (or is cancelled), the driver frees the slot at its final CQE ([`SlotUse`]).
    pub fn direct(mut self, slot: u32) -> Self {
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
            // Slots come from the table's allocator, far below the kernel's limit (2^32 - 2).
            op = op.file_index(types::DestinationSlot::try_from_slot_target(slot).ok());
        }
        op.build()
    }

    fn file_slot(&self) -> Option<SlotUse> {
        self.slot.map(SlotUse::Fills)
    }

    fn leftover(&self, result: i32) -> Leftover {
        match self.slot {
            Some(slot) if result >= 0 => Leftover::FixedSlot(slot),
            Some(_) => Leftover::Nothing,
            None => Leftover::fd(result),
        }
    }
}
