use super::{with_target, OpCode, Target};
use crate::buf::IoBufMut;
use io_uring::{opcode, squeue::Entry};

/// `pread(2)` into an owned buffer: up to `bytes_total()` bytes at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) reads at, and advances, the file position).
pub struct Read<B: IoBufMut> {
    target: Target,
    buf: B,
    len: u32,
    offset: u64,
}

impl<B: IoBufMut> Read<B> {
    /// Reads up to the buffer's capacity.
    pub fn new(target: impl Into<Target>, buf: B, offset: u64) -> Self {
        let len = buf.bytes_total().min(u32::MAX as usize) as u32;
        Self {
            target: target.into(),
            buf,
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
        unsafe { self.buf.set_init((n.min(self.len)) as usize) };
        self.buf
    }
}

// SAFETY: the pointer and length come from the owned buffer, clamped to its capacity.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
    fn entry(&mut self) -> Entry {
        let ptr = self.buf.stable_mut_ptr();
        with_target!(self.target, |t| opcode::Read::new(t, ptr, self.len)
            .offset(self.offset)
            .build())
    }
}
