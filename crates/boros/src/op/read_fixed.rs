use super::{with_target, OpCode, Target};
use crate::buf::IoBufMut;
use io_uring::{opcode, squeue::Entry};

/// `IORING_OP_READ_FIXED`: a read into a registered buffer (see
/// [`Driver::register_buffers`](crate::Driver::register_buffers)). The kernel skips pinning
/// and mapping the pages on every op: they were pinned once, at registration.
///
/// `buf` must lie inside the buffer registered at `buf_index`; the op owns `buf` (typically a
/// handle that keeps the registered memory mapped) until its final CQE.
pub struct ReadFixed<B: IoBufMut> {
    target: Target,
    buf: B,
    buf_index: u16,
    len: u32,
    offset: u64,
}

impl<B: IoBufMut> ReadFixed<B> {
    /// Reads up to the buffer's capacity into `buf`, registered at `buf_index`.
    pub fn new(target: impl Into<Target>, buf: B, buf_index: u16, offset: u64) -> Self {
        let len = buf.bytes_total().min(u32::MAX as usize) as u32;
        Self {
            target: target.into(),
            buf,
            buf_index,
            len,
            offset,
        }
    }

    /// Reads at most `len` bytes (clamped to the buffer's capacity).
    pub fn with_len(mut self, len: u32) -> Self {
        self.len = self.len.min(len);
        self
    }

    /// Gives the buffer back, marking the first `n` bytes as initialized (`n` from the CQE).
    pub fn into_buf(mut self, n: u32) -> B {
        // SAFETY: the CQE said the kernel wrote `n` bytes, and n <= len <= capacity.
        unsafe { self.buf.set_init(n.min(self.len) as usize) };
        self.buf
    }
}

// SAFETY: the pointer and length come from the owned buffer, clamped to its capacity; the
// kernel checks that they lie inside the registered buffer `buf_index` (EFAULT otherwise).
unsafe impl<B: IoBufMut> OpCode for ReadFixed<B> {
    fn entry(&mut self) -> Entry {
        let ptr = self.buf.stable_mut_ptr();
        with_target!(self.target, |t| opcode::ReadFixed::new(
            t,
            ptr,
            self.len,
            self.buf_index
        )
        .offset(self.offset)
        .build())
    }
}
