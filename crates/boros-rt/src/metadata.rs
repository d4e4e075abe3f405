//! [`Metadata`]: a file's `statx(2)` record, for [`fs`](crate::fs) and [`File`](crate::fs::File).

use crate::op::run;
use boros::op;
use std::time::{Duration, SystemTime};
use std::{fmt, io};

/// Metadata of a file, from `statx(2)`.
#[derive(Clone, Copy)]
pub struct Metadata {
    stx: libc::statx,
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("len", &self.len())
            .field("mode", &format_args!("{:o}", self.mode()))
            .finish()
    }
}

fn stx_time(t: libc::statx_timestamp) -> SystemTime {
    let d = Duration::new(t.tv_sec.unsigned_abs(), t.tv_nsec);
    if t.tv_sec >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    }
}

impl Metadata {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.stx.stx_size
    }
    /// Whether the size is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// File type and permission bits (`st_mode`).
    pub fn mode(&self) -> u32 {
        u32::from(self.stx.stx_mode)
    }
    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode() & libc::S_IFMT == libc::S_IFREG
    }
    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode() & libc::S_IFMT == libc::S_IFDIR
    }
    /// Whether it is a symbolic link (only from [`symlink_metadata`](crate::fs::symlink_metadata)).
    pub fn is_symlink(&self) -> bool {
        self.mode() & libc::S_IFMT == libc::S_IFLNK
    }
    /// Last modification time.
    pub fn modified(&self) -> SystemTime {
        stx_time(self.stx.stx_mtime)
    }
    /// Last access time.
    pub fn accessed(&self) -> SystemTime {
        stx_time(self.stx.stx_atime)
    }
    /// Creation time, when the file system records it.
    pub fn created(&self) -> Option<SystemTime> {
        (self.stx.stx_mask & libc::STATX_BTIME != 0).then(|| stx_time(self.stx.stx_btime))
    }
    /// Inode number.
    pub fn ino(&self) -> u64 {
        self.stx.stx_ino
    }
    /// Hard links.
    pub fn nlink(&self) -> u32 {
        self.stx.stx_nlink
    }
    /// The raw `statx` result.
    pub fn as_raw(&self) -> &libc::statx {
        &self.stx
    }
}

pub(crate) async fn statx(op: op::Statx, what: &str) -> io::Result<Metadata> {
    let done = run(op, what).await;
    done.result()?;
    Ok(Metadata {
        stx: *done.op.result(),
    })
}
