//! UDP sockets on the ring: `sendmsg` to an address, `recvmsg` with the sender's address,
//! and `send`/`recv` once connected. Owned buffers in, `(io::Result, buf)` out, with the
//! runtime's cancellation rule (a datagram received by a recv whose future was dropped is
//! lost: datagrams are unreliable anyway).

use crate::buf::{IoBuf, IoBufMut};
use crate::op::run;
use crate::socket::SocketFd;
use boros::io_uring::{opcode, squeue::Entry, types};
use boros::net::{self as core_net, SockAddr};
use boros::op::{self, OpCode};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::{fmt, io};

/// `recvmsg(2)` into one owned buffer, with the sender's address (`IORING_OP_RECVMSG`).
pub struct RecvMsg<B: IoBufMut> {
    fd: RawFd,
    buf: B,
    iov: libc::iovec,
    addr: libc::sockaddr_storage,
    msg: libc::msghdr,
}

impl<B: IoBufMut> RecvMsg<B> {
    /// Receives one datagram into `buf` (up to its capacity).
    pub fn new(fd: RawFd, buf: B) -> Self {
        Self {
            fd,
            buf,
            iov: libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            },
            // SAFETY: plain old data; all-zero is valid (AF_UNSPEC, an empty message).
            addr: unsafe { std::mem::zeroed() },
            // SAFETY: as above.
            msg: unsafe { std::mem::zeroed() },
        }
    }

    /// The buffer with `n` bytes marked as received, and the sender's address.
    pub fn into_parts(mut self, n: u32) -> (B, SockAddr) {
        // SAFETY: the CQE said the kernel wrote n bytes (<= the capacity given in the iovec).
        unsafe { self.buf.set_init(n as usize) };
        // SAFETY: the kernel filled `addr` with `msg_namelen` bytes of the sender's address.
        let addr = unsafe { SockAddr::from_raw(self.addr, self.msg.msg_namelen) };
        (self.buf, addr)
    }
}

// SAFETY: the msghdr, the iovec, the address storage (all fields of the op) and the buffer's
// heap memory are owned by the op, which the driver keeps in place until the CQE; `entry`
// points them at each other only then.
unsafe impl<B: IoBufMut> OpCode for RecvMsg<B> {
    fn entry(&mut self) -> Entry {
        self.iov.iov_base = self.buf.stable_mut_ptr().cast();
        self.iov.iov_len = self.buf.bytes_total();
        self.msg.msg_iov = &mut self.iov;
        self.msg.msg_iovlen = 1;
        self.msg.msg_name = (&mut self.addr as *mut libc::sockaddr_storage).cast();
        self.msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as u32;
        opcode::RecvMsg::new(types::Fd(self.fd), &mut self.msg).build()
    }
}

/// A UDP socket.
pub struct UdpSocket {
    fd: SocketFd,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    })
}

fn family(a: &SocketAddr) -> i32 {
    if a.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    }
}

impl UdpSocket {
    /// A socket bound to `addr` (port 0: any free port).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let a = first_addr(addr)?;
        let fd = core_net::socket(family(&a), libc::SOCK_DGRAM, 0)?;
        core_net::bind(fd.as_raw_fd(), &SockAddr::inet(a))?;
        Ok(UdpSocket { fd: fd.into() })
    }

    /// Sets the default peer (`connect(2)`, instant for UDP): then [`send`](Self::send) and
    /// [`recv`](Self::recv) work, and datagrams from other addresses are dropped.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let a = SockAddr::inet(first_addr(addr)?);
        // SAFETY: the address pointer and length come from an owned SockAddr alive here.
        if unsafe { libc::connect(self.fd.as_raw_fd(), a.as_ptr(), a.len()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends the buffer's bytes as one datagram to `addr`.
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> (io::Result<usize>, B) {
        let op = op::SendMsg::new(self.fd.as_raw_fd(), vec![buf]).to(SockAddr::inet(addr));
        let done = run(op, "net::UdpSocket::send_to").await;
        let r = done.result().map(|n| n as usize);
        let buf = done.op.into_bufs().pop().expect("one buffer in, one out");
        (r, buf)
    }

    /// Receives one datagram into `buf` (up to its capacity; the rest of a longer datagram
    /// is dropped, as `recvfrom` does); returns its length and sender. A `Vec<u8>` gets its
    /// length set to the bytes received.
    pub async fn recv_from<B: IoBufMut>(&self, buf: B) -> (io::Result<(usize, SocketAddr)>, B) {
        let op = RecvMsg::new(self.fd.as_raw_fd(), buf);
        let done = run(op, "net::UdpSocket::recv_from").await;
        let r = done.result();
        let n = *r.as_ref().unwrap_or(&0);
        let (mut buf, addr) = done.op.into_parts(n);
        crate::buf::set_read_len(&mut buf, n as usize);
        let r = r.and_then(|n| {
            let a = addr
                .as_inet()
                .ok_or_else(|| io::Error::other("not an IPv4/IPv6 sender"))?;
            Ok((n as usize, a))
        });
        (r, buf)
    }

    /// Sends one datagram to the connected peer.
    pub async fn send<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        let done = run(
            op::Send::new(self.fd.as_raw_fd(), buf),
            "net::UdpSocket::send",
        )
        .await;
        let r = done.result().map(|n| n as usize);
        (r, done.op.into_buf())
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        let done = run(
            op::Recv::new(self.fd.as_raw_fd(), buf),
            "net::UdpSocket::recv",
        )
        .await;
        let r = done.result();
        let n = *r.as_ref().unwrap_or(&0);
        let mut buf = done.op.into_buf(n);
        crate::buf::set_read_len(&mut buf, n as usize);
        (r.map(|n| n as usize), buf)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        core_net::local_addr(self.fd.as_raw_fd())?
            .as_inet()
            .ok_or_else(|| io::Error::other("not an IPv4/IPv6 address"))
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        core_net::setsockopt_int(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            on as i32,
        )
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
