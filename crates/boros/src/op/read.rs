use super::place::{place_entry, Place};
use super::{OpCode, Target};
use crate::buf::IoBufMut;
use io_uring::squeue::Entry;

/// `pread(2)` into an owned buffer: up to `bytes_total()` bytes at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) reads at, and advances, the file position).
/// With [`fixed`](Self::fixed), `IORING_OP_READ_FIXED` into a registered buffer.
pub struct Read<B: IoBufMut> {
    place: Place,
    buf: B,
    len: u32,
}

impl<B: IoBufMut> Read<B> {
    /// Reads up to the buffer's capacity.
    pub fn new(target: impl Into<Target>, buf: B, offset: u64) -> Self {
        let len = buf.bytes_total().min(u32::MAX as usize) as u32;
        Self {
            place: Place::new(target.into(), offset),
            buf,
            len,
        }
    }

    /// Reads into the buffer registered at `buf_index` (`IORING_OP_READ_FIXED`, see
    /// [`Driver::register_buffers`](crate::Driver::register_buffers)): the kernel skips
    /// pinning and mapping the pages on every op, they were pinned once, at registration.
    /// `buf` must lie inside that registered buffer (the kernel checks: `EFAULT` otherwise);
    /// the op owns `buf` (typically a handle that keeps the registered memory mapped) until its
    /// final CQE.
    pub fn fixed(mut self, buf_index: u16) -> Self {
        self.place.buf_index = Some(buf_index);
        self
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

// SAFETY: the pointer and length come from the owned buffer, clamped to its capacity; for a
// fixed read the kernel also checks that they lie inside the registered buffer `buf_index`.
unsafe impl<B: IoBufMut> OpCode for Read<B> {
    fn entry(&mut self) -> Entry {
        place_entry!(
            self.place,
            self.buf.stable_mut_ptr(),
            self.len,
            Read,
            ReadFixed
        )
    }
}
