//! Vectored and size ops on files: `preadv`/`pwritev` over owned buffers, `set_len`, and
//! `read_dir` (which io_uring has no op for).

use crate::buf::IoBufMut;
use crate::file::File;
use crate::op::{run, run_unit};
use boros::io_uring::{opcode, squeue::Entry, types};
use boros::op::{self, OpCode, Target};
use std::io;
use std::path::Path;

/// `preadv(2)` into owned buffers, in order, at `offset` (`IORING_OP_READV`).
pub struct Readv<B: IoBufMut> {
    target: Target,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBufMut> Readv<B> {
    /// Reads into every buffer's capacity, in order. At most `IOV_MAX` (1024) buffers.
    pub fn new(target: impl Into<Target>, bufs: Vec<B>, offset: u64) -> Self {
        Self {
            target: target.into(),
            bufs,
            iovecs: Vec::new(),
            offset,
        }
    }

    /// Gives the buffers back, the `n` bytes read spread over them in order (each `Vec`'s
    /// length set to its share).
    pub fn into_bufs(mut self, n: u32) -> Vec<B> {
        let mut left = n as usize;
        for b in &mut self.bufs {
            let take = left.min(b.bytes_total());
            // SAFETY: the kernel filled the buffers in order; this one got `take` bytes.
            unsafe { b.set_init(take) };
            crate::buf::set_read_len(b, take);
            left -= take;
        }
        self.bufs
    }
}

// SAFETY: every iovec points into a buffer owned by the op, for its capacity; the iovec
// array is owned by the op too, and neither is touched again until the final CQE.
unsafe impl<B: IoBufMut> OpCode for Readv<B> {
    fn entry(&mut self) -> Entry {
        self.iovecs = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.stable_mut_ptr().cast(),
                iov_len: b.bytes_total(),
            })
            .collect();
        let (ptr, len) = (self.iovecs.as_ptr(), self.iovecs.len() as u32);
        match self.target {
            Target::Fd(fd) => opcode::Readv::new(types::Fd(fd), ptr, len),
            Target::Fixed(i) => opcode::Readv::new(types::Fixed(i), ptr, len),
        }
        .offset(self.offset)
        .build()
    }
}

impl File {
    /// Reads into several buffers at `pos`, in order (`preadv`): one op for all of them.
    /// Returns the total count and the buffers (each `Vec` with its share as its length).
    pub async fn read_vectored_at<B: IoBufMut>(
        &self,
        bufs: Vec<B>,
        pos: u64,
    ) -> (io::Result<usize>, Vec<B>) {
        let done = run(
            Readv::new(self.target(), bufs, pos),
            "fs::File::read_vectored_at",
        )
        .await;
        let r = done.result();
        let n = *r.as_ref().unwrap_or(&0);
        (r.map(|n| n as usize), done.op.into_bufs(n))
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
