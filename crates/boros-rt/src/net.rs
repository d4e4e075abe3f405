//! Sockets on the ring: TCP and Unix-domain listeners and streams, in the owned-buffer style
//! of [`fs`](crate::fs). Built on the core's socket ops (`op::Accept`, `op::Connect`,
//! `op::Recv`, `op::Send`); `socket`/`bind`/`listen`/`setsockopt` are the plain system calls
//! (cheap and synchronous; the ring versions need Linux 6.11).
//!
//! ```no_run
//! use boros_rt::net::TcpListener;
//! # boros_rt::block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:7000")?;
//! loop {
//!     let (stream, _peer) = listener.accept().await?;
//!     // Detached: the task runs on after its JoinHandle is dropped.
//!     drop(boros_rt::spawn(async move {
//!         let mut buf = Vec::with_capacity(16 * 1024);
//!         loop {
//!             let (n, b) = stream.read(buf).await;
//!             match n {
//!                 Ok(0) | Err(_) => break,
//!                 Ok(_) => {}
//!             }
//!             let (r, b) = stream.write_all(b).await;
//!             if r.is_err() {
//!                 break;
//!             }
//!             buf = b;
//!             buf.clear();
//!         }
//!     }));
//! }
//! # #[allow(unreachable_code)]
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Cancellation follows the runtime's rule: dropping the future of an accept, connect, read or
//! write cancels the op, and the ring keeps its buffer (and address) until the final CQE. An
//! accept that completes after its future was dropped (the cancel came too late) brings a
//! connection nobody will use: the runtime closes it.
//!
//! [`TcpListener::incoming`] keeps one multishot accept armed (one SQE, a CQE per connection).
//! Not yet here: multishot recv into a provided-buffer ring (the runtime has the stream slot
//! it needs; the buffer-ring leasing is what is left), direct (fixed) sockets, `SEND_ZC`.
//! Each read is one op today.

use crate::buf::{IoBuf, IoBufMut};
use crate::op::{Completed, Multi, Op};
use crate::recv::Reader;
use crate::runtime::Abandon;
pub use crate::udp::{RecvMsg, UdpSocket};
use boros::net::{self as core_net, SockAddr};
use boros::op::{self, OpCode};
use std::cell::RefCell;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::{fmt, io};

/// `what` names the user's call (`net::TcpStream::read`) in the panic outside a runtime.
pub(crate) async fn run<T: OpCode>(op: T, on_abandon: Abandon, what: &str) -> Completed<T> {
    match Op::submit_named(op, on_abandon, what) {
        Ok(op) => op.await,
        Err(e) => panic!("boros-rt: {what}: cannot queue a socket op: {e}"),
    }
}

fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        ));
    }
    Ok(addrs)
}

