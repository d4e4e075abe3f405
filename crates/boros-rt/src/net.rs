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
//! **Dropping a stream** closes its descriptor at once, as std's and tokio's do. Every op the
//! stream started is gone before that: a `write`, `write_all` or `send_zc` future borrows
//! the stream, the multishot recv of its reads is cancelled first, and
//! [`Compat`](crate::compat::Compat) drops its write-behind send before the stream. A ring
//! send (or receive) holds its own reference to the socket, so the socket itself, and the
//! peer's connection, closes when the cancels end those ops: the drop runs them first (one
//! `io_uring_enter`, only when an op was abandoned since the loop's last enter; in
//! `socket::SocketFd`), so the socket closes at the drop, in the loop or outside it, and a
//! listener or UDP socket frees its port there (`tests/close_now.rs`). A send waiting for
//! room, to a peer that stopped reading, is cancelled then, and the peer sees the end of the
//! stream after the bytes that were sent. (A `send_zc` that had sent
//! part of its buffer keeps the buffer until the kernel's notification, which comes once the
//! peer took those bytes; its socket closes all the same.) (`tests/close_under_send.rs`: each send, the recv, and
//! `Compat`'s send, dropped in the loop, in `block_on`'s last poll, and outside it.)
//!
//! [`TcpListener::incoming`] keeps one multishot accept armed (one SQE, a CQE per connection).
//! Not yet here: multishot recv into a provided-buffer ring (the runtime has the stream slot
//! it needs; the buffer-ring leasing is what is left), direct (fixed) sockets, `SEND_ZC`.
//! Each read is one op today.

use crate::buf::{IoBuf, IoBufMut};
use crate::op::Multi;
use crate::socket::{accept_fd, connect_fd, inet, listen_on, resolve, stream_io, Conn, SocketFd};
pub use crate::udp::{RecvMsg, UdpSocket};
use boros::net::{self as core_net, SockAddr};
use boros::op;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::{fmt, io};

/// A TCP listening socket.
pub struct TcpListener {
    fd: SocketFd,
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
                Ok(fd) => return Ok(TcpListener { fd: fd.into() }),
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
                    "net::Incoming::next",
                )?);
            }
            let multi = self.multi.as_mut().expect("armed above");
            match multi.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some((result, flags))) => {
                    let step = boros::multishot::step_accept(result, flags);
                    if step.last {
                        // The kernel ended the op with this CQE; re-arm on the next call.
                        self.multi = None;
                    }
                    let fd = match step.shot {
                        boros::multishot::Shot::Item(fd) => fd,
                        boros::multishot::Shot::Rearm => continue,
                        _ => return Poll::Ready(Err(io::Error::from_raw_os_error(-result))),
                    };
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
    fd: SocketFd,
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
        Ok(UnixListener { fd: fd.into() })
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
