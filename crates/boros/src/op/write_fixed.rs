use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{opcode, squeue::Entry};

/// `IORING_OP_WRITE_FIXED`: a write from a registered buffer (see
/// [`Driver::register_buffers`](crate::Driver::register_buffers)).
pub struct WriteFixed<B: IoBuf> {
    target: Target,
    buf: B,
    buf_index: u16,
    start: usize,
    len: u32,
    offset: u64,
}

impl<B: IoBuf> WriteFixed<B> {
    /// Writes all the buffer's initialized bytes; `buf` lies in the buffer registered at `buf_index`.
    pub fn new(target: impl Into<Target>, buf: B, buf_index: u16, offset: u64) -> Self {
        let len = buf.bytes_init().min(u32::MAX as usize) as u32;
        Self {
            target: target.into(),
            buf,
            buf_index,
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
unsafe impl<B: IoBuf> OpCode for WriteFixed<B> {
    fn entry(&mut self) -> Entry {
        // SAFETY: start <= bytes_init, so the pointer stays inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.start) };
        with_target!(self.target, |t| opcode::WriteFixed::new(
            t,
            ptr,
            self.len,
            self.buf_index
        )
        .offset(self.offset)
        .build())
    }
}