fn listen_on(domain: i32, addr: &SockAddr, reuse_port: bool) -> io::Result<OwnedFd> {
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

async fn accept_fd(listener: RawFd, what: &str) -> io::Result<(OwnedFd, SockAddr)> {
    let done = run(op::Accept::new(listener), Abandon::CloseFd, what).await;
    let fd = done.result()? as RawFd;
    // SAFETY: the accept made this descriptor for us; nobody else has it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok((fd, done.op.peer().clone()))
}

async fn connect_fd(domain: i32, addr: SockAddr, what: &str) -> io::Result<OwnedFd> {
    let fd = core_net::socket(domain, libc::SOCK_STREAM, 0)?;
    // If this future is dropped, `fd` closes while the connect may still be in flight: the
    // ring holds its own reference to the socket, and the op owns the address, so that is
    // safe; the connect then fails or completes on a socket nobody can reach, and goes.
    run(
        op::Connect::new(fd.as_raw_fd(), addr),
        Abandon::Nothing,
        what,
    )
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
        pub async fn read<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
            self.conn.read(buf, concat!("net::", $ty, "::read")).await
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
struct Conn {
    /// Dropped before the descriptor: cancels the multishot recv first.
    reader: RefCell<Reader>,
    fd: OwnedFd,
}

impl Conn {
    fn new(fd: OwnedFd) -> Self {
        Self {
            reader: RefCell::new(Reader::new()),
            fd,
        }
    }

    async fn read<B: IoBufMut>(&self, mut buf: B, what: &str) -> (io::Result<usize>, B) {
        let r = std::future::poll_fn(|cx| {
            let total = buf.bytes_total();
            // SAFETY: the buffer's writable memory, `bytes_total` bytes from
            // `stable_mut_ptr`, viewed as possibly uninitialized bytes; only written.
            let dst = unsafe {
                std::slice::from_raw_parts_mut(
                    buf.stable_mut_ptr().cast::<std::mem::MaybeUninit<u8>>(),
                    total,
                )
            };
            self.poll_read(cx, dst, what)
        })
        .await;
        let n = *r.as_ref().unwrap_or(&0);
        // SAFETY: poll_read wrote n bytes at the start of the buffer.
        unsafe { buf.set_init(n) };
        crate::buf::set_read_len(&mut buf, n);
        (r, buf)
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

    async fn write<B: IoBuf>(&self, buf: B, what: &str) -> (io::Result<usize>, B) {
        let done = run(
            op::Send::new(self.fd.as_raw_fd(), buf),
            Abandon::Nothing,
            what,
        )
        .await;
        let r = done.result().map(|n| n as usize);
        (r, done.op.into_buf())
    }

    async fn write_all<B: IoBuf>(&self, buf: B, what: &str) -> (io::Result<()>, B) {
        send_all(self.fd.as_raw_fd(), buf, what).await
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
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

/// Sends all of `buf` on `fd`, as many sends as it takes.
pub(crate) async fn send_all<B: IoBuf>(fd: RawFd, buf: B, what: &str) -> (io::Result<()>, B) {
    let total = buf.bytes_init();
    let mut buf = buf;
    let mut sent = 0usize;
    while sent < total {
        let op = op::Send::new(fd, buf).with_offset(sent);
        let done = run(op, Abandon::Nothing, what).await;
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

fn inet(a: SockAddr) -> io::Result<SocketAddr> {
    a.as_inet()
        .ok_or_else(|| io::Error::other("not an IPv4/IPv6 address"))
}

/// A TCP listening socket.
pub struct TcpListener {
    fd: OwnedFd,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.fd.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl TcpListener {
    /// Binds and listens (`SO_REUSEADDR`, backlog 1024) on the first address that works.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, false)
    }

    /// As [`bind`](Self::bind), with `SO_REUSEPORT`: several listeners (one per thread of a
    /// [`thread::Builder`](crate::thread::Builder)) on one port, the kernel spreading
    /// connections among them.
    pub fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with(addr, true)
    }

    fn bind_with(addr: impl ToSocketAddrs, reuse_port: bool) -> io::Result<TcpListener> {
        let mut last = None;
        for a in resolve(addr)? {
            let domain = if a.is_ipv4() {
                libc::AF_INET
            } else {
                libc::AF_INET6
            };
            match listen_on(domain, &SockAddr::inet(a), reuse_port) {
                Ok(fd) => return Ok(TcpListener { fd }),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve gives at least one address"))
    }

    /// Waits for a connection (`IORING_OP_ACCEPT`).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, peer) = accept_fd(self.fd.as_raw_fd(), "net::TcpListener::accept").await?;
        Ok((
            TcpStream {
                conn: Conn::new(fd),
            },
            inet(peer)?,
        ))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(core_net::local_addr(self.fd.as_raw_fd())?)
    }

    /// A stream of connections from one **multishot** accept (Linux 5.19): one SQE keeps
    /// accepting, each connection is one CQE, and the stream re-arms the op when the kernel
    /// ends it (a full CQ, an error). Dropping the stream cancels the accept and closes any
    /// connection it brought but did not hand out.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self.fd.as_raw_fd(),
            multi: None,
            _listener: std::marker::PhantomData,
        }
    }
}

/// Connections of a [`TcpListener`] from a multishot accept; see [`TcpListener::incoming`].
pub struct Incoming<'a> {
    listener: RawFd,
    multi: Option<Multi>,
    _listener: std::marker::PhantomData<&'a TcpListener>,
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", &self.listener)
            .field("armed", &self.multi.is_some())
            .finish()
    }
}

impl Incoming<'_> {
    /// The next connection (its peer address: [`TcpStream::peer_addr`]; multishot accepts do
    /// not report it).
    ///
    /// # Errors
    /// An accept error the kernel reported (`EMFILE`...); the stream stays usable.
    pub async fn next(&mut self) -> io::Result<TcpStream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// The poll behind [`next`](Self::next) (and the [`Stream`](futures_core::Stream) impl).
    pub fn poll_accept(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<TcpStream>> {
        use std::task::Poll;
        loop {
            if self.multi.is_none() {
                self.multi = Some(Multi::submit_named(
                    op::AcceptMulti::new(self.listener),
                    Abandon::CloseFd,
                    "net::Incoming::next",
                )?);
            }
            let multi = self.multi.as_mut().expect("armed above");
            match multi.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((result, flags))) => {
                    if !boros::io_uring::cqueue::more(flags) {
                        // The kernel ended the op with this CQE; re-arm on the next call.
                        self.multi = None;
                    }
                    let fd = boros::error::cqe_result(result)? as RawFd;
                    // SAFETY: the accept made this descriptor for us; nobody else has it.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    return Poll::Ready(Ok(TcpStream {
                        conn: Conn::new(fd),
                    }));
                }
                Poll::Ready(None) => self.multi = None,
            }
        }
    }
}

