use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{opcode, squeue::Entry};

/// `pwrite(2)` from an owned buffer: its initialized bytes, at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) writes at, and advances, the file position).
pub struct Write<B: IoBuf> {
    target: Target,
    buf: B,
    start: usize,
    len: u32,
    offset: u64,
}

impl<B: IoBuf> Write<B> {
    /// Writes all the buffer's initialized bytes.
    pub fn new(target: impl Into<Target>, buf: B, offset: u64) -> Self {
        let len = buf.bytes_init().min(u32::MAX as usize) as u32;
        Self {
            target: target.into(),
            buf,
            start: 0,
            len,
            offset,
        }
    }

    /// Writes only `len` bytes starting `start` bytes into the buffer (clamped to its data).
    pub fn range(mut self, start: usize, len: u32) -> Self {
        let init = self.buf.bytes_init();
        self.start = start.min(init);
        self.len = (len as usize).min(init - self.start) as u32;
        self
    }

    /// Gives the buffer back.
    pub fn into_buf(self) -> B {
        self.buf
    }
}

// SAFETY: `start + len` never passes the buffer's initialized bytes (see `range`).
unsafe impl<B: IoBuf> OpCode for Write<B> {
    fn entry(&mut self) -> Entry {
        // SAFETY: start <= bytes_init, so the pointer stays inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.start) };
        with_target!(self.target, |t| opcode::Write::new(t, ptr, self.len)
            .offset(self.offset)
            .build())
    }
}
