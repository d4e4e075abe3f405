//! Cancel-safe ops: futures that can be raced (in a `select`, against a timeout) and, when
//! they lose, cancelled **without losing what the kernel already did**.
//!
//! Dropping an op's future is always memory-safe (the ring keeps the buffer until the final
//! CQE), but a read that completed in the kernel just before its future was dropped loses its
//! bytes: they were copied out of the socket or pipe, into a buffer nobody gets back. A
//! [`Cancelable`] is polled by reference (`&mut`), so it survives losing a race; then
//! [`Cancelable::cancel`] cancels the op and waits for its final CQE, giving back the buffer
//! and the result: the bytes read if the op had completed, `ErrorKind::Other` with
//! `ECANCELED` (`raw_os_error() == Some(libc::ECANCELED)`) if the cancel won.
//!
//! ```no_run
//! use boros_rt::future::{select, Either};
//! use std::time::Duration;
//! # boros_rt::block_on(async {
//! let file = boros_rt::fs::File::open("/dev/ttyS0").await?;
//! let mut read = file.read_at_cancelable(Vec::with_capacity(4096), boros_rt::op::CURRENT_POSITION);
//! match select(&mut read, boros_rt::time::sleep(Duration::from_millis(10))).await {
//!     Either::Left((n, _buf)) => println!("read {} bytes", n?),
//!     Either::Right(()) => {
//!         // Timed out: take the buffer back, with any bytes that came in meanwhile.
//!         let (n, buf) = read.cancel().await;
//!         if let Ok(n) = n { println!("{n} bytes arrived as the timer fired: {:?}", &buf[..n]); }
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Socket reads need none of this: `TcpStream::read`/`UnixStream::read` take data a
//! multishot recv queued in the runtime, in one poll, so a dropped read loses nothing (see
//! [`recv`](crate::recv)).
//!
//! A file read's future (this one, and [`File::read_at`](crate::fs::File::read_at)'s)
//! borrows its file: the op is queued at the first poll, by descriptor, so the file cannot be
//! closed (dropped), and its descriptor reused by another open, before that:
//!
//! ```compile_fail
//! # async fn f(file: boros_rt::fs::File) {
//! let read = file.read_at_cancelable(Vec::with_capacity(8), 0);
//! drop(file); // error: `file` is borrowed by `read`
//! let _ = read.await;
//! # }
//! ```
//! ```compile_fail
//! # async fn f(file: boros_rt::fs::File) {
//! let read = file.read_at(Vec::with_capacity(8), 0);
//! drop(file); // error: `file` is borrowed by `read`
//! let _ = read.await;
//! # }
//! ```
//! ```no_run
//! # async fn f(file: boros_rt::fs::File) {
//! let read = file.read_at_cancelable(Vec::with_capacity(8), 0);
//! let _ = read.await;
//! let read = file.read_at(Vec::with_capacity(8), 0);
//! let _ = read.await;
//! drop(file); // fine: the reads are done
//! # }
//! ```

use crate::op::{Completed, Op};
use boros::op::OpCode;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

enum State<T: OpCode> {
    /// Not polled yet: nothing was queued.
    Idle(T),
    InFlight(Op<T>),
    Finished,
}

/// An op future that gives its buffers back even when cancelled; see the
/// [module docs](self). `Unpin`: poll it as `&mut cancelable` in a `select`, then
/// [`cancel`](Self::cancel) it if it lost.
#[must_use = "futures do nothing unless awaited"]
pub struct Cancelable<'a, T: OpCode, O> {
    state: State<T>,
    finish: fn(io::Result<u32>, T) -> O,
    what: &'static str,
    /// Borrows what the op names by descriptor (the file): the descriptor is read when the
    /// op is queued, at the first poll, so it must stay open (not closed, not reused) until then.
    _target: PhantomData<&'a ()>,
}

impl<T: OpCode, O> fmt::Debug for Cancelable<'_, T, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::InFlight(_) => "in flight",
            State::Finished => "finished",
        };
        f.debug_struct("Cancelable")
            .field("op", &self.what)
            .field("state", &state)
            .finish()
    }
}

impl<T: OpCode, O> Cancelable<'_, T, O> {
    /// `op`, queued when first polled; `finish` turns its result and the op (with its
    /// buffers) into the output. `what` names the user-facing call in panics.
    pub(crate) fn new(op: T, finish: fn(io::Result<u32>, T) -> O, what: &'static str) -> Self {
        Self {
            state: State::Idle(op),
            finish,
            what,
            _target: PhantomData,
        }
    }

    /// Cancels the op and gives its output back: the real result if the op completed before
    /// the cancel reached it (read bytes are in the buffer), or `Err` with `ECANCELED`.
    /// If it was never polled, nothing was queued, and the result is `ECANCELED` at once.
    ///
    /// # Panics
    /// If the future already returned its output.
    pub async fn cancel(mut self) -> O {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Idle(op) => {
                (self.finish)(Err(io::Error::from_raw_os_error(libc::ECANCELED)), op)
            }
            State::InFlight(op) => {
                let c: Completed<T> = op.cancel().await;
                (self.finish)(c.result(), *c.op)
            }
            State::Finished => panic!(
                "boros_rt: {} cancelled after it returned its output",
                self.what
            ),
        }
    }
}

impl<T: OpCode, O> Unpin for Cancelable<'_, T, O> {}

impl<T: OpCode, O> Future for Cancelable<'_, T, O> {
    type Output = O;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = &mut *self;
        if matches!(this.state, State::Idle(_)) {
            let State::Idle(op) = std::mem::replace(&mut this.state, State::Finished) else {
                unreachable!()
            };
            match Op::submit_named(op, this.what) {
                Ok(op) => this.state = State::InFlight(op),
                Err(e) => panic!("boros-rt: {}: cannot queue the op: {e}", this.what),
            }
        }
        let State::InFlight(op) = &mut this.state else {
            panic!(
                "boros_rt: {} polled after it returned its output",
                this.what
            );
        };
        match Pin::new(op).poll(cx) {
            Poll::Ready(c) => {
                this.state = State::Finished;
                Poll::Ready((this.finish)(c.result(), *c.op))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
