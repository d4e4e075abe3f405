use super::vectored::Vectored;
use super::{with_target, OpCode, Target};
use crate::buf::IoBufMut;
use io_uring::{opcode, squeue::Entry};

/// `preadv(2)` into owned buffers, in order, at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) reads at, and advances, the file position).
/// Completes with the bytes read, spread over the buffers in order.
pub struct Readv<B: IoBufMut>(Vectored<B>);

impl<B: IoBufMut> Readv<B> {
    /// Reads into every buffer's capacity, in order. At most `IOV_MAX` (1024) buffers are
    /// accepted by the kernel; more fail with `EINVAL`.
    pub fn new(target: impl Into<Target>, bufs: Vec<B>, offset: u64) -> Self {
        Self(Vectored::new(target.into(), bufs, offset))
    }

    /// Gives the buffers back, the `n` bytes read spread over them in order: each buffer's
    /// share is marked initialized ([`IoBufMut::set_init`]).
    pub fn into_bufs(self, n: u32) -> Vec<B> {
        self.into_bufs_with(n, |_, _| {})
    }

    /// As [`into_bufs`](Self::into_bufs), calling `each(buf, share)` on every buffer after
    /// marking its share (a host that sets a reused `Vec`'s length to exactly its share).
    pub fn into_bufs_with(mut self, n: u32, mut each: impl FnMut(&mut B, usize)) -> Vec<B> {
        let mut left = n as usize;
        for b in &mut self.0.bufs {
            let take = left.min(b.bytes_total());
            // SAFETY: the kernel filled the buffers in order; this one got `take` bytes.
            unsafe { b.set_init(take) };
            each(b, take);
            left -= take;
        }
        self.0.bufs
    }
}

// SAFETY: every iovec points into a buffer owned by the op, for its capacity; the iovec
// array is owned by the op too, and neither is touched again until the final CQE.
unsafe impl<B: IoBufMut> OpCode for Readv<B> {
    fn entry(&mut self) -> Entry {
        let (ptr, n) = self.0.iovecs(|b| (b.stable_mut_ptr(), b.bytes_total()));
        with_target!(self.0.target, |t| opcode::Readv::new(t, ptr, n)
            .offset(self.0.offset)
            .build())
    }
}
