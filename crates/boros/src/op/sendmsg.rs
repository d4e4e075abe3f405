use super::{with_target, OpCode, Target};
use crate::buf::IoBuf;
use crate::net::SockAddr;
use io_uring::{opcode, squeue::Entry};

/// `sendmsg(2)` on the ring (`IORING_OP_SENDMSG`, Linux 5.3): several owned buffers sent as
/// one message (a gather write), optionally to an address ([`to`](SendMsg::to), for
/// unconnected datagram sockets). The CQE's result is the number of bytes sent.
/// `MSG_NOSIGNAL` is always set.
///
/// With [`zero_copy`](SendMsg::zero_copy) it is `IORING_OP_SENDMSG_ZC` (Linux 6.1): the
/// kernel sends from the buffers in place, and posts two CQEs as [`SendZc`](super::SendZc)
/// does (the result with `IORING_CQE_F_MORE`, then the notification, the op's final CQE,
/// once it no longer reads the buffers); the buffers stay the op's until the notification.
pub struct SendMsg<B: IoBuf> {
    target: Target,
    bufs: Vec<B>,
    iovecs: Vec<libc::iovec>,
    addr: Option<SockAddr>,
    msg: libc::msghdr,
    flags: i32,
    /// `Some(zc_flags)`: `SENDMSG_ZC`.
    zc: Option<u16>,
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
            zc: None,
        }
    }

    /// Sends without copying (`IORING_OP_SENDMSG_ZC`, Linux 6.1; see the type's docs), with
    /// `IORING_SEND_ZC_REPORT_USAGE` when `report_usage` (tell with
    /// [`SendZc::copied`](super::SendZc::copied) whether the kernel copied after all). Check
    /// the opcode first ([`Support::has`](crate::probe::Support::has)): an old kernel fails the op
    /// with `-EINVAL`.
    pub fn zero_copy(mut self, report_usage: bool) -> Self {
        self.zc = Some(if report_usage {
            super::send_zc::IORING_SEND_ZC_REPORT_USAGE
        } else {
            0
        });
        self
    }

    /// Whether this is a zero-copy send (two CQEs).
    pub fn is_zero_copy(&self) -> bool {
        self.zc.is_some()
    }

    /// The buffers, in place (still the op's: with [`zero_copy`](SendMsg::zero_copy), the
    /// kernel may read them until the notification).
    pub fn bufs(&self) -> &[B] {
        &self.bufs
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
// the op, which the driver keeps boxed in place until the final CQE (for `SENDMSG_ZC`, the
// notification that the kernel no longer reads the buffers).
unsafe impl<B: IoBuf> OpCode for SendMsg<B> {
    fn entry(&mut self) -> Entry {
        self.msg.msg_iov = self.iovecs.as_mut_ptr();
        self.msg.msg_iovlen = self.iovecs.len();
        if let Some(a) = &self.addr {
            self.msg.msg_name = a.as_ptr() as *mut libc::c_void;
            self.msg.msg_namelen = a.len();
        }
        let msg = &self.msg as *const libc::msghdr;
        match self.zc {
            None => with_target!(self.target, |t| opcode::SendMsg::new(t, msg)
                .flags(self.flags as u32)
                .build()),
            // `IORING_SEND_ZC_*` flags go in the SQE's ioprio, as for `SEND_ZC`.
            Some(zc) => with_target!(self.target, |t| opcode::SendMsgZc::new(t, msg)
                .flags(self.flags as u32)
                .ioprio(zc)
                .build()),
        }
    }
}
