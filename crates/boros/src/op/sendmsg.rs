use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use crate::net::SockAddr;
use io_uring::{opcode, squeue::Entry};

/// `sendmsg(2)` on the ring (`IORING_OP_SENDMSG`, Linux 5.3): several owned buffers sent as
/// one message (a gather write), optionally to an address ([`to`](SendMsg::to), for
/// unconnected datagram sockets). The CQE's result is the number of bytes sent.
/// `MSG_NOSIGNAL` is always set.
pub struct SendMsg<B: IoBuf> {
    target: Target,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    addr: Option<SockAddr>,
    msg: libc::msghdr,
    flags: i32,
}

impl<B: IoBuf> SendMsg<B> {
    /// Sends the initialized bytes of every buffer, in order.
    pub fn new(target: impl Into<Target>, bufs: Vec<B>) -> Self {
        let iovecs = bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.stable_ptr() as *mut libc::c_void,
                iov_len: b.bytes_init(),
            })
            .collect();
        Self {
            target: target.into(),
            bufs,
            iovecs,
            addr: None,
            // SAFETY: msghdr is plain old data; all-zero is valid (filled in by `entry`).
            msg: unsafe { std::mem::zeroed() },
            flags: libc::MSG_NOSIGNAL,
        }
    }

    /// Sends to `addr` (`msg_name`).
    pub fn to(mut self, addr: SockAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// Adds `sendmsg(2)` flags.
    pub fn flags(mut self, flags: i32) -> Self {
        self.flags |= flags;
        self
    }

    /// Gives the buffers back.
    pub fn into_bufs(self) -> Vec<B> {
        self.bufs
    }
}

// SAFETY: the msghdr, the iovec array it points to, the buffers the iovecs point to (heap
// memory that does not move when `B` moves, per `IoBuf`) and the address are all owned by
// the op, which the driver keeps boxed in place until the CQE.
unsafe impl<B: IoBuf> OpCode for SendMsg<B> {
    fn entry(&mut self) -> Entry {
        self.msg.msg_iov = self.iovecs.as_mut_ptr();
        self.msg.msg_iovlen = self.iovecs.len();
        if let Some(a) = &self.addr {
            self.msg.msg_name = a.as_ptr() as *mut libc::c_void;
            self.msg.msg_namelen = a.len();
        }
        let msg = &self.msg as *const libc::msghdr;
        with_target!(self.target, |t| opcode::SendMsg::new(t, msg)
            .flags(self.flags as u32)
            .build())
    }
}
