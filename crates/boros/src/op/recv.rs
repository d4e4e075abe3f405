use super::{with_target, OpCode, Target};
use crate::buf::IoBufMut;
use io_uring::{opcode, squeue::Entry};

/// `recv(2)` on the ring (`IORING_OP_RECV`, Linux 5.6) into an owned buffer: up to its
/// capacity. The CQE's result is the number of bytes received, `0` at end of stream (the
/// peer shut down or closed), or `-errno` (`-ECONNRESET` after a peer reset).
pub struct Recv<B: IoBufMut> {
    target: Target,
    buf: B,
    len: u32,
    flags: i32,
}

impl<B: IoBufMut> Recv<B> {
    /// Receives up to the buffer's capacity.
    pub fn new(target: impl Into<Target>, buf: B) -> Self {
        let len = buf.bytes_total().min(u32::MAX as usize) as u32;
        Self {
            target: target.into(),
            buf,
            len,
            flags: 0,
        }
    }

    /// Adds `recv(2)` flags (`MSG_WAITALL`, `MSG_PEEK`, ...).
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// Gives the buffer back, marking the first `n` bytes as initialized (`n` from the CQE).
    pub fn into_buf(mut self, n: u32) -> B {
        // SAFETY: the CQE said the kernel wrote `n` bytes, and n <= len <= capacity.
        unsafe { self.buf.set_init(n.min(self.len) as usize) };
        self.buf
    }
}

// SAFETY: the pointer and length come from the owned buffer, clamped to its capacity.
unsafe impl<B: IoBufMut> OpCode for Recv<B> {
    fn entry(&mut self) -> Entry {
        let ptr = self.buf.stable_mut_ptr();
        with_target!(self.target, |t| opcode::Recv::new(t, ptr, self.len)
            .flags(self.flags)
            .build())
    }
}
