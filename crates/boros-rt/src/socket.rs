//! What the socket types of [`net`](crate::net) share: address resolution, the plain
//! `socket`/`bind`/`listen` calls, accept and connect on the ring, and [`Conn`], the I/O of a
//! connected stream socket (with the `stream_io!` methods `TcpStream` and `UnixStream` both
//! have).

use crate::buf::{IoBuf, IoBufMut};
use crate::op::run;
use crate::recv::Reader;
use boros::net::{self as core_net, SockAddr};
use boros::op;
use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// A socket's descriptor (listener, stream or UDP socket): dropping it closes the socket at
/// once, as std's and tokio's do. A ring op holds its own reference to the socket's file, so
/// an op abandoned in this loop turn (a dropped read, accept or `recv_from`), whose cancel has
/// not run yet, would keep the socket open past `close(2)`: the drop first settles such
/// cancels ([`Core::before_close`](crate::runtime::Core::before_close)), then closes.
pub(crate) struct SocketFd(OwnedFd);

impl From<OwnedFd> for SocketFd {
    fn from(fd: OwnedFd) -> Self {
        SocketFd(fd)
    }
}

impl AsRawFd for SocketFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl AsFd for SocketFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl Drop for SocketFd {
    fn drop(&mut self) {
        // The runtime out of the thread-local first: settling reaps, and wakes tasks.
        if let Some(core) = crate::runtime::try_with_current(|c| c.clone()) {
            core.before_close();
        }
        // `self.0` closes after this.
    }
}

pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        ));
    }
    Ok(addrs)
}

pub(crate) fn listen_on(domain: i32, addr: &SockAddr, reuse_port: bool) -> io::Result<OwnedFd> {
    let fd = core_net::socket(domain, libc::SOCK_STREAM, 0)?;
    if domain != libc::AF_UNIX {
        core_net::setsockopt_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    }
    if reuse_port {
        core_net::setsockopt_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    core_net::bind(fd.as_raw_fd(), addr)?;
    core_net::listen(fd.as_raw_fd(), 1024)?;
    Ok(fd)
}

pub(crate) async fn accept_fd(listener: RawFd, what: &str) -> io::Result<(OwnedFd, SockAddr)> {
    let done = run(op::Accept::new(listener), what).await;
    let fd = done.result()? as RawFd;
    // SAFETY: the accept made this descriptor for us; nobody else has it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok((fd, done.op.peer().clone()))
}

pub(crate) async fn connect_fd(domain: i32, addr: SockAddr, what: &str) -> io::Result<OwnedFd> {
    let fd = core_net::socket(domain, libc::SOCK_STREAM, 0)?;
    // If this future is dropped, `fd` closes while the connect may still be in flight: the
    // ring holds its own reference to the socket, and the op owns the address, so that is
    // safe; the connect then fails or completes on a socket nobody can reach, and goes.
    run(op::Connect::new(fd.as_raw_fd(), addr), what)
        .await
        .result()?;
    Ok(fd)
}

/// The I/O methods every connected stream type has, delegated to its [`Conn`] (one definition
/// for `TcpStream` and `UnixStream`).
macro_rules! stream_io {
    ($ty:literal) => {
        /// Receives into `buf` (up to its capacity); `Ok(0)` when the peer closed its side.
        /// A `Vec<u8>` gets its length set to the bytes received.
        ///
        /// Reads come from one multishot recv per connection into a small buffer ring of its
        /// own (see the [`recv`](crate::recv) notes): no SQE per read, and **cancel-safe**:
        /// received data waits in the runtime until a read copies it out, so a read future
        /// dropped in a `select` or a `timeout` loses nothing. One reader at a time.
        pub fn read<B: IoBufMut>(
            &self,
            buf: B,
        ) -> impl std::future::Future<Output = (io::Result<usize>, B)> + '_ {
            self.conn.read(buf, concat!("net::", $ty, "::read"))
        }

        /// Sends the buffer's bytes once; returns how many went (maybe fewer).
        pub async fn write<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
            self.conn.write(buf, concat!("net::", $ty, "::write")).await
        }

        /// Sends the buffer's bytes once, **zero-copy** (`IORING_OP_SEND_ZC`, Linux 6.0): the
        /// kernel reads them straight from `buf`, and the future resolves once it no longer
        /// does (the notification CQE), giving the buffer back. Pays for large buffers (tens
        /// of KiB and up); on loopback the kernel copies anyway. Returns how many bytes went.
        pub async fn send_zc<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
            let (r, b) = crate::zc::send_zc(
                self.conn.fd.as_raw_fd(),
                buf,
                concat!("net::", $ty, "::send_zc"),
            )
            .await;
            (
                r,
                b.expect("the driver hands the buffer back after the final CQE"),
            )
        }

        /// Sends all the buffer's bytes, as many sends as it takes.
        pub async fn write_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
            self.conn
                .write_all(buf, concat!("net::", $ty, "::write_all"))
                .await
        }

        /// Copies received bytes into `dst` (as many as one received chunk gives): the poll
        /// behind [`read`](Self::read), for poll-based adapters ([`compat`](crate::compat)).
        /// `Ready(Ok(0))` at end of stream.
        pub fn poll_read_uninit(
            &self,
            cx: &mut std::task::Context<'_>,
            dst: &mut [std::mem::MaybeUninit<u8>],
        ) -> std::task::Poll<io::Result<usize>> {
            self.conn
                .poll_read(cx, dst, concat!("net::", $ty, "::poll_read_uninit"))
        }

        /// Shuts down one or both directions (`shutdown(2)`).
        pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
            self.conn.shutdown(how)
        }
    };
}

