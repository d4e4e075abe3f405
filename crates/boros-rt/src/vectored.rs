//! Vectored and size ops on files: `preadv`/`pwritev` over owned buffers, `set_len`, and
//! `read_dir` (which io_uring has no op for).

use crate::buf::IoBufMut;
use crate::file::File;
use crate::op::{run, run_unit};
use boros::io_uring::opcode;
use boros::op::{self, Target};
use std::io;
use std::path::Path;

impl File {
    /// Reads into several buffers at `pos`, in order (`preadv`): one op for all of them.
    /// Returns the total count and the buffers (each `Vec` with its share as its length).
    pub async fn read_vectored_at<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> (io::Result<usize>, Vec<B>) {
        let done = run(
            op::Readv::new(self.target(), bufs, pos),
            "fs::File::read_vectored_at",
        )
        .await;
        let r = done.result();
        let n = *r.as_ref().unwrap_or(&0);
        (
            r.map(|n| n as usize),
            // Each `Vec`'s length set to its share exactly (set_init only grows it).
            done.op.into_bufs_with(n, crate::buf::set_read_len),
        )
    }

    /// Writes several buffers at `pos`, in order (`pwritev`): one op; the count may be short.
    pub async fn write_vectored_at<B: crate::buf::IoBuf>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> (io::Result<usize>, Vec<B>) {
        let done = run(
            op::Writev::new(self.target(), bufs, pos),
            "fs::File::write_vectored_at",
        )
        .await;
        (done.result().map(|n| n as usize), done.op.into_bufs())
    }

    /// Sets the file's size (`ftruncate`): on the ring where the kernel has the op (Linux
    /// 6.9), else the plain system call (instant: it only changes metadata, or frees blocks).
    pub async fn set_len(&self, len: u64) -> io::Result<()> {
        let supported = crate::runtime::with_current("fs::File::set_len", |core| {
            core.driver
                .borrow()
                .info()
                .support
                .has(opcode::Ftruncate::CODE)
        });
        if supported {
            return run_unit(op::Ftruncate::new(self.target(), len), "fs::File::set_len").await;
        }
        let Target::Fd(fd) = self.target() else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "set_len on a direct descriptor needs Linux 6.9 (IORING_OP_FTRUNCATE)",
            ));
        };
        let len = i64::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
        // SAFETY: ftruncate takes no pointers.
        if unsafe { libc::ftruncate(fd, len) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The entries of a directory (not `.` and `..`), as `std::fs::read_dir` gives them.
/// io_uring has no `getdents` op, so the listing runs on a helper thread and the loop goes
/// on meanwhile.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<Vec<std::fs::DirEntry>> {
    let path = path.as_ref().to_owned();
    crate::blocking::unblock(move || std::fs::read_dir(path)?.collect::<io::Result<Vec<_>>>()).await
}
