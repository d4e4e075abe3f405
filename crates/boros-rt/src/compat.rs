//! Poll-based I/O traits for the socket types, so libraries written against them run on
//! boros-rt: `tokio::io::AsyncRead`/`AsyncWrite` (feature `tokio-io`; hyper through
//! `hyper_util::rt::TokioIo`; rustls through tokio-rustls, `tests/tls.rs`) and
//! `futures_io::AsyncRead`/`AsyncWrite` (feature `futures-io`).
//!
//! ```ignore
//! // Cargo.toml: boros-rt = { features = ["tokio-io"] }, hyper, hyper-util
//! let (stream, _) = listener.accept().await?;
//! let io = hyper_util::rt::TokioIo::new(boros_rt::compat::Compat::new(stream));
//! hyper::server::conn::http1::Builder::new().serve_connection(io, service).await?;
//! ```
//!
//! - **Reads** copy out of the connection's multishot recv (see [`recv`](crate::recv)): no op
//!   per read, nothing lost if a read is abandoned.
//! - **Writes** are write-behind: `poll_write` copies the bytes into the adapter's own buffer
//!   (up to 64 KiB at a time), queues the send and returns `Ready(n)` at once; the next write,
//!   `poll_flush` or `poll_shutdown` waits for it (one send in flight, so bytes stay in
//!   order), and a send error is reported by that call. `poll_flush` means "sent to the
//!   kernel". Flush (or shut down) before dropping a `Compat`: dropping it with a send in
//!   flight cancels that send.

#![cfg_attr(
    not(any(feature = "tokio-io", feature = "futures-io")),
    allow(dead_code)
)]

use crate::net::{TcpStream, UnixStream};
use std::fmt;
use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Most bytes one `poll_write` takes.
const WRITE_CHUNK: usize = 64 * 1024;

/// A stream socket the adapter can drive.
pub trait CompatStream: AsRawFd + Unpin + 'static {
    /// Copies received bytes into `dst`.
    #[doc(hidden)]
    fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
    /// `shutdown(2)`.
    #[doc(hidden)]
    fn shutdown_how(&self, how: Shutdown) -> io::Result<()>;
}

impl CompatStream for TcpStream {
    fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_uninit(cx, dst)
    }
    fn shutdown_how(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
}

impl CompatStream for UnixStream {
    fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_uninit(cx, dst)
    }
    fn shutdown_how(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }
}

type Sending = Pin<Box<dyn Future<Output = (io::Result<()>, Vec<u8>)>>>;

/// A socket with poll-based `AsyncRead`/`AsyncWrite`; see the [module docs](self).
pub struct Compat<S: CompatStream> {
    /// The send in flight (dropped before the stream: its op is cancelled first).
    sending: Option<Sending>,
    spare: Vec<u8>,
    stream: S,
}

impl<S: CompatStream> fmt::Debug for Compat<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compat")
            .field("fd", &self.stream.as_raw_fd())
            .field("sending", &self.sending.is_some())
            .finish()
    }
}

impl<S: CompatStream> Compat<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Self {
            sending: None,
            spare: Vec::new(),
            stream,
        }
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream back (a send still in flight is cancelled).
    pub fn into_inner(mut self) -> S {
        self.sending = None;
        self.stream
    }

    fn poll_read_raw(
        &mut self,
        cx: &mut Context<'_>,
        dst: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_read_into(cx, dst)
    }

    /// Waits for the send in flight; its error, if it failed.
    fn poll_sent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(f) = self.sending.as_mut() {
            let (r, buf) = ready!(f.as_mut().poll(cx));
            self.sending = None;
            self.spare = buf;
            r?;
        }
        Poll::Ready(Ok(()))
    }

    fn poll_write_raw(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_sent(cx))?;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = data.len().min(WRITE_CHUNK);
        let mut buf = std::mem::take(&mut self.spare);
        buf.clear();
        buf.extend_from_slice(&data[..n]);
        let fd: RawFd = self.stream.as_raw_fd();
        let mut f: Sending = Box::pin(crate::socket::send_all(
            fd,
            buf,
            "compat::Compat::poll_write",
        ));
        // Poll once so the send is queued in this turn (it is submitted with the others).
        match f.as_mut().poll(cx) {
            Poll::Ready((r, buf)) => {
                self.spare = buf;
                r?;
            }
            Poll::Pending => self.sending = Some(f),
        }
        Poll::Ready(Ok(n))
    }

    fn poll_close_raw(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_sent(cx))?;
        match self.stream.shutdown_how(Shutdown::Write) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(feature = "tokio-io")]
impl<S: CompatStream> tokio::io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // SAFETY: poll_read_raw only writes into the unfilled part; we mark as initialized
        // exactly the n bytes it wrote.
        let n = ready!(this.poll_read_raw(cx, unsafe { buf.unfilled_mut() }))?;
        // SAFETY: the n bytes after `filled` were just written.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl<S: CompatStream> tokio::io::AsyncWrite for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_raw(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_sent(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_raw(cx)
    }
}

#[cfg(feature = "futures-io")]
impl<S: CompatStream> futures_io::AsyncRead for Compat<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: initialized bytes viewed as MaybeUninit; only written.
        let dst = unsafe {
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<MaybeUninit<u8>>(), buf.len())
        };
        self.get_mut().poll_read_raw(cx, dst)
    }
}

#[cfg(feature = "futures-io")]
impl<S: CompatStream> futures_io::AsyncWrite for Compat<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_raw(cx, data)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_sent(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_raw(cx)
    }
}
