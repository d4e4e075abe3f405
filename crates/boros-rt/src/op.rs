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
//! After that CQE the runtime drops the op, and, for ops that produce a descriptor (an open
//! whose future was dropped), closes the descriptor, so nothing leaks.

use crate::runtime::{check_current, with_current, Abandon, Core, Slot, Waiter};
/// Every op of the core (`Read`, `Write`, `Recv`, `Timeout`...) and the [`OpCode`] trait, to
/// build ops for [`submit`].
pub use boros::op::*;
use boros::OpKey;
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
pub(crate) async fn run<T: OpCode>(op: T, on_abandon: Abandon, what: &str) -> Completed<T> {
    match Op::submit_named(op, on_abandon, what) {
        Ok(op) => op.await,
        Err(e) => panic!("boros-rt: {what}: cannot queue an op: {e}"),
    }
}

/// As [`run`], for an op whose result is only success or `-errno`.
pub(crate) async fn run_unit<T: OpCode>(op: T, what: &str) -> io::Result<()> {
    Op::submit_named(op, Abandon::Nothing, what)?
        .await
        .result()
        .map(drop)
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
    on_abandon: Abandon,
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
    Op::submit(op, Abandon::Nothing)
}

/// As [`submit`], for an op whose result is a new plain descriptor (an `OpenAt` into the
/// process's file table, an accept, a socket): if the future is dropped before it returns
/// the descriptor, the runtime closes the descriptor when the op's CQE brings it. (With plain
/// [`submit`], a dropped open leaks its descriptor. Do not use this for direct opens, whose
/// result is 0, not a descriptor.)
///
/// # Errors
/// As [`submit`].
pub fn submit_fd<T: OpCode>(op: T) -> io::Result<Op<T>> {
    Op::submit(op, Abandon::CloseFd)
}

impl<T: OpCode> Op<T> {
    pub(crate) fn submit(op: T, on_abandon: Abandon) -> io::Result<Self> {
        Self::submit_named(op, on_abandon, "op::submit")
    }

    /// As `submit`; `what` (say `fs::File::read_at`) names the user's call in the panic
    /// outside a runtime.
    pub(crate) fn submit_named(op: T, on_abandon: Abandon, what: &str) -> io::Result<Self> {
        with_current(what, |core| {
            let (token, key) = core.push(op)?;
            Ok(Op {
                core: core.clone(),
                token,
                key,
                on_abandon,
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
                let any: Box<dyn std::any::Any> = op;
                let op = any
                    .downcast::<T>()
                    .unwrap_or_else(|_| unreachable!("the slot holds the op this future pushed"));
                Poll::Ready(Completed { result, flags, op })
            }
            Slot::Abandoned(_) | Slot::Stream { .. } => {
                unreachable!(
                    "only a dropped future abandons its op; a single-shot op has no stream"
                )
            }
        }
    }
}

impl<T: OpCode> Drop for Op<T> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut ops = self.core.ops.borrow_mut();
        match ops.get_mut(self.token) {
            Some(slot @ Slot::Waiting(_)) => {
                // In flight: the driver keeps the op (and its buffers) until the final CQE;
                // the loop then drops it and runs `on_abandon`.
                *slot = Slot::Abandoned(self.on_abandon);
                drop(ops);
                let _ = self.core.driver.borrow_mut().cancel(self.key);
            }
            Some(Slot::Done { .. }) => {
                // Completed but never polled: the kernel is done with it.
                let removed = ops.remove(self.token);
                drop(ops);
                if let Some(Slot::Done { result, .. }) = removed {
                    self.core.run_abandon(self.on_abandon, result);
                }
            }
            _ => {}
        }
    }
}

/// A multishot op: one SQE, a stream of CQEs. `next` gives each CQE's `(result, flags)`, then
/// `None` after the final one. Dropping it cancels the op; CQEs that arrive afterwards (and
/// those queued but not taken) get the `on_abandon` action, so a dropped accept stream closes
/// the descriptors it would have handed out.
pub(crate) struct Multi {
    core: Rc<Core>,
    token: u64,
    key: OpKey,
    on_abandon: Abandon,
}

impl Multi {
    pub(crate) fn submit_named<T: OpCode>(
        op: T,
        on_abandon: Abandon,
        what: &str,
    ) -> io::Result<Self> {
        with_current(what, |core| {
            let (token, key) = core.push_as(
                op,
                Slot::Stream {
                    items: Default::default(),
                    waker: Waiter::Nobody,
                    ended: false,
                },
            )?;
            Ok(Multi {
                core: core.clone(),
                token,
                key,
                on_abandon,
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
        let Some(Slot::Stream {
            items,
            waker,
            ended,
        }) = ops.get_mut(self.token)
        else {
            return Poll::Ready(None);
        };
        if let Some(item) = items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if *ended {
            ops.remove(self.token);
            return Poll::Ready(None);
        }
        Core::set_waiter(waker, task, cx.waker());
        Poll::Pending
    }
}

impl Drop for Multi {
    fn drop(&mut self) {
        let mut ops = self.core.ops.borrow_mut();
        let Some(slot) = ops.get_mut(self.token) else {
            return;
        };
        let Slot::Stream { items, ended, .. } = slot else {
            return;
        };
        let queued: Vec<(i32, u32)> = items.drain(..).collect();
        let ended = *ended;
        if ended {
            ops.remove(self.token);
        } else {
            *slot = Slot::Abandoned(self.on_abandon);
        }
        drop(ops);
        for (result, _) in queued {
            self.core.run_abandon(self.on_abandon, result);
        }
        if !ended {
            let _ = self.core.driver.borrow_mut().cancel(self.key);
        }
    }
}
