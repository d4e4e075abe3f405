use super::place::{place_entry, Place};
use super::{OpCode, Target};
use crate::buf::IoBuf;
use io_uring::squeue::Entry;

/// `pwrite(2)` from an owned buffer: its initialized bytes, at `offset`
/// ([`CURRENT_POSITION`](super::CURRENT_POSITION) writes at, and advances, the file position).
/// With [`fixed`](Self::fixed), `IORING_OP_WRITE_FIXED` from a registered buffer.
pub struct Write<B: IoBuf> {
    place: Place,
    buf: B,
    start: usize,
    len: u32,
}

impl<B: IoBuf> Write<B> {
    /// Writes all the buffer's initialized bytes.
    pub fn new(target: impl Into<Target>, buf: B, offset: u64) -> Self {
        let len = buf.bytes_init().min(u32::MAX as usize) as u32;
        Self {
            place: Place::new(target.into(), offset),
            buf,
            start: 0,
            len,
        }
    }

    /// Writes from the buffer registered at `buf_index` (`IORING_OP_WRITE_FIXED`, see
    /// [`Driver::register_buffers`](crate::Driver::register_buffers)): `buf` must lie inside
    /// it (the kernel checks: `EFAULT` otherwise).
    pub fn fixed(mut self, buf_index: u16) -> Self {
        self.place.buf_index = Some(buf_index);
        self
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

// SAFETY: `start + len` never passes the buffer's initialized bytes (see `range`); for a
// fixed write the kernel also checks that they lie inside the registered buffer `buf_index`.
unsafe impl<B: IoBuf> OpCode for Write<B> {
    fn entry(&mut self) -> Entry {
        // SAFETY: start <= bytes_init, so the pointer stays inside the allocation.
        let ptr = unsafe { self.buf.stable_ptr().add(self.start) };
        place_entry!(self.place, ptr, self.len, Write, WriteFixed)
    }
}
