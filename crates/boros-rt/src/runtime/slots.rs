//! How this runtime hosts the core's op lifecycle: each op future's [`Slot`], and the ops
//! that finish themselves into them ([`Hosted`], through [`Reaper`]).

use super::Core;
use boros::multishot;
use boros::op::{self, OpCode};
use boros::slab::Slab;
use boros::{Complete, Cqe};
use std::task::Waker;

/// Who waits for an op's completion.
pub(crate) enum Waiter {
    /// Not polled yet.
    Nobody,
    /// The task (or `MAIN_TASK`) of this runtime that polled the op with its own waker: the
    /// completion schedules it directly (no waker clone, no atomic reference count, no
    /// thread-local look-up).
    Task(u64),
    /// Any other waker (a combinator's, a foreign executor's).
    Other(Waker),
}

/// The state of one op the runtime pushed and a future awaits, keyed by the op's token. An
/// op whose future was dropped has no slot: the driver owns it to its final CQE
/// ([`Driver::abandon`](boros::Driver::abandon)) and releases what it brings back.
pub(crate) enum Slot {
    /// In flight; who awaits it.
    Waiting(Waiter),
    /// The final CQE arrived; the op is back, with its buffers.
    Done {
        result: i32,
        flags: u32,
        op: Box<dyn RtOp>,
    },
    /// A multishot op: its CQEs queue up for the stream awaiting them (the core's
    /// [`multishot::Queue`], which holds the op once its final CQE is in).
    Stream {
        queue: multishot::Queue<dyn RtOp>,
        waker: Waiter,
    },
}

/// An op as this runtime hosts it: it finishes itself ([`Complete`]) into the reap's
/// [`Reaper`], storing its result in its future's [`Slot`] and waking the future's task.
pub(crate) trait RtOp: for<'a> Complete<Reaper<'a>> {}

impl<T: ?Sized + for<'a> Complete<Reaper<'a>>> RtOp for T {}

/// What an op finishes into during a reap: the op slots, the wakers to call afterwards.
pub(crate) struct Reaper<'a> {
    pub(super) core: &'a Core,
    pub(super) ops: &'a mut Slab<Slot>,
    pub(super) wakers: &'a mut Vec<Waker>,
    /// Ops handed back that nobody awaits (a stale token): dropped after the reap.
    pub(super) graveyard: &'a mut Vec<Box<dyn RtOp>>,
    pub(super) delivered: u64,
}

impl Reaper<'_> {
    fn wake(&mut self, w: Waiter) {
        match w {
            Waiter::Nobody => {}
            Waiter::Task(id) => self.core.schedule(id),
            Waiter::Other(w) => self.wakers.push(w),
        }
    }
}

/// A core op as a future's op: the op itself (`repr(transparent)`, so the future gets the
/// box back as `Box<T>`), finishing into its slot.
#[repr(transparent)]
pub(crate) struct Hosted<T>(pub(crate) T);

// SAFETY: delegates to `T`, whose memory this wrapper owns (it is `T`).
unsafe impl<T: OpCode> OpCode for Hosted<T> {
    fn entry(&mut self) -> boros::io_uring::squeue::Entry {
        self.0.entry()
    }
    fn buf_group(&self) -> Option<u16> {
        self.0.buf_group()
    }
    fn file_slot(&self) -> Option<op::SlotUse> {
        self.0.file_slot()
    }
    fn leftover(&self, result: i32) -> op::Leftover {
        self.0.leftover(result)
    }
}

impl<T: OpCode> Complete<Reaper<'_>> for Hosted<T> {
    fn update(&mut self, cqe: &Cqe, r: &mut Reaper<'_>) {
        r.delivered += 1;
        if let Some(Slot::Stream { queue, waker }) = r.ops.get_mut(cqe.token) {
            queue.update(cqe);
            let w = std::mem::replace(waker, Waiter::Nobody);
            r.wake(w);
        }
    }

    fn complete(self: Box<Self>, cqe: &Cqe, r: &mut Reaper<'_>) {
        r.delivered += 1;
        let (result, flags) = (cqe.result, cqe.flags);
        match r.ops.get_mut(cqe.token) {
            Some(slot @ Slot::Waiting(_)) => {
                let done = Slot::Done {
                    result,
                    flags,
                    op: self,
                };
                if let Slot::Waiting(w) = std::mem::replace(slot, done) {
                    r.wake(w);
                }
            }
            Some(Slot::Stream { queue, waker }) => {
                queue.complete(cqe, self);
                let w = std::mem::replace(waker, Waiter::Nobody);
                r.wake(w);
            }
            _ => r.graveyard.push(self),
        }
    }
}

impl<T> Hosted<T> {
    /// The op back from a box of the runtime's ops, as the type its future pushed.
    pub(crate) fn unwrap_box(op: Box<dyn RtOp>) -> Option<Box<T>>
    where
        T: OpCode,
    {
        let any: Box<dyn std::any::Any> = op;
        let hosted = any.downcast::<Hosted<T>>().ok()?;
        // SAFETY: `Hosted<T>` is `repr(transparent)` over `T`: same layout and alignment, so
        // the allocation is a valid `Box<T>`.
        Some(unsafe { Box::from_raw(Box::into_raw(hosted).cast::<T>()) })
    }
}

/// The read kept in flight on the wake-up eventfd: its completion re-arms it on the next wait.
pub(super) struct WakeRead(pub(super) op::Read<Box<[u8]>>);

// SAFETY: delegates to `op::Read`, which owns its buffer.
unsafe impl OpCode for WakeRead {
    fn entry(&mut self) -> boros::io_uring::squeue::Entry {
        self.0.entry()
    }
}

impl Complete<Reaper<'_>> for WakeRead {
    fn complete(self: Box<Self>, _: &Cqe, r: &mut Reaper<'_>) {
        r.core.wake_armed.set(false);
        r.graveyard.push(self);
    }
}
