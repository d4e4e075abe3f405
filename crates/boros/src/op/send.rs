use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use io_uring::{opcode, squeue::Entry};

/// `send(2)` on the ring (`IORING_OP_SEND`, Linux 5.6) from an owned buffer. The CQE's
/// result is the number of bytes sent, which may be less than asked (a short send): push
/// another `Send` for the rest ([`with_offset`](Send::with_offset) avoids a copy).
///
/// `MSG_NOSIGNAL` is always set: a send to a reset peer completes with `-EPIPE` instead of
/// killing the process with `SIGPIPE`.
pub struct Send<B: IoBuf> {
    target: Target,
    buf: B,
    offset: usize,
    flags: i32,
}

impl<B: IoBuf> Send<B> {
    /// Sends the buffer's initialized bytes.
    pub fn new(target: impl Into<Target>, buf: B) -> Self {
        Self {
            target: target.into(),
            buf,
            offset: 0,
            flags: libc::MSG_NOSIGNAL,
        }
    }

    /// Sends from byte `offset` of the buffer on (clamped to its length): the rest after a
    /// short send.
    pub fn with_offset(mut self, offset: usize) -> Self {
        self.offset = offset.min(self.buf.bytes_init());
        self
    }

    /// Adds `send(2)` flags (`MSG_MORE`, `MSG_DONTWAIT`, ...).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// The offset the send starts at.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Gives the buffer back.
    pub fn into_buf(self) -> B {
        self.buf
    }
}

// SAFETY: the pointer and length come from the owned buffer: `offset <= bytes_init`, so
// [offset, bytes_init) lies inside its initialized bytes.
unsafe impl<B: IoBuf> OpCode for Send<B> {
    fn entry(&mut self) -> Entry {
        let len = (self.buf.bytes_init() - self.offset).min(u32::MAX as usize) as u32;
        // SAFETY: offset <= bytes_init, so the pointer stays inside the buffer.
        let ptr = unsafe { self.buf.stable_ptr().add(self.offset) };
        with_target!(self.target, |t| opcode::Send::new(t, ptr, len)
            .flags(self.flags)
            .build())
    }
}
