use super::OpCode;
use io_uring::{opcode, squeue::Entry, types};
use std::ffi::CString;
use std::os::fd::RawFd;

/// `statx(2)` of a path, or of an open descriptor (`AT_EMPTY_PATH`).
pub struct Statx {
    dirfd: RawFd,
    path: CString,
    flags: i32,
    mask: u32,
    buf: libc::statx,
}

impl Statx {
    /// Stats `path` (following symlinks unless `follow` is false).
    pub fn path(path: CString, follow: bool) -> Self {
        let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
        Self::build(libc::AT_FDCWD, path, flags)
    }

    /// Stats an open descriptor.
    pub fn fd(fd: RawFd) -> Self {
        Self::build(fd, CString::default(), libc::AT_EMPTY_PATH)
    }

    fn build(dirfd: RawFd, path: CString, flags: i32) -> Self {
        // SAFETY: statx is plain old data; all-zero is valid.
        let buf = unsafe { std::mem::zeroed() };
        Self {
            dirfd,
            path,
            flags,
            mask: libc::STATX_BASIC_STATS | libc::STATX_BTIME,
            buf,
        }
    }

    /// The result, once the op completed with 0.
    pub fn result(&self) -> &libc::statx {
        &self.buf
    }
}

// SAFETY: the path and the statx buffer are fields of the op, which the driver keeps boxed
// in place until the CQE arrives.
unsafe impl OpCode for Statx {
    fn entry(&mut self) -> Entry {
        opcode::Statx::new(
            types::Fd(self.dirfd),
            self.path.as_ptr(),
            (&mut self.buf as *mut libc::statx).cast(),
        )
        .flags(self.flags)
        .mask(self.mask)
        .build()
    }
}