/// Connections as a `futures_core::Stream` (never ends: each item is a connection or an
/// accept error, after which the stream stays usable). Dropping it closes connections it
/// accepted but did not hand out.
impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().poll_accept(cx).map(Some)
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A connected TCP socket.
pub struct TcpStream {
    conn: Conn,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.conn.fd.as_raw_fd())
            .finish()
    }
}

impl TcpStream {
    /// Connects to the first address that accepts (`IORING_OP_CONNECT`).
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in resolve(addr)? {
            let domain = if a.is_ipv4() {
                libc::AF_INET
            } else {
                libc::AF_INET6
            };
            match connect_fd(domain, SockAddr::inet(a), "net::TcpStream::connect").await {
                Ok(fd) => {
                    return Ok(TcpStream {
                        conn: Conn::new(fd),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve gives at least one address"))
    }

    /// Takes over a connected std stream.
    pub fn from_std(s: std::net::TcpStream) -> TcpStream {
        TcpStream {
            conn: Conn::new(s.into()),
        }
    }

    stream_io!("TcpStream");

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, v: bool) -> io::Result<()> {
        core_net::setsockopt_int(
            self.conn.fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            v as i32,
        )
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        inet(core_net::peer_addr(self.conn.fd.as_raw_fd())?)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        inet(core_net::local_addr(self.conn.fd.as_raw_fd())?)
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.fd.as_raw_fd()
    }
}

/// A Unix-domain listening socket.
pub struct UnixListener {
    fd: OwnedFd,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl UnixListener {
    /// Binds to `path` (which must not exist) and listens.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let fd = listen_on(libc::AF_UNIX, &SockAddr::unix(path)?, false)?;
        Ok(UnixListener { fd })
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        let (fd, _) = accept_fd(self.fd.as_raw_fd(), "net::UnixListener::accept").await?;
        Ok(UnixStream {
            conn: Conn::new(fd),
        })
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A connected Unix-domain stream socket.
pub struct UnixStream {
    conn: Conn,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.conn.fd.as_raw_fd())
            .finish()
    }
}

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let fd = connect_fd(
            libc::AF_UNIX,
            SockAddr::unix(path)?,
            "net::UnixStream::connect",
        )
        .await?;
        Ok(UnixStream {
            conn: Conn::new(fd),
        })
    }

    /// A connected pair (`socketpair(2)`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                conn: Conn::new(a.into()),
            },
            UnixStream {
                conn: Conn::new(b.into()),
            },
        ))
    }

    stream_io!("UnixStream");
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.fd.as_raw_fd()
    }
}
