use super::vectored::Vectored;
use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{opcode, squeue::Entry};

/// `pwritev(2)` from owned buffers, in order, at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) writes at, and advances, the file position).
/// Completes with the bytes written (which may be short).
pub struct Writev<B: IoBuf>(Vectored<B>);

impl<B: IoBuf> Writev<B> {
    /// Writes every buffer's initialized bytes. At most `IOV_MAX` (1024) buffers are accepted
    /// by the kernel; more fail with `EINVAL`.
    pub fn new(target: impl Into<Target>, bufs: Vec<B>, offset: u64) -> Self {
        Self(Vectored::new(target.into(), bufs, offset))
    }

    /// Gives the buffers back.
    pub fn into_bufs(self) -> Vec<B> {
        self.0.bufs
    }
}

// SAFETY: every iovec points into a buffer owned by the op, for its initialized length; the
// iovec array itself is owned by the op and is not touched again until the final CQE.
unsafe impl<B: IoBuf> OpCode for Writev<B> {
    fn entry(&mut self) -> Entry {
        let (ptr, n) = self
            .0
            .iovecs(|b| (b.stable_ptr().cast_mut(), b.bytes_init()));
        with_target!(self.0.target, |t| opcode::Writev::new(t, ptr, n)
            .offset(self.0.offset)
            .build())
    }
}
