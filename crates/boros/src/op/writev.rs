use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{opcode, squeue::Entry};

/// `pwritev(2)` from owned buffers, in order, at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) writes at, and advances, the file position).
/// Completes with the bytes written (which may be short).
pub struct Writev<B: IoBuf> {
    target: Target,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    offset: u64,
}

impl<B: IoBuf> Writev<B> {
    /// Writes every buffer's initialized bytes. At most `IOV_MAX` (1024) buffers are accepted
    /// by the kernel; more fail with `EINVAL`.
    pub fn new(target: impl Into<Target>, bufs: Vec<B>, offset: u64) -> Self {
        Self {
            target: target.into(),
            bufs,
            iovecs: Vec::new(),
            offset,
        }
    }

    /// Gives the buffers back.
    pub fn into_bufs(self) -> Vec<B> {
        self.bufs
    }
}

// SAFETY: every iovec points into a buffer owned by the op, for its initialized length; the
// iovec array itself is owned by the op and is not touched again until the final CQE.
unsafe impl<B: IoBuf> OpCode for Writev<B> {
    fn entry(&mut self) -> Entry {
        self.iovecs = self
            .bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.stable_ptr() as *mut libc::c_void,
                iov_len: b.bytes_init(),
            })
            .collect();
        let ptr = self.iovecs.as_ptr();
        let n = self.iovecs.len() as u32;
        with_target!(self.target, |t| opcode::Writev::new(t, ptr, n)
            .offset(self.offset)
            .build())
    }
}