/// The I/O of a connected stream socket, shared by [`TcpStream`] and [`UnixStream`].
pub(crate) struct Conn {
    /// Dropped before the descriptor: cancels the multishot recv first.
    reader: RefCell<Reader>,
    pub(crate) fd: SocketFd,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Self {
            reader: RefCell::new(Reader::new()),
            fd: fd.into(),
        }
    }

    /// A read into `buf` (see `stream_io!`'s `read`): a plain future over
    /// [`poll_read`](Self::poll_read), not an `async fn` (one state machine less per read).
    pub(crate) fn read<B: IoBufMut>(&self, buf: B, what: &'static str) -> ConnRead<'_, B> {
        ConnRead {
            conn: self,
            buf: Some(buf),
            what,
        }
    }

    /// Copies received bytes into `dst`; see [`Reader::poll_read`].
    pub(crate) fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
        dst: &mut [std::mem::MaybeUninit<u8>],
        what: &str,
    ) -> std::task::Poll<io::Result<usize>> {
        self.reader
            .borrow_mut()
            .poll_read(cx, self.fd.as_raw_fd(), dst, what)
    }

    pub(crate) async fn write<B: IoBuf>(&self, buf: B, what: &str) -> (io::Result<usize>, B) {
        let done = run(op::Send::new(self.fd.as_raw_fd(), buf), what).await;
        let r = done.result().map(|n| n as usize);
        (r, done.op.into_buf())
    }

    pub(crate) async fn write_all<B: IoBuf>(&self, buf: B, what: &str) -> (io::Result<()>, B) {
        send_all(self.fd.as_raw_fd(), buf, what).await
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: shutdown takes no pointers.
        if unsafe { libc::shutdown(self.fd.as_raw_fd(), how) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The future of [`Conn::read`]: resolves to the count and the buffer.
pub(crate) struct ConnRead<'a, B> {
    conn: &'a Conn,
    /// `None` once it returned the buffer.
    buf: Option<B>,
    what: &'static str,
}

// The buffer is owned and moved out, never pinned.
impl<B> Unpin for ConnRead<'_, B> {}

impl<B: IoBufMut> std::future::Future for ConnRead<'_, B> {
    type Output = (io::Result<usize>, B);

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let buf = this
            .buf
            .as_mut()
            .expect("a socket read polled after it returned its buffer");
        let total = buf.bytes_total();
        // SAFETY: the buffer's writable memory, `bytes_total` bytes from `stable_mut_ptr`,
        // viewed as possibly uninitialized bytes; only written.
        let dst = unsafe {
            std::slice::from_raw_parts_mut(
                buf.stable_mut_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                total,
            )
        };
        let std::task::Poll::Ready(r) = this.conn.poll_read(cx, dst, this.what) else {
            return std::task::Poll::Pending;
        };
        let mut buf = this.buf.take().expect("checked above");
        let n = *r.as_ref().unwrap_or(&0);
        // SAFETY: poll_read wrote n bytes at the start of the buffer.
        unsafe { buf.set_init(n) };
        crate::buf::set_read_len(&mut buf, n);
        std::task::Poll::Ready((r, buf))
    }
}

/// Sends all of `buf` on `fd`, as many sends as it takes.
pub(crate) async fn send_all<B: IoBuf>(fd: RawFd, buf: B, what: &str) -> (io::Result<()>, B) {
    let total = buf.bytes_init();
    let mut buf = buf;
    let mut sent = 0usize;
    while sent < total {
        let op = op::Send::new(fd, buf).with_offset(sent);
        let done = run(op, what).await;
        let r = done.result();
        buf = done.op.into_buf();
        match r {
            Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => sent += n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

pub(crate) fn inet(a: SockAddr) -> io::Result<SocketAddr> {
    a.as_inet()
        .ok_or_else(|| io::Error::other("not an IPv4/IPv6 address"))
}

pub(crate) use stream_io;
