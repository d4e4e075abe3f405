//! Any core op as a future.
//!
//! [`submit`] queues an op (no system call: the loop submits it with everything else) and
//! returns an [`Op`] future that resolves to the op's [`Completed`] result, the op itself
//! included, so its buffers come back:
//!
//! ```no_run
//! # boros_rt::block_on(async {
//! use std::os::fd::AsRawFd;
//! let file = std::fs::File::open("/etc/hostname")?;
//! let done = boros_rt::op::submit(boros_rt::op::Read::new(file.as_raw_fd(), Vec::with_capacity(64), 0))?.await;
//! let n = done.result()?;
//! let buf = done.op.into_buf(n);
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Cancellation
//! Dropping an [`Op`] before it completes asks the kernel to cancel it
//! ([`Driver::cancel`](boros::Driver::cancel)). The op, and every buffer it owns, stays
//! owned by the driver until its final CQE: the kernel may still write into it until then.
//! After that CQE the driver drops the op, and, for ops that produce a descriptor (an open,
//! an accept, a socket whose future was dropped), closes the descriptor, and gives provided
//! buffers back to their ring, so nothing leaks ([`OpCode::leftover`], the core's
//! [`Driver::abandon`](boros::Driver::abandon): the same for every host of the core).
//!
//! The cancel is submitted by the loop's next turn; an op dropped where no turn follows soon
//! (in `block_on`'s last poll, or outside `block_on`) is submitted and reaped at once
//! (`block_on` does it as it returns). A socket send or receive holds the socket until its
//! final CQE, whatever its descriptor: so dropping a stream ends its ops, and the peer sees
//! the connection closed, without waiting for the runtime's next `block_on` or its drop.
//! An op dropped before it was submitted at all is submitted at once, with its cancel, while
//! its descriptor still names its file (the caller may close it next, and the number be
//! reused before the loop's turn).

use crate::runtime::{check_current, with_current, Core, Hosted, Slot, Waiter};
/// Every op of the core (`Read`, `Write`, `Recv`, `Timeout`...) and the [`OpCode`] trait, to
/// build ops for [`submit`].
pub use boros::op::*;
use boros::{multishot, OpKey};
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Queues `op` and waits for it (the files' and sockets' ops). Their ops are all supported by
/// Linux 6.1 (boros's minimum), so queueing fails only if the ring itself failed: that is a
/// panic, because the op (and the buffer it owns) is gone and cannot be handed back.
/// `what` names the user's call (`fs::File::read_at`, `net::TcpStream::read`) in the panic
/// outside a runtime.
/// A plain function returning the [`Op`] future (not an `async fn` wrapping it): the op is
/// queued when the caller's future reaches the call, as before, and awaiting it polls the
/// `Op` itself, without a wrapper state machine that each read's future would move through.
pub(crate) fn run<T: OpCode>(op: T, what: &str) -> Op<T> {
    match Op::submit_named(op, what) {
        Ok(op) => op,
        Err(e) => panic!("boros-rt: {what}: cannot queue an op: {e}"),
    }
}

/// As [`run`], for an op whose result is only success or `-errno`.
pub(crate) async fn run_unit<T: OpCode>(op: T, what: &str) -> io::Result<()> {
    Op::submit_named(op, what)?.await.result().map(drop)
}

/// The outcome of an op: the CQE's result and flags, and the op with its buffers.
pub struct Completed<T> {
    /// The CQE's `res`: a count or a descriptor, or `-errno`.
    pub result: i32,
    /// The CQE's flags.
    pub flags: u32,
    /// The op, given back by the ring after its final CQE.
    pub op: Box<T>,
}

impl<T> Completed<T> {
    /// `result` as an `io::Result`.
    pub fn result(&self) -> io::Result<u32> {
        boros::error::cqe_result(self.result)
    }
}

/// A queued op; resolves to its [`Completed`] outcome. See the module docs for cancellation.
#[must_use = "an op future does nothing unless awaited; dropping it cancels the op"]
pub struct Op<T: OpCode> {
    core: Rc<Core>,
    token: u64,
    key: OpKey,
    done: bool,
    _op: PhantomData<T>,
}

/// Queues `op` on the runtime running on this thread. No system call: the loop submits it
/// with everything else queued during the same turn.
///
/// # Errors
/// If the kernel lacks the op (`ErrorKind::Unsupported`, naming the kernel that added it),
/// or the submission queue was full and submitting it failed.
///
/// # Panics
/// Outside [`Runtime::block_on`](crate::Runtime::block_on).
pub fn submit<T: OpCode>(op: T) -> io::Result<Op<T>> {
    Op::submit(op)
}

/// The same as [`submit`]: an op whose result is a new descriptor (an `OpenAt`, plain or
/// direct, an accept, a socket) says so itself ([`OpCode::leftover`]), and if its future is
/// dropped before it returns the descriptor, the driver closes the descriptor when the op's
/// CQE brings it, whichever way the op was submitted. Kept for code written against the
/// earlier API.
///
/// # Errors
/// As [`submit`].
pub fn submit_fd<T: OpCode>(op: T) -> io::Result<Op<T>> {
    Op::submit(op)
}

impl<T: OpCode> Op<T> {
    pub(crate) fn submit(op: T) -> io::Result<Self> {
        Self::submit_named(op, "op::submit")
    }

    /// As `submit`; `what` (say `fs::File::read_at`) names the user's call in the panic
    /// outside a runtime.
    pub(crate) fn submit_named(op: T, what: &str) -> io::Result<Self> {
        with_current(what, |core| {
            let (token, key) = core.push(op)?;
            Ok(Op {
                core: core.clone(),
                token,
                key,
                done: false,
                _op: PhantomData,
            })
        })
    }

    /// The op's key in the driver.
    pub fn key(&self) -> OpKey {
        self.key
    }

    /// Cancels the op and gives it back: asks the kernel to cancel it (if it is still in
    /// flight), then waits for its final CQE. The result is `-ECANCELED` if the cancel won,
    /// or the op's real result if it had already completed: either way the op comes back
    /// with its buffers, so nothing the kernel did is lost (dropping an `Op` instead loses a
    /// result that was already in). The building block of the cancel-safe forms
    /// ([`fs::File::read_at_cancelable`](crate::fs::File::read_at_cancelable)...).
    pub async fn cancel(self) -> Completed<T> {
        let waiting = matches!(
            self.core.ops.borrow().get(self.token),
            Some(Slot::Waiting(_))
        );
        if waiting {
            let _ = self.core.driver.borrow_mut().cancel(self.key);
        }
        self.await
    }
}

// The op itself lives in the driver, boxed; the future only holds its token.
impl<T: OpCode> Unpin for Op<T> {}

impl<T: OpCode> Future for Op<T> {
    type Output = Completed<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Completed<T>> {
        let this = self.get_mut();
        assert!(!this.done, "boros_rt::op::Op polled after completion");
        // Polled by a task of this runtime with its own waker (the common case): this is
        // the right runtime, and the completion schedules that task directly.
        let task = this.core.polling_task(cx.waker());
        if task.is_none() {
            check_current(&this.core, "an I/O future (an op, a sleep)");
        }
        let mut ops = this.core.ops.borrow_mut();
        let slot = ops
            .get_mut(this.token)
            .expect("an op's slot lives until its future takes the result");
        match slot {
            Slot::Waiting(w) => {
                Core::set_waiter(w, task, cx.waker());
                Poll::Pending
            }
            Slot::Done { .. } => {
                let Some(Slot::Done { result, flags, op }) = ops.remove(this.token) else {
                    unreachable!()
                };
                drop(ops);
                this.done = true;
                let op = Hosted::<T>::unwrap_box(op)
                    .unwrap_or_else(|| unreachable!("the slot holds the op this future pushed"));
                Poll::Ready(Completed { result, flags, op })
            }
            Slot::Stream { .. } => unreachable!("a single-shot op has no stream"),
        }
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let removed = self.core.ops.borrow_mut().remove(self.token);
        let mut driver = self.core.driver.borrow_mut();
        match removed {
            // In flight: the driver cancels it, keeps the op (and its buffers) until the
            // final CQE, then drops it and releases what that CQE brought back. The cancel
            // is submitted at once where the loop would not do it soon (`Core::abandoned`).
            Some(Slot::Waiting(_)) => {
                let unsubmitted = driver.is_unsubmitted(self.key);
                let _ = driver.abandon(self.key);
                drop(driver);
                self.core.abandoned(unsubmitted);
            }
            // Completed but never polled: the kernel is done with it; release its result.
            Some(Slot::Done { result, flags, op }) => {
                driver.discard(self.key, Some(&*op), result, flags);
                drop(driver);
                drop(op);
            }
            _ => {}
        }
    }
}

/// A multishot op: one SQE, a stream of CQEs. `next` gives each CQE's `(result, flags)`, then
/// `None` after the final one. Dropping it abandons the op: CQEs that arrive afterwards (and
/// those queued but not taken) are released by the driver, so a dropped accept stream closes
/// the descriptors it would have handed out, a dropped receive gives its buffers back.
pub(crate) struct Multi {
    core: Rc<Core>,
    token: u64,
    key: OpKey,
}

impl Multi {
    pub(crate) fn submit_named<T: OpCode>(op: T, what: &str) -> io::Result<Self> {
        with_current(what, |core| {
            let (token, key) = core.push_as(
                op,
                Slot::Stream {
                    queue: Default::default(),
                    waker: Waiter::Nobody,
                },
            )?;
            Ok(Multi {
                core: core.clone(),
                token,
                key,
            })
        })
    }

    /// The next CQE, or `None` once the op ended and every CQE was taken.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(i32, u32)>> {
        let task = self.core.polling_task(cx.waker());
        if task.is_none() {
            check_current(
                &self.core,
                "a multishot stream (incoming connections, a socket read)",
            );
        }
        let mut ops = self.core.ops.borrow_mut();
        let Some(Slot::Stream { queue, waker }) = ops.get_mut(self.token) else {
            return Poll::Ready(None);
        };
        match queue.take() {
            multishot::Next::Item(result, flags) => Poll::Ready(Some((result, flags))),
            multishot::Next::Ended => {
                let done = ops.remove(self.token);
                drop(ops);
                drop(done);
                Poll::Ready(None)
            }
            multishot::Next::Empty => {
                Core::set_waiter(waker, task, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Drop for Multi {
    fn drop(&mut self) {
        let removed = self.core.ops.borrow_mut().remove(self.token);
        let Some(Slot::Stream { queue, .. }) = removed else {
            return;
        };
        // CQEs queued but never taken: released with the op that brought them (still in
        // flight under `key`, then abandoned, or ended and back here).
        let mut driver = self.core.driver.borrow_mut();
        let unsubmitted = driver.is_unsubmitted(self.key);
        let ended = queue.discard(&mut driver, self.key);
        drop(driver);
        match ended {
            Some(op) => drop(op),
            // Abandoned in flight: as an `Op`'s drop.
            None => self.core.abandoned(unsubmitted),
        }
    }
}
